"""Every door takes an MMSeg 0.x config: the CLI commands, the Python API, init_model.

All of them read the config through ``segwright.config.load_config``, so a 0.x config is
translated once, its notes land in the run's log and ``--explain`` names the user's file.
"""

from __future__ import annotations

import json

import pytest
import torch

from segwright.apis import init_model
from segwright.apis.train import build_runner, train
from segwright.cli.main import main
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
LR_CONFIG = "lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)\n"
#: An lr_config becomes param_scheduler entries, so test/val/plot-lr work on it too.


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # file:line sources are shown relative to the working directory


@pytest.fixture
def trained(tmp_path):
    """A 0.x config (no lr_config) and the checkpoint of its 3-iteration run (via apis.train)."""
    cfg = tmp_path / "old.py"
    cfg.write_text(OLD + f"work_dir = {str(tmp_path / 'w')!r}\n")
    runner = train(str(cfg))
    assert runner.iter == 3
    return cfg, tmp_path / "w" / "iter_3.pth"


def test_apis_train_and_build_runner_accept_a_0x_config(trained, tmp_path):
    cfg, checkpoint = trained
    assert checkpoint.is_file()
    log = next((tmp_path / "w").glob("*/*.log")).read_text()
    assert log.count("MMSeg 0.x config translated:\n  - ") == 1
    runner = build_runner(str(cfg))  # translated on loading; every runner has the pre-flight
    try:
        assert "optimizer" not in runner.cfg
        assert "SegPreflightHook" in [type(h).__name__ for h in runner.hooks]
    finally:
        runner.close()


def test_cli_test_on_a_0x_config(trained, tmp_path, capsys):
    cfg, checkpoint = trained
    argv = ["test", str(cfg), str(checkpoint), "--work-dir", str(tmp_path / "t")]
    assert main([*argv, "--device", "cpu"]) == 0
    assert "mIoU" in capsys.readouterr().out
    log = next((tmp_path / "t").glob("*/*.log")).read_text()
    assert log.count("MMSeg 0.x config translated:\n  - ") == 1


def test_runner_val_on_a_0x_config(trained, tmp_path):
    cfg, checkpoint = trained
    from segwright.config import load_config

    loaded = load_config(cfg, {"load_from": str(checkpoint), "work_dir": str(tmp_path / "v")})
    runner = Runner.from_cfg(loaded)
    try:
        assert "mIoU" in runner.val()
    finally:
        runner.close()


@pytest.mark.parametrize("lr_config", ["", LR_CONFIG])
def test_cli_test_on_the_migrate_config_output(trained, tmp_path, lr_config):
    cfg, checkpoint = trained
    old = tmp_path / "old_lr.py"
    old.write_text(cfg.read_text() + lr_config)
    new = tmp_path / "new.py"
    assert main(["migrate-config", str(old), "-o", str(new)]) == 0
    assert "optim_wrapper" in new.read_text()
    argv = ["test", str(new), str(checkpoint), "--work-dir", str(tmp_path / "t2")]
    assert main([*argv, "--device", "cpu"]) == 0


def test_cli_test_on_a_0x_config_with_lr_config(trained, tmp_path):
    cfg, checkpoint = trained
    old = tmp_path / "old_lr.py"
    old.write_text(cfg.read_text() + LR_CONFIG)
    argv = ["test", str(old), str(checkpoint), "--work-dir", str(tmp_path / "t3")]
    assert main([*argv, "--device", "cpu"]) == 0


def test_plot_lr_on_a_0x_config(tmp_path, capsys):
    cfg = tmp_path / "old.py"
    cfg.write_text(OLD + "lr_config = dict(policy='step', step=[2], gamma=0.1, by_epoch=False)\n")
    out = tmp_path / "lr.json"
    assert main(["plot-lr", str(cfg), "--json", str(out)]) == 0
    values = json.loads(out.read_text())
    assert values["lr"][0] == pytest.approx([0.01, 0.01, 0.001])


def test_print_config_explain_names_the_users_file_and_line_for_translated_keys(tmp_path, capsys):
    cfg = tmp_path / "old.py"
    cfg.write_text(OLD)
    assert main(["print-config", str(cfg), "--explain"]) == 0
    lines = capsys.readouterr().out.splitlines()
    lr = next(line for line in lines if line.startswith("optim_wrapper.optimizer.lr = "))
    assert lr.endswith("# old.py:9 (0.x optimizer.lr)")
    steps = next(line for line in lines if line.startswith("train_cfg.max_iters = "))
    assert steps.endswith("# old.py:11 (0.x runner.max_iters)")
    assert main(["print-config", str(cfg), "--as-written"]) == 0
    assert "optimizer = dict(" in capsys.readouterr().out


def test_init_model_on_a_0x_config_keeps_provenance(trained):
    cfg, checkpoint = trained
    model = init_model(str(cfg), str(checkpoint))
    assert model.cfg.load_report.legacy
    sources = {o.key: o.source for o in model.cfg.explain()}
    assert sources["model.channels"] == "old.py:1"
    assert sources["test_dataloader.dataset.seed"] == "old.py:7 (0.x data.test.seed)"


def test_optimizer_over_a_1x_base_trains_with_its_parameter_groups(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(
        f"_base_ = [{str(TOY_CONFIG_PATH)!r}]\n"
        "optimizer = dict(paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))\n"
        "train_cfg = dict(max_iters=2, val_interval=100)\n"
        f"work_dir = {str(tmp_path / 'w')!r}\n"
    )
    runner = train(str(child))
    groups = runner.optim_wrapper.param_groups
    head = {id(p) for p in runner.model.decode_head.parameters()}
    head_lrs = {g["initial_lr"] for g in groups if any(id(p) in head for p in g["params"])}
    other_lrs = {g["initial_lr"] for g in groups if not any(id(p) in head for p in g["params"])}
    assert len(head_lrs) == len(other_lrs) == 1
    assert head_lrs.pop() == pytest.approx(10 * other_lrs.pop())
    log = next((tmp_path / "w").glob("*/*.log")).read_text()
    assert "optim_wrapper.paramwise_cfg" in log and "child.py:2" in log
    assert torch.isfinite(next(runner.model.parameters())).all()
