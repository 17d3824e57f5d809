"""Evaluation speed: metric accumulation as a share of inference, and sliding-window inference.

Two parts; ``--part all`` (the default) runs ``slide`` first and ``metric`` last, so the last
line printed is the headline: the metric share, the part with a stated goal.

``metric``: a share measured inside one run, not a comparison with another program. A fake
ADE20K-style tree (``--images`` JPEG images and PNG label maps of ``--size``) goes through
``Runner.test()`` as configured (TestLoop: dataloader -> ``model.test_step`` ->
``evaluator.process`` per batch -> ``evaluator.evaluate`` once). A hook wraps ``test_step``
and the evaluator's ``process`` and ``evaluate`` with timers, so each round splits into
inference, metric (``process`` + ``evaluate``) and the rest (data loading, hooks). The round's
ratio is metric / inference; the goal is at most 0.05. ``evaluate`` is a fixed cost per
evaluation, so with few ``--images`` it weighs more than over a real validation set (ADE20K
has 2000 images); the per-batch share (``process`` alone) is printed too. The test
pipeline's ``Resize`` is
pinned to the image size so that ``--size`` is the size inference runs at (ADE20K's own
``scale=(2048, 512)`` leaves the default 512x512 unchanged).

``slide``: images/s of ``test_cfg=dict(mode='slide')`` inference through ``model.test_step``
(preprocessing, slide inference, post-processing to ``pred_sem_seg``) against a minimal
hand-written version on the same model: normalise, cut the same windows, run the model's
``mode='tensor'`` forward on each, resize the window's logits bilinearly to the window,
add them into a sum and a count map, divide, argmax (through ``max()``, as segwright does).
The two sides must give the same logits (max abs diff printed) and predictions; they are
timed interleaved. The default is Cityscapes' setting with each side divided by four (image
256x512, crop 128x256, stride 85x171, 3x3 windows, 19 classes). The minimal side takes mean,
std and the BGR->RGB swap from the config's ``data_preprocessor``.

Models: the shipped PSPNet configs (``--config`` ADE20K 512x512 for ``metric``,
``--slide-config`` Cityscapes for ``slide``) with a ResNet-18 backbone and MMSeg's
pspnet_r18-d8 head widths, so that the defaults finish in a few minutes on two CPU cores.
``--full`` keeps the configs as they are (PSPNet ResNet-50): inference is several times
slower, so the metric share is smaller than with the default (the default overstates it).
``--cfg-options`` apply to both configs. Weights are random; the timing does not depend on
them.

Usage::

    python benchmarks/eval.py [--part {all,metric,slide}] [--repeats 3] [--images 4]
        [--size 512 512] [--slide-size 256 512] [--crop 128 256] [--stride 85 171]
        [--full] [--config CFG] [--slide-config CFG] [--cfg-options K=V ...] [--quick]

``--quick`` is a smoke run with tiny sizes (numbers meaningless). Each ratio line reads
``ratio (A / B): median X (min Y, max Z) over N paired runs``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from common import ROOT, machine_line, ratio_line, summary, sync, write_fake_tree

from segwright.config import Config
from segwright.engine.hooks.hook import Hook
from segwright.engine.runner import Runner
from segwright.registry import MODELS
from segwright.structures import SegDataSample

CONFIGS = ROOT / "segwright" / "configs" / "pspnet"
METRIC_CONFIG = CONFIGS / "pspnet_r50-d8_4xb4-80k_ade20k-512x512.py"
SLIDE_CONFIG = CONFIGS / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
GOAL = 0.05

# MMSeg's pspnet_r18-d8: BasicBlock stages end with 512 (stage 4) and 256 (stage 3) channels.
R18 = {
    "model.backbone.depth": 18,
    "model.decode_head.in_channels": 512,
    "model.decode_head.channels": 128,
    "model.auxiliary_head.in_channels": 256,
    "model.auxiliary_head.channels": 64,
}


def load_config(path: Path, full: bool, options: Sequence[str]) -> Config:
    cfg = Config.fromfile(path)
    backbone = str(cfg["model"]["backbone"].get("type", ""))
    if not full and backbone.startswith("ResNet") and "auxiliary_head" in cfg["model"]:
        cfg.merge_from_dict(R18)
    if options:
        cfg.merge_from_options(list(options))
    return cfg


def describe(cfg: Config) -> str:
    model = cfg["model"]
    depth = model["backbone"].get("depth")
    head = model["decode_head"]
    return (
        f"{model['type']}: {model['backbone']['type']}"
        f"{depth if depth is not None else ''} + {head['type']}, {head['num_classes']} classes"
    )


# -- part A: metric share ------------------------------------------------------------------


class _Timed:
    """A callable that adds its own wall time to ``seconds``."""

    def __init__(self, fn: Callable[..., Any], device: torch.device) -> None:
        self.fn = fn
        self.device = device
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        sync(self.device)
        start = time.perf_counter()
        result = self.fn(*args, **kwargs)
        sync(self.device)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return result


class SplitTimerHook(Hook):
    """Wraps the test step and the evaluator's process/evaluate with timers for one test run."""

    priority = "VERY_LOW"

    def __init__(self) -> None:
        self.step: _Timed | None = None
        self.process: _Timed | None = None
        self.evaluate: _Timed | None = None

    def before_test(self, runner: Any) -> None:
        device = runner.device
        self.step = _Timed(runner.model.test_step, device)
        runner.model.test_step = self.step
        evaluator = runner.test_loop.evaluator
        self.process = _Timed(evaluator.process, device)
        self.evaluate = _Timed(evaluator.evaluate, device)
        evaluator.process = self.process
        evaluator.evaluate = self.evaluate

    def after_test(self, runner: Any) -> None:
        del runner.model.test_step  # back to the class's method


