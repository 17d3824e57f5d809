"""Mask R-CNN: the Runner's overhead, and the share of a training step in RoIAlign and NMS.

Two parts (``--part``), each printing ratio lines as the other benchmarks do:

``ops``: Mask R-CNN R50-FPN as the shipped ``cityscapes/mask-rcnn_r50_fpn_1x_cityscapes.py``
builds it (8 classes, RPN keeping 2000 boxes per level before NMS, 512 RoIs sampled per image),
trained on one synthetic ``--size`` image (default 512x1024) with ``--objects`` instances (boxes
and masks of 8 to 300 pixels a side). A step is preprocess, forward with losses, backward, SGD
step. While a step runs, every call of ``segwright.ops.roi_align.roi_align`` (the box head's
7x7 and the mask head's 14x14 RoIAlign, and the 28x28 mask targets that
``BitmapMasks.crop_and_resize`` pools with it) and of ``batched_nms`` (the RPN's proposals) is
timed where it runs and its inputs kept. RoIAlign's backward is a chain of autograd nodes that
cannot be timed in place, so after the step each recorded RoIAlign call is replayed on the same
inputs, forward and backward (a gradient of ones). The share is (replayed RoIAlign forward +
backward + NMS as timed in place) / step time, per step; the median over ``--steps`` steps is
the ratio line ``ratio (RoIAlign + NMS / training step, ...)``. Goal: below 0.15. For context
the RPN's NMS is also replayed as it ran and one level at a time (``split_thr=0``, which keeps
the same boxes).

``overhead``: ``benchmarks/overhead.py``'s interleaved method (one hand-written iteration after
each Runner iteration, both timed back to back) on a small Mask R-CNN: segwright.testing's
tiny Mask R-CNN (ResNet-18 at width 8, 16-channel FPN) inside the shipped
``mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py`` (its pipeline, default hooks and optimizer), on
``--overhead-size`` images of segwright.testing's tiny COCO data, batch 2, learning rate 0 on
both sides (a detector's work per iteration follows its weights, so the two must keep equal
ones). The last line of a full run is ``ratio (runner / hand loop, maskrcnn-small, workers
N)``. Goal: at most 1.02.

Usage::

    python benchmarks/det.py [--part {all,ops,overhead}] [--steps 3] [--rounds 3]
        [--iters 40] [--workers 0] [--size 512 1024] [--objects 12] [--threads N] [--quick]

``--threads`` defaults to 1: with two threads on the shared two-core machine (load 7 to 13
from other users), a tiny Mask R-CNN step took 7 to 22 s instead of 0.2 s, the threads waiting
on each other.

``--quick`` is a smoke run with tiny sizes and the tiny model in both parts (numbers
meaningless).
"""

from __future__ import annotations

import argparse
import copy
import importlib
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from common import machine_line, ratio_line, summary  # noqa: I001  (puts the repository on sys.path)
from overhead import print_breakdown, run_breakdown, run_hand_loop, run_interleaved, run_runner

import segwright.models.dense_heads.rpn_head as rpn_head_module
from segwright.config import Config
from segwright.engine.hooks import Hook
from segwright.registry import HOOKS, MODELS, default_scope
from segwright.structures import BitmapMasks, DetDataSample, InstanceData
from segwright.testing.tiny_detector import TINY_COCO_CLASSES, tiny_mask_rcnn_cfg, write_tiny_coco

MMDET_CONFIGS = Path(__file__).resolve().parents[1] / "segwright" / "configs" / "mmdet"
CITYSCAPES = MMDET_CONFIGS / "cityscapes" / "mask-rcnn_r50_fpn_1x_cityscapes.py"
COCO = MMDET_CONFIGS / "mask_rcnn" / "mask-rcnn_r50_fpn_1x_coco.py"
# the module (``segwright.ops`` exports a function of the same name)
roi_align_module = importlib.import_module("segwright.ops.roi_align")


# -- part 1: where a training step goes -----------------------------------------------------


