"""The toy config as a file (for the CLI) and as a dict builder (for tests)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

TOY_CONFIG_PATH = Path(__file__).with_name("configs") / "toy_iter.py"


def toy_config(
    work_dir: str | Path, max_iters: int = 4, val_interval: int = 2, **overrides: Any
) -> dict:
    """A complete MMSeg-1.x-style config dict for the toy model and data (iteration-based)."""
    cfg: dict[str, Any] = dict(
        model=dict(type="ToySegModel", channels=4, num_classes=2),
        train_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="InfiniteSampler", shuffle=True),
            dataset=dict(type="ToySegDataset", num_samples=8, size=(16, 16)),
        ),
        val_dataloader=dict(
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            dataset=dict(type="ToySegDataset", num_samples=4, size=(16, 16), seed=1),
        ),
        val_evaluator=dict(type="IoUMetric", iou_metrics=["mIoU"]),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval),
        val_cfg=dict(type="ValLoop"),
        optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        param_scheduler=[
            dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)
        ],
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=1, log_metric_by_epoch=False),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=val_interval),
        ),
        randomness=dict(seed=0),
        work_dir=str(work_dir),
        device="cpu",
    )
    for key, value in overrides.items():
        cfg[key] = copy.deepcopy(value)
    return cfg
