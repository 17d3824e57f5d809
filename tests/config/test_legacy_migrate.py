"""``segwright migrate-config``: the translation as a readable config, notes as comments."""

from __future__ import annotations

from segwright.cli.main import main
from segwright.config import Config
from segwright.config.legacy import translate_legacy_config

OLD = """\
_base_ = ['./base.py']
model = dict(type='ToySegModel', channels=4, num_classes=2)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optimizer_config = dict(type='Fp16OptimizerHook', loss_scale=512.)
lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=80)
checkpoint_config = dict(by_epoch=False, interval=40, meta=dict(note='a long note'))
"""
BASE = """\
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(type='ToySegDataset', num_samples=8, size=(16, 16)))
log_config = dict(interval=10, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
"""


def write(tmp_path):
    (tmp_path / "base.py").write_text(BASE)
    old = tmp_path / "old.py"
    old.write_text(OLD)
    return old


def test_writes_the_translation_with_notes_on_top(tmp_path, capsys):
    old = write(tmp_path)
    new = tmp_path / "new.py"
    assert main(["migrate-config", str(old), "-o", str(new)]) == 0
    assert "Wrote" in capsys.readouterr().out
    text = new.read_text()
    header = text.split("\n\n", 1)[0].splitlines()
    assert header[0].startswith("# Translated from an MMSeg 0.x config")
    assert header[1] == f"#   {old}"
    assert all(line.startswith("#") for line in header)
    assert any("AmpOptimWrapper(loss_scale=512.0)" in line for line in header)
    assert any("checkpoint_config.meta dropped" in line for line in header)
    assert max(len(line) for line in header[2:]) <= 100
    expected, _ = translate_legacy_config(Config.fromfile(old))
    assert Config.fromfile(new).to_dict() == expected
    body = text.split("\n\n", 1)[1]
    assert "_base_" not in body and "optimizer_config" not in body


def test_prints_without_output_and_applies_cfg_options(tmp_path, capsys):
    old = write(tmp_path)
    assert main(["migrate-config", str(old), "--cfg-options", "runner.max_iters=20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Translated from")
    assert "train_cfg = dict(type='IterBasedTrainLoop', max_iters=20)" in out


def test_native_config_and_untranslatable_config_are_user_errors(tmp_path, capsys):
    native = tmp_path / "native.py"
    native.write_text("model = dict(type='ToySegModel')\noptim_wrapper = dict()\n")
    assert main(["migrate-config", str(native)]) == 2
    assert "is not an MMSeg 0.x config" in capsys.readouterr().err
    broken = tmp_path / "broken.py"
    broken.write_text(OLD.replace("_base_ = ['./base.py']\n", "") + "optimizer_config = None\n")
    assert main(["migrate-config", str(broken)]) == 2
    assert "never calls backward" in capsys.readouterr().err