class _OpRecorder:
    """Times ``roi_align`` and ``batched_nms`` where they run and keeps RoIAlign's inputs."""

    def __init__(self) -> None:
        self.roi_calls: list[tuple[str, torch.Tensor, bool, torch.Tensor, tuple, dict]] = []
        self.nms_calls: list[tuple[torch.Tensor, ...]] = []
        self.in_place: dict[str, float] = defaultdict(float)
        self._roi_align = roi_align_module.roi_align
        self._nms = rpn_head_module.batched_nms

    def __enter__(self) -> _OpRecorder:
        def roi_align(input, rois, output_size, *args, **kwargs):
            start = time.perf_counter()
            out = self._roi_align(input, rois, output_size, *args, **kwargs)
            name = f"roi_align {output_size if isinstance(output_size, int) else output_size[0]}"
            self.in_place[name] += time.perf_counter() - start
            call = (name, input.detach(), input.requires_grad, rois, (output_size, *args), kwargs)
            self.roi_calls.append(call)
            return out

        def batched_nms(boxes, scores, idxs, nms_cfg, *args, **kwargs):
            start = time.perf_counter()
            out = self._nms(boxes, scores, idxs, nms_cfg, *args, **kwargs)
            self.in_place["nms (rpn)"] += time.perf_counter() - start
            self.nms_calls.append((boxes, scores, idxs, nms_cfg, out[1]))
            return out

        roi_align_module.roi_align = roi_align
        rpn_head_module.batched_nms = batched_nms
        return self

    def __exit__(self, *exc: Any) -> None:
        roi_align_module.roi_align = self._roi_align
        rpn_head_module.batched_nms = self._nms

    def replay(self) -> dict[str, float]:
        """Each recorded RoIAlign call again, forward and backward when its input had grad."""
        times: dict[str, float] = defaultdict(float)
        for name, feature, needs_grad, rois, args, kwargs in self.roi_calls:
            if needs_grad:
                leaf = feature.clone().requires_grad_(True)
                start = time.perf_counter()
                out = self._roi_align(leaf, rois, *args, **kwargs)
                out.backward(torch.ones_like(out))
            else:  # mask targets: pooled from the ground truth masks, no gradient
                start = time.perf_counter()
                with torch.no_grad():
                    self._roi_align(feature, rois, *args, **kwargs)
            times[name] += time.perf_counter() - start
        return times

    def nms_again(self) -> tuple[float, float, bool]:
        """The RPN's NMS replayed as it ran, then one level at a time (``split_thr=0``):
        both times, and whether the second keeps the same boxes."""
        as_run, per_level, same = 0.0, 0.0, True
        for boxes, scores, idxs, nms_cfg, keep in self.nms_calls:
            start = time.perf_counter()
            self._nms(boxes, scores, idxs, nms_cfg)
            middle = time.perf_counter()
            _, again = self._nms(boxes, scores, idxs, dict(nms_cfg, split_thr=0))
            per_level += time.perf_counter() - middle
            as_run += middle - start
            same &= bool(torch.equal(keep.sort()[0], again.sort()[0]))
        return as_run, per_level, same