def pin_resize(pipeline: list[Any], size: tuple[int, int]) -> list[Any]:
    """The pipeline with each ``Resize(scale=...)`` set to keep a ``size`` image as it is."""
    pinned = []
    for step in pipeline:
        step = dict(step)
        if step.get("type") == "Resize" and "scale" in step:
            step["scale"] = (size[1], size[0])  # (w, h): factor 1 with or without keep_ratio
        pinned.append(step)
    return pinned


def run_metric(args: argparse.Namespace, tmp: Path) -> None:
    cfg = load_config(args.config, args.full, args.cfg_options)
    size = tuple(args.size)
    num_classes = int(cfg["model"]["decode_head"]["num_classes"])
    data = tmp / "metric_data"
    # Labels 0..C-1: all valid without reduce_zero_label; with it, 0 is ignored and the rest fit.
    write_fake_tree(data, args.images, size, num_classes - 1)
    cfg.merge_from_dict(
        {
            "work_dir": str(tmp / "metric_work"),
            "log_level": "WARNING",
            "device": args.device,
            "test_dataloader.num_workers": 0,
            "test_dataloader.persistent_workers": False,
            "test_dataloader.dataset.data_root": str(data),
            "test_dataloader.dataset.data_prefix": dict(
                img_path="images/validation", seg_map_path="annotations/validation"
            ),
            "test_dataloader.dataset.img_suffix": ".jpg",
            "test_dataloader.dataset.seg_map_suffix": ".png",
            "test_dataloader.dataset.pipeline": pin_resize(
                list(cfg["test_dataloader"]["dataset"]["pipeline"]), size
            ),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # loss-config notes irrelevant to testing
        runner = Runner.from_cfg(cfg)
    timer = SplitTimerHook()
    runner.register_hook(timer)
    batch = int(cfg["test_dataloader"].get("batch_size", 1))
    print(
        f"[metric] {describe(cfg)}; {args.images} fake images {size[0]}x{size[1]}, "
        f"batch {batch}, evaluator {cfg['test_evaluator']}, device {runner.device}"
    )

    inference, process, evaluate, other, metric = [], [], [], [], []
    for round_index in range(args.warmup + args.repeats):
        start = time.perf_counter()
        runner.test()
        total = time.perf_counter() - start
        if round_index < args.warmup:
            continue
        inference.append(timer.step.seconds)
        process.append(timer.process.seconds)
        evaluate.append(timer.evaluate.seconds)
        metric.append(timer.process.seconds + timer.evaluate.seconds)
        other.append(total - timer.step.seconds - metric[-1])
    runner.close()
    print(f"[metric] {args.warmup} warm-up round(s), {args.repeats} timed; each round is one test")
    n = args.images
    print(summary("inference", [s / n for s in inference], "ms/img"))
    print(summary("process", [s / n for s in process], "ms/img"))
    print(summary("evaluate", evaluate, "ms"))
    print(summary("data+rest", [s / n for s in other], "ms/img"))
    per_batch = statistics.median(p / i for p, i in zip(process, inference))
    print(
        f"[metric] per-batch accumulation alone (process / inference): {per_batch:.4f}; "
        f"evaluate is a fixed cost per evaluation, here spread over {n} images"
    )
    shares = [m / i for m, i in zip(metric, inference)]
    median = statistics.median(shares)
    verdict = "met" if median <= GOAL else "NOT met"
    print(f"goal: metric / inference <= {GOAL:.2f}; median {median:.4f}: {verdict}")
    print(ratio_line("metric / inference", metric, inference))


# -- part B: slide inference ---------------------------------------------------------------


def window_starts(length: int, crop: int, stride: int) -> list[int]:
    """Window offsets every ``stride``, plus one ending at the border; one window if short."""
    starts = list(range(0, max(length - crop, 0) + 1, stride))
    if starts[-1] + crop < length:
        starts.append(length - crop)
    return starts


def minimal_slide(
    model: torch.nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    crop: tuple[int, int],
    stride: tuple[int, int],
    num_classes: int,
    align_corners: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and predictions by hand: ``images`` are ``(N, 3, H, W)`` uint8 BGR."""
    x = (images[:, [2, 1, 0]].float() - mean) / std
    n, _, height, width = x.shape
    total = x.new_zeros((n, num_classes, height, width))
    count = x.new_zeros((1, 1, height, width))
    for top in window_starts(height, crop[0], stride[0]):
        for left in window_starts(width, crop[1], stride[1]):
            window = x[:, :, top : top + crop[0], left : left + crop[1]]
            logits = model(window, mode="tensor")
            logits = F.interpolate(
                logits, size=window.shape[2:], mode="bilinear", align_corners=align_corners
            )
            total[:, :, top : top + crop[0], left : left + crop[1]] += logits
            count[:, :, top : top + crop[0], left : left + crop[1]] += 1
    logits = total / count
    return logits, logits.max(1).indices  # as segwright: argmax is slower on CPU, same result


def fake_images(count: int, size: tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Smooth photo-like uint8 images ``(count, 3, H, W)`` (bilinearly enlarged noise)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(
        (count, 3, max(size[0] // 16, 1), max(size[1] // 16, 1)), generator=generator
    )
    smooth = F.interpolate(coarse * 255, size=size, mode="bilinear", align_corners=False)
    return smooth.round().clamp(0, 255).to(torch.uint8)


def run_slide(args: argparse.Namespace) -> None:
    crop, stride, size = tuple(args.crop), tuple(args.stride), tuple(args.slide_size)
    cfg = load_config(args.slide_config, args.full, args.cfg_options)
    cfg.merge_from_dict({"model.test_cfg": dict(mode="slide", crop_size=crop, stride=stride)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = MODELS.build(dict(cfg["model"]))
    device = torch.device(args.device)
    model = model.to(device).eval()
    pre = cfg["model"]["data_preprocessor"]
    mean = torch.tensor(pre["mean"], device=device).view(1, 3, 1, 1)
    std = torch.tensor(pre["std"], device=device).view(1, 3, 1, 1)
    if not pre.get("bgr_to_rgb", False):
        raise SystemExit("the minimal side assumes data_preprocessor.bgr_to_rgb=True")
    head = cfg["model"]["decode_head"]
    num_classes, align_corners = int(head["num_classes"]), bool(head.get("align_corners", False))
    images = fake_images(args.slide_images, size).to(device)
    rows = len(window_starts(size[0], crop[0], stride[0]))
    cols = len(window_starts(size[1], crop[1], stride[1]))
    print(
        f"[slide] {describe(cfg)}; {args.slide_images} image(s) {size[0]}x{size[1]} one at a "
        f"time, crop {crop[0]}x{crop[1]}, stride {stride[0]}x{stride[1]} ({rows}x{cols} "
        f"windows), device {device}"
    )

    def samples() -> list[SegDataSample]:
        meta = dict(ori_shape=size, img_shape=size)
        return [SegDataSample(metainfo=dict(meta)) for _ in range(args.slide_images)]

    def ours(batch_samples: list[SegDataSample]) -> list[Any]:
        outputs = []
        for image, sample in zip(images, batch_samples):
            outputs += model.test_step(dict(inputs=[image], data_samples=[sample]))
        return outputs

    def mine() -> list[tuple[torch.Tensor, torch.Tensor]]:
        return [
            minimal_slide(model, image[None], mean, std, crop, stride, num_classes, align_corners)
            for image in images
        ]

    ours_times, mine_times = [], []
    with torch.no_grad():
        for round_index in range(args.warmup + args.repeats):
            order = ("ours", "mine") if round_index % 2 == 0 else ("mine", "ours")
            for side in order:
                fresh = samples()
                sync(device)
                start = time.perf_counter()
                result = ours(fresh) if side == "ours" else mine()
                sync(device)
                elapsed = time.perf_counter() - start
                if side == "ours":
                    ours_out, ours_s = result, elapsed
                else:
                    mine_out, mine_s = result, elapsed
            if round_index == 0:
                diff = max(
                    (o.seg_logits.data - m_logits[0]).abs().max().item()
                    for o, (m_logits, _) in zip(ours_out, mine_out)
                )
                same = sum(
                    int((o.pred_sem_seg.data[0] == m_pred[0]).sum())
                    for o, (_, m_pred) in zip(ours_out, mine_out)
                )
                pixels = args.slide_images * size[0] * size[1]
                print(
                    f"[slide] same output: logits max abs diff {diff:.2e}, predictions equal "
                    f"at {same}/{pixels} pixels"
                )
            if round_index >= args.warmup:
                ours_times.append(ours_s)
                mine_times.append(mine_s)
    print(f"[slide] {args.warmup} warm-up round(s), {args.repeats} timed, interleaved")
    n = args.slide_images
    print(summary("segwright", [t / n for t in ours_times], "s/img", scale=1))
    print(summary("minimal", [t / n for t in mine_times], "s/img", scale=1))
    ours_rate = n / statistics.median(ours_times)
    mine_rate = n / statistics.median(mine_times)
    print(f"[slide] images/s (median): segwright {ours_rate:.3f}, minimal {mine_rate:.3f}")
    print(ratio_line("segwright slide time / minimal slide time", ours_times, mine_times))


# -- command line --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "metric", "slide"), default="all")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per part")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    parser.add_argument("--config", type=Path, default=METRIC_CONFIG)
    parser.add_argument("--images", type=int, default=4, help="fake test images (metric)")
    parser.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
    parser.add_argument("--slide-config", type=Path, default=SLIDE_CONFIG)
    parser.add_argument("--slide-images", type=int, default=1)
    parser.add_argument("--slide-size", type=int, nargs=2, default=(256, 512), metavar=("H", "W"))
    parser.add_argument("--crop", type=int, nargs=2, default=(128, 256), metavar=("H", "W"))
    parser.add_argument("--stride", type=int, nargs=2, default=(85, 171), metavar=("H", "W"))
    parser.add_argument("--full", action="store_true", help="configs as shipped (ResNet-50)")
    parser.add_argument("--cfg-options", nargs="+", default=[], metavar="K=V")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup, args.images, args.slide_images = 1, 0, 1, 1
        args.size, args.slide_size = (64, 64), (64, 128)
        args.crop, args.stride = (32, 64), (32, 43)  # 2x3 windows, overlapping across
    if min(args.repeats, args.images, args.slide_images) < 1 or args.warmup < 0:
        parser.error("--repeats, --images and --slide-images must be >= 1, --warmup >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("all", "slide"):
            run_slide(args)
        if args.part in ("all", "metric"):
            run_metric(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
