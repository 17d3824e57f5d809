"""``load_config``: one way in for every entry point; 0.x translated once, provenance kept."""

from __future__ import annotations

import pytest

from segwright.config import Config, load_config
from segwright.engine.runner import Runner
from segwright.testing import TOY_CONFIG_PATH

OLD = """\
model = dict(type='ToySegModel', channels=4, num_classes=2)
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=0,
    train=dict(type='ToySegDataset', num_samples=8, size=(16, 16)),
    val=dict(type='ToySegDataset', num_samples=4, size=(16, 16), seed=1),
    test=dict(type='ToySegDataset', num_samples=4, size=(16, 16), seed=1),
)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optimizer_config = dict()
runner = dict(type='IterBasedRunner', max_iters=3)
checkpoint_config = dict(by_epoch=False, interval=3)
evaluation = dict(interval=3, metric='mIoU')
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file:line sources are shown relative to the working directory


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_legacy_config_is_translated_with_its_notes(tmp_path):
    cfg = load_config(write(tmp_path, "old.py", OLD), ["optimizer.lr=0.02"])
    assert cfg.load_report.legacy and cfg.load_report.notes
    assert "optimizer" not in cfg and cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.train_dataloader.batch_size == 2


def test_translated_keys_name_the_users_file_and_line(tmp_path):
    cfg = load_config(write(tmp_path, "old.py", OLD), ["optimizer.lr=0.02"])
    sources = {origin.key: origin.source for origin in cfg.explain()}
    assert sources["optim_wrapper.optimizer.momentum"] == "old.py:9 (0.x optimizer.momentum)"
    assert sources["optim_wrapper.optimizer.lr"].startswith("--cfg-options optimizer.lr=0.02")
    assert sources["train_dataloader.batch_size"] == "old.py:3 (0.x data.samples_per_gpu)"
    assert sources["val_dataloader.dataset.seed"] == "old.py:6 (0.x data.val.seed)"
    assert sources["train_cfg.max_iters"] == "old.py:11 (0.x runner.max_iters)"
    assert sources["train_cfg.type"] == "old.py:11 (translated from 0.x runner)"
    assert sources["model.channels"] == "old.py:1"


def test_loading_twice_does_not_translate_twice(tmp_path):
    cfg = load_config(write(tmp_path, "old.py", OLD))
    cfg.optim_wrapper.type = "AmpOptimWrapper"  # a command's flag, after the translation
    assert load_config(cfg) is cfg
    runner = Runner.from_cfg(cfg)
    try:
        assert runner.cfg is cfg
        assert runner.cfg.optim_wrapper.type == "AmpOptimWrapper"
    finally:
        runner.close()


def test_runner_from_cfg_translates_a_raw_legacy_config_and_logs_the_notes(tmp_path):
    raw = Config.fromfile(write(tmp_path, "old.py", OLD))
    raw.work_dir = str(tmp_path / "w")
    runner = Runner.from_cfg(raw)
    try:
        assert "optim_wrapper" in runner.cfg and "optimizer" in raw  # the caller's is untouched
        log = next((tmp_path / "w").glob("*/*.log")).read_text()
        assert "MMSeg 0.x config translated:\n  - " in log
    finally:
        runner.close()


def test_native_config_is_left_as_it_is():
    cfg = load_config(TOY_CONFIG_PATH)
    assert cfg.load_report.legacy is False
    assert not cfg.load_report.applied and not cfg.load_report.ignored
    assert cfg.to_dict() == Config.fromfile(TOY_CONFIG_PATH).to_dict()


# -- part 5: 0.x keys over a 1.x base are applied or reported, never dropped in silence ------


def child_of_toy(tmp_path, body):
    return write(tmp_path, "child.py", f"_base_ = [{str(TOY_CONFIG_PATH)!r}]\n{body}")


def test_optimizer_paramwise_cfg_over_a_1x_base_is_applied_with_a_note(tmp_path):
    path = child_of_toy(
        tmp_path, "optimizer = dict(paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.)}))\n"
    )
    cfg = load_config(path)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 10.0
    (note,) = cfg.load_report.applied
    assert "child.py:2" in note and "optim_wrapper.paramwise_cfg" in note
    sources = {o.key: o.source for o in cfg.explain()}
    assert sources["optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult"].startswith("child.py:2")


def test_optimizer_over_a_1x_base_is_logged_into_the_run_log(tmp_path):
    path = child_of_toy(
        tmp_path,
        "optimizer = dict(paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))\n"
        f"work_dir = {str(tmp_path / 'w')!r}\n",
    )
    runner = Runner.from_cfg(load_config(path))
    try:
        log = next((tmp_path / "w").glob("*/*.log")).read_text()
        assert "MMSeg 0.x keys in a 1.x-style config" in log and "child.py:2" in log
    finally:
        runner.close()


def test_helper_optimizer_of_a_1x_schedule_is_not_reported(tmp_path):
    base = write(
        tmp_path,
        "base.py",
        f"_base_ = [{str(TOY_CONFIG_PATH)!r}]\n"
        "optimizer = dict(type='SGD', lr=0.05, momentum=0.9)\n"
        "optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer)\n",
    )
    assert load_config(base).load_report.applied == []
    # A 1.x child that sets optim_wrapper itself wins over the base's helper.
    child = write(
        tmp_path,
        "child.py",
        "_base_ = ['base.py']\n"
        "optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))\n",
    )
    cfg = load_config(child)
    assert cfg.optim_wrapper.optimizer.to_dict() == dict(type="AdamW", lr=1e-3)
    assert cfg.load_report.applied == []


def test_other_0x_keys_over_a_1x_base_are_reported_with_file_and_line(tmp_path):
    cfg = load_config(child_of_toy(tmp_path, "lr_config = dict(policy='poly')\n"))
    assert cfg.load_report.ignored == {"lr_config": "child.py:2"}
    (_, message) = cfg.load_report.messages()[0]
    assert "these MMSeg 0.x keys have no effect: lr_config (lr_config: child.py:2)" in message


@pytest.mark.parametrize("options", [["optimizer.lr=0.5"], {"optimizer.lr": 0.5}])
def test_cfg_options_apply_before_translation(tmp_path, options):
    cfg = load_config(write(tmp_path, "old.py", OLD), options)
    assert cfg.optim_wrapper.optimizer.lr == 0.5


def test_optimizer_setting_beside_optim_wrapper_but_not_in_it_is_reported(tmp_path):
    path = child_of_toy(
        tmp_path,
        "optimizer = dict(type='SGD', lr=0.05, paramwise_cfg=dict(norm_decay_mult=0.))\n"
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05))\n",
    )
    cfg = load_config(path)
    assert "paramwise_cfg" not in cfg.optim_wrapper
    assert cfg.load_report.ignored == {"optimizer.paramwise_cfg.norm_decay_mult": "child.py:2"}


def test_grad_clip_over_a_1x_base_is_applied_as_clip_grad_with_a_note(tmp_path):
    path = child_of_toy(
        tmp_path, "optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))\n"
    )
    cfg = load_config(path)
    assert cfg.optim_wrapper.clip_grad.to_dict() == dict(max_norm=35, norm_type=2)
    assert all("child.py:2" in note and "optim_wrapper.clip_grad" in note
               for note in cfg.load_report.applied)  # fmt: skip
    assert len(cfg.load_report.applied) == 2 and "optimizer_config" not in cfg.load_report.ignored
    sources = {o.key: o.source for o in cfg.explain()}
    assert sources["optim_wrapper.clip_grad.max_norm"].startswith("child.py:2")


def test_optimizer_config_without_grad_clip_stays_reported(tmp_path):
    cfg = load_config(child_of_toy(tmp_path, "optimizer_config = dict(grad_clip=None)\n"))
    assert cfg.optim_wrapper.get("clip_grad") is None
    assert cfg.load_report.ignored == {"optimizer_config": "child.py:2"}