def synthetic_batch(size: tuple[int, int], objects: int, batch: int = 1) -> dict[str, Any]:
    """Images of ``size`` with ``objects`` box-and-ellipse instances each (8 classes)."""
    gen = np.random.default_rng(0)
    height, width = size
    inputs, samples = [], []
    for index in range(batch):
        image = gen.integers(0, 80, (height, width, 3), dtype=np.uint8)
        boxes, labels, masks = [], [], []
        yy, xx = np.mgrid[0:height, 0:width]
        for _ in range(objects):
            w = int(gen.integers(8, min(300, width // 2)))
            h = int(gen.integers(8, min(300, height // 2)))
            x1, y1 = int(gen.integers(0, width - w)), int(gen.integers(0, height - h))
            cx, cy = x1 + w / 2, y1 + h / 2
            mask = ((xx - cx) / (w / 2)) ** 2 + ((yy - cy) / (h / 2)) ** 2 <= 1
            label = int(gen.integers(0, 8))
            image[mask] = 100 + 19 * label
            boxes.append([x1, y1, x1 + w, y1 + h])
            labels.append(label)
            masks.append(mask.astype(np.uint8))
        sample = DetDataSample(
            metainfo=dict(
                img_id=index, img_shape=size, ori_shape=size, scale_factor=(1.0, 1.0),
                batch_input_shape=size,
            )
        )  # fmt: skip
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.tensor(labels),
            masks=BitmapMasks(np.stack(masks), height, width),
        )
        inputs.append(torch.from_numpy(image).permute(2, 0, 1).contiguous())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: dict) -> None:
    data = model.data_preprocessor(copy.copy(batch), True)
    losses = model(**data, mode="loss")
    loss = None
    for key, value in losses.items():
        if key.startswith("loss"):
            term = sum(value) if isinstance(value, (list, tuple)) else value
            loss = term if loss is None else loss + term
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def run_ops(args: argparse.Namespace) -> None:
    if args.quick:
        model_cfg = tiny_mask_rcnn_cfg(num_classes=8)
        label = "tiny Mask R-CNN"
    else:
        model_cfg = Config.fromfile(CITYSCAPES).to_dict()["model"]
        label = "Mask R-CNN R50-FPN (cityscapes config)"
    with default_scope("mmdet"):
        torch.manual_seed(0)
        model = MODELS.build(model_cfg).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9, weight_decay=1e-4)
    batch = synthetic_batch(tuple(args.size), args.objects)
    height, width = args.size
    print(
        f"[ops] {label}, one {height}x{width} image, {args.objects} instances, {args.steps} steps"
    )
    for _ in range(args.warmup):
        train_step(model, optimizer, batch)
    steps, shares, parts, same_kept = [], [], defaultdict(list), True
    for _ in range(args.steps):
        with _OpRecorder() as recorder:
            start = time.perf_counter()
            train_step(model, optimizer, batch)
            step = time.perf_counter() - start
        replayed = recorder.replay()
        as_run, per_level, same = recorder.nms_again()
        parts["nms (rpn) replayed"].append(as_run)
        parts["nms (rpn) per level, replayed"].append(per_level)
        same_kept &= same
        op_time = sum(replayed.values()) + recorder.in_place["nms (rpn)"]
        steps.append(step)
        shares.append(op_time)
        for name, seconds in recorder.in_place.items():
            parts[f"{name} in place"].append(seconds)
        for name, seconds in replayed.items():
            parts[f"{name} replayed"].append(seconds)
        del recorder
    print(summary("step", steps, unit="ms"))
    for name in sorted(parts):
        values = parts[name]
        share = statistics.median(v / s for v, s in zip(values, steps)) * 100
        print(f"  {name:<30} median {statistics.median(values) * 1000:9.1f} ms  {share:5.1f} %")
    print("  (in place: forward only; replayed: forward + backward, mask targets forward only)")
    print(f"  nms per level (split_thr=0) keeps the same boxes: {same_kept}")
    print("goal: RoIAlign + NMS / training step < 0.15")
    print(ratio_line(f"RoIAlign + NMS / training step, {height}x{width}", shares, steps))


# -- part 2: the Runner against a hand-written loop -----------------------------------------


@HOOKS.register_module(force=True)
class DetBenchTrainMode(Hook):
    """``model.train()`` before the first iteration, as MMEngine's loops do.

    segwright's ``IterBasedTrainLoop`` calls ``train()`` only when the model is not training,
    and a freshly built model is, so ``ResNet.train()`` never applies ``norm_eval``: its
    BatchNorm layers train (batch statistics, updated running means) where MMEngine's and the
    hand loop's are frozen. That is a behaviour difference, not overhead; ``--as-is`` leaves it.
    """

    def before_train(self, runner) -> None:
        runner.model.train()


def overhead_config(
    root: Path, iters: int, workers: int, size: tuple[int, int], train_mode: bool = True
) -> Config:
    """The shipped COCO Mask R-CNN config with the tiny model, on tiny COCO data."""
    cfg = Config.fromfile(COCO).to_dict()
    write_tiny_coco(root / "data", num_images=8, size=size)
    cfg["model"] = tiny_mask_rcnn_cfg(num_classes=8)
    loader = cfg["train_dataloader"]
    loader.update(batch_size=2, num_workers=workers, persistent_workers=workers > 0)
    dataset = loader["dataset"]
    dataset.update(
        data_root=str(root / "data"),
        ann_file="ann.json",
        data_prefix=dict(img="images/"),
        metainfo=dict(classes=TINY_COCO_CLASSES),
    )
    height, width = size
    for transform in dataset["pipeline"]:
        if transform["type"] == "Resize":
            transform["scale"] = (width, height)
    cfg["train_cfg"] = dict(type="IterBasedTrainLoop", max_iters=iters, val_interval=10**9)
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg"):
        cfg.pop(key, None)
    cfg.pop("test_evaluator", None)
    cfg["default_hooks"].update(
        checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=10**9, save_last=False),
        logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=False),
    )
    cfg["log_processor"] = dict(type="LogProcessor", window_size=50, by_epoch=False)
    # A detector's work depends on its weights (how many proposals survive, how many RoIs are
    # positive), so the two sides must keep equal weights: learning rate 0 (SGD still computes
    # its momentum and weight decay update). The config's two schedulers still step every
    # iteration.
    cfg["optim_wrapper"]["optimizer"]["lr"] = 0.0
    cfg["param_scheduler"] = [
        dict(type="LinearLR", start_factor=1.0, by_epoch=False, begin=0, end=iters),
        dict(type="MultiStepLR", by_epoch=False, begin=0, end=iters, milestones=[iters]),
    ]
    cfg.update(work_dir=str(root / "work"), device="cpu", randomness=dict(seed=0), load_from=None)
    if train_mode:
        cfg["custom_hooks"] = [dict(type="DetBenchTrainMode")]
    return Config(cfg)


def run_overhead(args: argparse.Namespace) -> None:
    height, width = args.overhead_size
    warmup = max(1, args.iters // 8)
    for workers in args.workers:
        runner_times, loop_times, data_times = [], [], []
        with tempfile.TemporaryDirectory() as tmp, default_scope("mmdet"):
            cfg = overhead_config(
                Path(tmp), args.iters + warmup, workers, (height, width), not args.as_is
            )
            for index in range(args.rounds):
                if args.method == "runs":  # whole runs, alternating which side goes first
                    sides = [run_runner, run_hand_loop][:: 1 if index % 2 == 0 else -1]
                    times = {side: side(cfg, warmup) for side in sides}
                    ours, floor, ours_data, floor_data = (
                        times[run_runner],
                        times[run_hand_loop],
                        0,
                        0,
                    )
                else:
                    ours, floor, ours_data, floor_data = run_interleaved(
                        cfg, warmup, args.split_data
                    )
                runner_times.append(ours / args.iters)
                loop_times.append(floor / args.iters)
                data_times.append((ours_data / args.iters, floor_data / args.iters))
            if args.breakdown:
                print_breakdown(run_breakdown(cfg, warmup))
        print(
            f"[overhead] maskrcnn-small ({height}x{width}, batch 2), num_workers {workers}, "
            f"{'as is' if args.as_is else 'model.train() before iteration 0'}, "
            f"{args.method}: {args.iters} timed iterations x {args.rounds} rounds"
        )
        print(summary("runner", runner_times, unit="ms/iter"))
        print(summary("hand loop", loop_times, unit="ms/iter"))
        if args.split_data and args.method == "interleaved":
            print(summary("runner data", [d[0] for d in data_times], unit="ms/iter"))
            print(summary("hand data", [d[1] for d in data_times], unit="ms/iter"))
            print(
                ratio_line(
                    f"runner / hand loop without data loading, maskrcnn-small, workers {workers}",
                    [t - d[0] for t, d in zip(runner_times, data_times)],
                    [t - d[1] for t, d in zip(loop_times, data_times)],
                )
            )
        print("goal: runner / hand loop <= 1.02")
        print(
            ratio_line(
                f"runner / hand loop, maskrcnn-small, workers {workers}", runner_times, loop_times
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "ops", "overhead"], default="all")
    parser.add_argument("--steps", type=int, default=3, help="ops: timed training steps")
    parser.add_argument("--warmup", type=int, default=1, help="ops: untimed steps first")
    parser.add_argument("--size", type=int, nargs=2, default=[512, 1024], help="ops: H W")
    parser.add_argument("--objects", type=int, default=12, help="ops: instances in the image")
    parser.add_argument("--rounds", type=int, default=3, help="overhead: runs of each side")
    parser.add_argument("--iters", type=int, default=40, help="overhead: timed iterations")
    parser.add_argument("--workers", type=int, nargs="+", default=[0])
    parser.add_argument("--method", choices=["interleaved", "runs"], default="interleaved")
    parser.add_argument(
        "--as-is", action="store_true", help="overhead: no model.train() before iteration 0"
    )
    parser.add_argument("--split-data", action="store_true", help="overhead: time data loading")
    parser.add_argument("--breakdown", action="store_true", help="overhead: time each hook call")
    parser.add_argument("--overhead-size", type=int, nargs=2, default=[256, 512])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run, numbers meaningless")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.size, args.objects = 1, 0, [64, 96], 3
        args.rounds, args.iters, args.overhead_size = 1, 2, [64, 96]
    torch.set_num_threads(args.threads)
    print(machine_line())
    if args.part in ("all", "ops"):
        run_ops(args)
    if args.part in ("all", "overhead"):
        run_overhead(args)


if __name__ == "__main__":
    main()
