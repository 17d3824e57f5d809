"""EMAHook (exact averages, checkpoint swap, resume), EmptyCacheHook and the progress bar."""

from __future__ import annotations

import torch

from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner
from segwright.testing import toy_config


def _ema_cfg(work_dir, **kw):
    return toy_config(
        work_dir,
        max_iters=3,
        val_interval=3,
        custom_hooks=[dict(type="EMAHook", momentum=0.5, **kw)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=3)),
    )


def test_ema_average_is_exact_and_saved_as_state_dict(tmp_path):
    runner = Runner.from_cfg(Config(_ema_cfg(tmp_path)))
    snapshots = []

    class Record(Hook):
        priority = "HIGHEST"

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            snapshots.append(runner.model.decode_head.weight.detach().clone())

    runner.register_hook(Record())
    runner.train()
    runner.close()
    # First update copies, later ones lerp with momentum 0.5.
    expected = snapshots[0]
    for snap in snapshots[1:]:
        expected = 0.5 * expected + 0.5 * snap
    ckpt = torch.load(tmp_path / "iter_3.pth", weights_only=True)
    torch.testing.assert_close(ckpt["state_dict"]["decode_head.weight"], expected)
    torch.testing.assert_close(ckpt["ema_state_dict"]["module.decode_head.weight"], snapshots[-1])
    # After validation the raw weights are back in the model.
    torch.testing.assert_close(runner.model.decode_head.weight, snapshots[-1])


def test_ema_resume_restores_raw_weights_and_average(tmp_path):
    Runner.from_cfg(Config(_ema_cfg(tmp_path))).train()
    resumed = Runner.from_cfg(Config({**_ema_cfg(tmp_path), "resume": True}))
    resumed.train_loop = resumed._build_train_loop()
    resumed._build_optim_and_schedulers()
    resumed.call_hook("before_run")
    resumed._load_or_resume()
    resumed.close()
    ckpt = torch.load(tmp_path / "iter_3.pth", weights_only=True)
    ema_hook = next(h for h in resumed.hooks if type(h).__name__ == "EMAHook")
    torch.testing.assert_close(
        resumed.model.decode_head.weight, ckpt["ema_state_dict"]["module.decode_head.weight"]
    )
    torch.testing.assert_close(
        ema_hook.ema_model.module.decode_head.weight, ckpt["state_dict"]["decode_head.weight"]
    )


def test_empty_cache_and_progress_bar_hooks_run(tmp_path, capsys):
    cfg = toy_config(
        tmp_path,
        max_iters=2,
        val_interval=2,
        custom_hooks=[dict(type="EmptyCacheHook", after_iter=True)],
        default_hooks=dict(progress_bar=dict(type="ProgressBarHook")),
    )
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.close()
    assert runner.iter == 2
    assert "train" in capsys.readouterr().out
