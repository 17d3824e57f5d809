"""MMCV policies as schedulers in whole runs: 0.x configs evaluate, migrate, resume and preview."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
import torch

from segwright.cli.main import main
from segwright.config import Config
from segwright.config.dump import to_python
from segwright.engine.optim.schedulers import (
    MMCVCyclicLR,
    MMCVCyclicMomentum,
    MMCVPolyLR,
    MMCVStepLR,
    build_param_schedulers,
)
from segwright.engine.runner import Runner
from segwright.utils.errors import ConfigError

TOY = dict(type="ToySegDataset", num_samples=8, size=(16, 16))
EVAL_SET = dict(type="ToySegDataset", num_samples=4, size=(16, 16), seed=1)


def legacy_cfg(work_dir: Path, max_iters: int = 4, **over) -> dict:
    cfg = dict(
        model=dict(type="ToySegModel", channels=4, num_classes=2),
        data=dict(samples_per_gpu=2, workers_per_gpu=0, train=TOY, val=EVAL_SET, test=EVAL_SET),
        optimizer=dict(type="SGD", lr=0.1, momentum=0.9),
        optimizer_config=dict(),
        lr_config=dict(
            policy="poly", power=0.9, min_lr=1e-4, by_epoch=False, warmup="linear", warmup_iters=2
        ),
        momentum_config=dict(policy="cyclic"),
        runner=dict(type="IterBasedRunner", max_iters=max_iters),
        checkpoint_config=dict(by_epoch=False, interval=max_iters),
        evaluation=dict(interval=max_iters, metric="mIoU"),
        log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook", by_epoch=False)]),
        seed=0,
        work_dir=str(work_dir),
        device="cpu",
    )
    cfg.update(copy.deepcopy(over))
    return cfg


def sgd_wrapper(lr: float = 0.1):
    from segwright.engine.optim.constructor import build_optim_wrapper

    model = torch.nn.Linear(2, 2)
    return build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=lr, momentum=0.9)))


def test_val_and_test_of_a_0x_config_with_lr_config_need_no_optimizer(tmp_path):
    runner = Runner.from_cfg(Config(legacy_cfg(tmp_path / "run")))
    assert set(runner.val()) == {"aAcc", "mIoU", "mAcc"}
    assert set(runner.test()) == {"aAcc", "mIoU", "mAcc"}
    runner.close()


def test_segwright_test_on_a_0x_config(tmp_path):
    path = tmp_path / "old.py"
    path.write_text(to_python(legacy_cfg(tmp_path / "run", max_iters=2)))
    runner = Runner.from_cfg(Config.fromfile(path))
    runner.train()
    runner.close()
    checkpoint = tmp_path / "run" / "iter_2.pth"
    assert checkpoint.is_file()
    assert main(["test", str(path), str(checkpoint), "--work-dir", str(tmp_path / "t")]) == 0


def test_migrate_config_writes_param_scheduler_entries(tmp_path):
    old, new = tmp_path / "old.py", tmp_path / "new.py"
    old.write_text(to_python(legacy_cfg(tmp_path / "run")))
    assert main(["migrate-config", str(old), "-o", str(new)]) == 0
    migrated = Config.fromfile(new)
    assert [s["type"] for s in migrated.param_scheduler] == ["MMCVPolyLR", "MMCVCyclicMomentum"]
    hooks = [h["type"] for h in migrated.get("custom_hooks") or []]
    assert not any(h.endswith("UpdaterHook") for h in hooks)
    assert "UpdaterHook" not in new.read_text()


def test_plot_lr_previews_a_0x_config(tmp_path):
    path = tmp_path / "old.py"
    path.write_text(to_python(legacy_cfg(tmp_path / "run", max_iters=10)))
    values = tmp_path / "v.json"
    assert main(["plot-lr", str(path), "--json", str(values)]) == 0
    data = json.loads(values.read_text())
    lr = data["lr"][0]
    assert len(lr) == 10
    regular = [(0.1 - 1e-4) * (1 - i / 10) ** 0.9 + 1e-4 for i in range(10)]
    expected = [r * (1 - (1 - i / 2) * 0.9) if i < 2 else r for i, r in enumerate(regular)]
    assert lr == pytest.approx(expected, rel=1e-12)
    assert data["momentum"][0][0] == pytest.approx(0.9) and min(data["momentum"][0]) < 0.9


def test_resume_mid_schedule_gives_the_uninterrupted_values():
    def build(wrapper):
        return build_param_schedulers(
            [
                dict(type="MMCVCyclicLR", target_ratio=(10, 1e-4), warmup="exp", warmup_iters=3),
                dict(type="MMCVCyclicMomentum"),
            ],
            wrapper,
            epoch_length=5,
            max_epochs=1,
            max_iters=12,
        )

    def values(wrapper):
        group = wrapper.optimizer.param_groups[0]
        return group["lr"], group["momentum"]

    wrapper = sgd_wrapper()
    schedulers = build(wrapper)
    straight = []
    for _ in range(12):
        straight.append(values(wrapper))
        for s in schedulers:
            s.step()

    wrapper = sgd_wrapper()
    schedulers = build(wrapper)
    resumed = []
    for _ in range(5):
        resumed.append(values(wrapper))
        for s in schedulers:
            s.step()
    buffer = io.BytesIO()
    torch.save(
        dict(opt=wrapper.optimizer.state_dict(), sched=[s.state_dict() for s in schedulers]),
        buffer,
    )
    buffer.seek(0)
    state = torch.load(buffer, weights_only=False)
    wrapper = sgd_wrapper(lr=0.5)  # a fresh run: built, then restored as Runner.resume does
    schedulers = build(wrapper)
    wrapper.optimizer.load_state_dict(state["opt"])
    for scheduler, scheduler_state in zip(schedulers, state["sched"]):
        scheduler.load_state_dict(scheduler_state)
    for _ in range(7):
        resumed.append(values(wrapper))
        for s in schedulers:
            s.step()
    assert resumed[5:] == straight[5:]


def test_progress_epoch_and_frozen():
    wrapper = sgd_wrapper()
    scheduler = MMCVStepLR(
        wrapper, step=[1], gamma=0.1, progress="epoch", epoch_length=3, max_epochs=2, max_iters=6
    )
    seen = []
    for _ in range(6):
        seen.append(wrapper.optimizer.param_groups[0]["lr"])
        scheduler.step()
    assert seen == [0.1] * 3 + [pytest.approx(0.01)] * 3

    wrapper = sgd_wrapper()
    frozen = MMCVPolyLR(wrapper, progress="frozen", warmup="linear", warmup_iters=2, max_iters=4)
    for _ in range(3):
        assert wrapper.optimizer.param_groups[0]["lr"] == 0.1  # MMCV never touched it
        frozen.step()


def test_argument_errors_name_the_key():
    wrapper = sgd_wrapper()
    with pytest.raises(ConfigError, match="by_epoch.*stepped after every iteration"):
        MMCVPolyLR(wrapper, by_epoch=True, max_iters=4)
    with pytest.raises(ConfigError, match="epoch_length.*progress='epoch'"):
        MMCVPolyLR(wrapper, progress="epoch", max_epochs=2)
    with pytest.raises(ConfigError, match="progress.*by_epoch must be False"):
        MMCVCyclicLR(wrapper, progress="epoch", max_iters=4, epoch_length=2)
    with pytest.raises(ConfigError, match="max_iters"):
        MMCVCyclicMomentum(wrapper)
    with pytest.raises(ConfigError, match=r"param_scheduler\[0\].power"):
        build_param_schedulers(
            [dict(type="MMCVPolyLR", power="fast")], wrapper, max_iters=4, max_epochs=1
        )
