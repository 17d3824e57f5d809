"""One MMSegmentation 1.x config file, trained end to end by MMSeg 1.2.2's Runner and by segwright.

Cases (shrunk so a run takes about half a minute on one CPU thread; the model types stay):
  unet    UNet-S5-D16 + FCN head, CE 1.0 + Dice 3.0 on the decode head, CE 0.4 auxiliary
  pspnet  PSPNet-R50-D8, OHEM pixel sampler and class-weighted CE, FCN auxiliary head

Both sides read the same config file and the same on-disk dataset (a custom-style
``BaseSegDataset`` tree written by ``common.write_fake_tree``, images already at the crop size,
labels 0..K-1 without 255: MMSeg 1.2.2's weighted CE crashes on ignored pixels). Both start from
the same weights: MMSeg's initialisation is run once and saved, and the config's ``load_from``
points at it (the two codebases draw their random initial weights in different orders). Dropout
is set to 0 so that the first iteration is deterministic on both sides.

Each side is a whole process (``segwright train CONFIG`` in this venv; a short
``Runner.from_cfg(cfg).train()`` driver in the reference venv), alternated A B B A A B ...
Reported per case: the medians of the process wall time and of the mean iteration time each side
logs (MMEngine's and segwright's ``time:`` at the log lines after the first window, so without
the warm-up; the log interval is 10, the size of both sides' averaging window), their paired
ratios, and the losses of iteration 1 from a separate one-iteration run of each side, logged at
interval 1 (read from ``vis_data/scalars.json``: MMEngine's keeps full precision, segwright's
6 decimals).

The reference venv: ``$MMSEG_REFERENCE_VENV`` (or ``$MMSEG_REF_VENV``), default
``/tmp/mmseg-ref-venv``; built by ``bash ../shared/tools/mmseg-reference/setup.sh``.

``--mode test`` times evaluation instead: ``segwright test CONFIG CHECKPOINT`` against MMSeg's
``tools/test.py`` logic (``cfg.load_from = CHECKPOINT; Runner.from_cfg(cfg).test()``), both on
the same checkpoint (MMSeg's initial weights) and a test split of larger images, batch 1, whole
image inference, IoUMetric. ``--mode val`` trains a few iterations and validates once on that
split (the ValLoop inside training). Both read the mean iteration time from the pass's last log
line (``Iter(test) [N/N] ... time:``; MMEngine averages over the pass, and so does segwright) and
check that the two sides' metrics agree.

Usage: python benchmarks/vs_mmseg.py [--mode train|test|val] [--cases unet pspnet] [--rounds 3]
       python benchmarks/vs_mmseg.py --segwright-only --quick   (no reference venv needed)
The last line is ``ratio (segwright / MMSeg mean iteration time, <last case>): median ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import (  # noqa: I001
    ROOT,
    machine_line,
    ratio_line,
    require_reference_python,
    write_fake_tree,
)

NUM_CLASSES = 4
CLASS_WEIGHT = [0.8, 1.0, 1.2, 1.4]

# case: crop (h, w), batch size, iterations, log interval, width (UNet's base_channels; ResNet's
# stem and base channels, the heads scaled with it: MMSeg's own are 64, at 0.5x here)
CASES = {
    "unet": dict(crop=(64, 64), batch=2, iters=20, interval=10, width=32),
    "pspnet": dict(crop=(64, 64), batch=2, iters=20, interval=10, width=32),
}
QUICK = {
    "unet": dict(crop=(32, 32), batch=2, iters=4, interval=2, width=8),
    "pspnet": dict(crop=(32, 32), batch=2, iters=4, interval=2, width=8),
}

# evaluation (--mode test/val): image size and count of the split evaluated, batch 1
EVAL = dict(size=(192, 192), count=24, train_iters=2)
EVAL_QUICK = dict(size=(32, 32), count=4, train_iters=2)

MODELS = {
    "unet": """
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='UNet', in_channels=3, base_channels=WIDTH, num_stages=5, strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2), dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True), enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1), with_cp=False, conv_cfg=None, norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'), upsample_cfg=dict(type='InterpConv'), norm_eval=False),
    decode_head=dict(
        type='FCNHead', in_channels=WIDTH, in_index=4, channels=WIDTH, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', loss_name='loss_ce', use_sigmoid=False, loss_weight=1.0),
            dict(type='DiceLoss', loss_name='loss_dice', loss_weight=3.0)]),
    auxiliary_head=dict(
        type='FCNHead', in_channels=WIDTH * 2, in_index=3, channels=WIDTH, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
""",
    "pspnet": """
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c', depth=50, stem_channels=WIDTH, base_channels=WIDTH, num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False,
        style='pytorch', contract_dilation=True),
    decode_head=dict(
        type='PSPHead', in_channels=WIDTH * 32, in_index=3, channels=WIDTH * 8,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=norm_cfg, align_corners=False,
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=MIN_KEPT),
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            class_weight=CLASS_WEIGHT)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=WIDTH * 16, in_index=2, channels=WIDTH * 4, num_convs=1,
        concat_input=False, dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
""",
}

COMMON = """
default_scope = 'mmseg'
crop_size = CROP
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
MODEL
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=BATCH, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BaseSegDataset', data_root=DATA_ROOT,
        metainfo=dict(classes=CLASSES, palette=PALETTE),
        data_prefix=dict(img_path='images/training', seg_map_path='annotations/training'),
        img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False,
        pipeline=train_pipeline))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005), clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=ITERS, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERS, val_interval=ITERS * 10)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=INTERVAL, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=ITERS * 10, save_last=False),
    sampler_seed=dict(type='DistSamplerSeedHook'))
EVALUATION
env_cfg = dict(
    cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = LOAD_FROM
resume = False
randomness = dict(seed=0)
"""

EVAL_BLOCK = """
eval_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
eval_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BaseSegDataset', data_root=EVAL_ROOT,
        metainfo=dict(classes=CLASSES, palette=PALETTE),
        data_prefix=dict(img_path='images/validation', seg_map_path='annotations/validation'),
        img_suffix='.jpg', seg_map_suffix='.png', reduce_zero_label=False,
        pipeline=eval_pipeline))
test_dataloader = eval_dataloader
val_dataloader = eval_dataloader
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
val_evaluator = test_evaluator
test_cfg = dict(type='TestLoop')
val_cfg = dict(type='ValLoop')
"""

# The MMSeg side: tools/train.py and tools/test.py are not in the wheel; this is what they do for
# a plain run. With a third argument ``--test CHECKPOINT`` it evaluates that checkpoint (test.py);
# with any other third argument it only writes MMSeg's initial weights there (seed 0) and exits.
DRIVER = """
import sys, torch
from mmengine.config import Config
from mmengine.runner import Runner, set_random_seed
from mmseg.utils import register_all_modules
register_all_modules()
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
if len(sys.argv) > 4 and sys.argv[3] == '--test':
    cfg.load_from = sys.argv[4]
    Runner.from_cfg(cfg).test()
elif len(sys.argv) > 3:
    from mmseg.registry import MODELS
    set_random_seed(0)
    cfg.model.pop('pretrained', None)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, sys.argv[3])
else:
    Runner.from_cfg(cfg).train()
"""


def write_config(
    path: Path,
    case: str,
    spec: dict,
    data: Path,
    iters: int,
    interval: int,
    load_from,
    eval_root: Path | None = None,
    validate: bool = False,
):
    """The case's config file; with ``eval_root``, also a validation/test split (batch 1).

    ``validate``: validate once, at the end of training (else never).
    """
    evaluation = EVAL_BLOCK.replace("EVAL_ROOT", repr(str(eval_root))) if eval_root else ""
    common = COMMON.replace("val_interval=ITERS * 10", "val_interval=ITERS") if validate else COMMON
    batch_pixels = spec["batch"] * spec["crop"][0] * spec["crop"][1]
    text = (
        common.replace("EVALUATION", evaluation)
        .replace("MODEL", MODELS[case])
        .replace("NUM_CLASSES", str(NUM_CLASSES))
        .replace("CLASS_WEIGHT", repr(CLASS_WEIGHT))
        .replace("MIN_KEPT", str(batch_pixels // 4))  # OHEM keeps at least a quarter
        .replace("CROP", repr(tuple(spec["crop"])))
        .replace("BATCH", str(spec["batch"]))
        .replace("WIDTH", str(spec["width"]))
        .replace("DATA_ROOT", repr(str(data)))
        .replace("CLASSES", repr(tuple(f"class{i}" for i in range(NUM_CLASSES))))
        .replace("PALETTE", repr([[40 * i, 255 - 40 * i, 60] for i in range(NUM_CLASSES)]))
        .replace("ITERS", str(iters))
        .replace("INTERVAL", str(interval))
        .replace("LOAD_FROM", repr(str(load_from) if load_from else None))
    )
    path.write_text(f"# {case}: written by benchmarks/vs_mmseg.py\n" + text)


def env(threads: int) -> dict[str, str]:
    out = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    out.update(PYTHONWARNINGS="ignore", TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    return out


def command(
    side: str, config: Path, work: Path, reference: Path | None, checkpoint: Path | None = None
) -> list[str]:
    """Train (or, with ``checkpoint``, test) with one side, as its users would."""
    if side == "segwright":
        script = str(Path(sys.executable).parent / "segwright")
        if checkpoint is not None:
            return [script, "test", str(config), str(checkpoint), "--work-dir", str(work)]
        return [script, "train", str(config), "--work-dir", str(work)]
    assert reference is not None
    test = ["--test", str(checkpoint)] if checkpoint is not None else []
    return [str(reference), "-c", DRIVER, str(config), str(work), *test]


def run_side(
    side: str, config: Path, work: Path, reference, threads: int, checkpoint: Path | None = None
) -> tuple[float, Path]:
    """Train (or test ``checkpoint``) once in a fresh process; the wall time and the text log."""
    start = time.perf_counter()
    done = subprocess.run(
        command(side, config, work, reference, checkpoint),
        cwd=ROOT,
        env=env(threads),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{side} failed on {config.name}:\n{done.stdout[-3000:]}{done.stderr[-6000:]}"
        )
    logs = sorted(work.glob("*/*.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise SystemExit(f"{side}: no text log under {work}")
    return wall, logs[-1]


LINE = re.compile(r"Iter\(train\)\s*\[\s*(\d+)/\s*\d+\]")
PAIR = re.compile(r"([\w.]+): (-?[\d.]+(?:e-?\d+)?)")


def parse_log(path: Path) -> list[dict[str, float]]:
    """The training log lines of a text log (MMEngine's or segwright's), as {key: value}."""
    rows = []
    for line in path.read_text().splitlines():
        match = LINE.search(line)
        if match:
            row = {k: float(v) for k, v in PAIR.findall(line[match.end() :])}
            row["iter"] = float(match.group(1))
            rows.append(row)
    return rows


EVAL_END = re.compile(r"(?:Iter|Epoch)\((val|test)\)\s*\[[^]]*\](?:\[[^]]*\])?")


def eval_summary(path: Path, mode: str) -> dict[str, float]:
    """The values of the last validation or test pass's closing line (metrics and mean times)."""
    found = None
    for line in path.read_text().splitlines():
        match = EVAL_END.search(line)
        if match and match.group(1) == mode and "mIoU" in line:
            found = {k: float(v) for k, v in PAIR.findall(line[match.end() :])}
    if found is None or "time" not in found:
        raise SystemExit(f"no {mode} line with mIoU and time in {path}")
    return found


def scalars(path: Path) -> list[dict]:
    """The JSON lines of the run's ``vis_data/scalars.json`` (full-precision losses)."""
    files = list(path.parent.glob("vis_data/scalars.json")) + list(
        path.parent.glob("**/scalars.json")
    )
    if not files:
        return []
    return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


def mean_iter_time(rows: list[dict[str, float]], interval: int) -> float:
    """Mean of the logged ``time`` at the interval's lines after the first (warm-up) window.

    Only lines at multiples of ``interval`` count: MMEngine also logs at the end of each pass
    over a dataloader shorter than the interval, and that line's window holds the warm-up.
    """
    timed = [
        r["time"]
        for r in rows
        if "time" in r and r["iter"] % interval == 0 and r["iter"] > interval
    ]
    if not timed:
        raise SystemExit("no timed log line after the first window: raise the iterations")
    return statistics.fmean(timed)


def first_losses(side, config, work, reference, threads) -> dict[str, float]:
    _, log = run_side(side, config, work, reference, threads)
    rows = [r for r in scalars(log) if "loss" in r] or parse_log(log)
    first = rows[0]
    return {k: float(v) for k, v in first.items() if "loss" in k}


SEGWRIGHT_INIT = """
import sys, torch
from segwright.apis.inference import init_model
torch.manual_seed(0)
model = init_model(sys.argv[1], device='cpu')
torch.save({'meta': {}, 'state_dict': model.state_dict()}, sys.argv[2])
"""


def initial_weights(base, case, spec, data, iters, reference, threads) -> Path:
    """One set of starting weights for both sides: MMSeg's (seed 0), or segwright's alone."""
    init = base / f"{case}_{spec['tag']}_init.pth"
    seed_cfg = base / f"{case}_{spec['tag']}_seed.py"
    write_config(seed_cfg, case, spec, data, iters, spec["interval"], None)
    if reference is not None:
        driver = [str(reference), "-c", DRIVER, str(seed_cfg), str(base / "w_seed"), str(init)]
    else:
        driver = [sys.executable, "-c", SEGWRIGHT_INIT, str(seed_cfg), str(init)]
    subprocess.run(driver, env=env(threads), check=True, capture_output=True)
    return init


def alternate(args, sides, run_one) -> dict[str, list]:
    """``run_one(side, round)`` for every round, in the order A B, B A, A B, ..."""
    results: dict[str, list] = {side: [] for side in sides}
    for round_index in range(args.rounds):
        order = sides if round_index % 2 == 0 else sides[::-1]
        for side in order:
            results[side].append(run_one(side, round_index))
    return results


def report(case: str, label: str, sides, walls, means, reference) -> None:
    for side in sides:
        print(
            f"{case} {side:>9}: wall median {statistics.median(walls[side]):7.2f} s, "
            f"mean {label} iteration median {statistics.median(means[side]) * 1000:8.1f} ms"
        )
    if reference is not None:
        print(
            ratio_line(f"segwright / MMSeg wall time, {case}", walls["segwright"], walls["mmseg"])
        )
        print(
            ratio_line(
                f"segwright / MMSeg mean {label} iteration time, {case}",
                means["segwright"],
                means["mmseg"],
            )
        )


def train_case(args, base, case, spec, data, reference, sides) -> None:
    """Training: first-iteration losses of both sides, then the timed runs."""
    iters = args.iters or spec["iters"]
    init = None  # segwright alone starts from its own initialisation
    if reference is not None:
        init = initial_weights(base, case, spec, data, iters, reference, args.threads)
    check_cfg = base / f"{case}_{spec['tag']}_check.py"
    write_config(check_cfg, case, spec, data, 1, 1, init)
    losses = {
        side: first_losses(
            side, check_cfg, base / f"w_{case}_{side}_check", reference, args.threads
        )
        for side in sides
    }
    print(f"\n== {case}: crop {spec['crop']}, batch {spec['batch']}, {iters} iterations ==")
    for side, values in losses.items():
        text = "  ".join(f"{k}: {v:.6f}" for k, v in sorted(values.items()))
        print(f"first-iteration losses, {side:>9}: {text}")
    if reference is not None:
        keys = sorted(set(losses["segwright"]) & set(losses["mmseg"]))
        diff = max(abs(losses["segwright"][k] - losses["mmseg"][k]) for k in keys)
        print(
            f"first-iteration losses agree: {diff <= args.atol} "
            f"(max abs diff {diff:.2e} over {len(keys)} keys, atol {args.atol})"
        )
    config = base / f"{case}_{spec['tag']}.py"
    write_config(config, case, spec, data, iters, spec["interval"], init)

    def run_one(side: str, round_index: int) -> tuple[float, float]:
        work = base / f"w_{case}_{side}_{round_index}"
        wall, log = run_side(side, config, work, reference, args.threads)
        mean = mean_iter_time(parse_log(log), spec["interval"])
        print(
            f"round {round_index} {side:>9}: wall {wall:7.2f} s, mean iteration {mean * 1000:8.1f} ms"
        )
        return wall, mean

    results = alternate(args, sides, run_one)
    walls = {side: [r[0] for r in results[side]] for side in sides}
    means = {side: [r[1] for r in results[side]] for side in sides}
    report(case, "training", sides, walls, means, reference)


def eval_case(args, base, case, spec, data, reference, sides) -> None:
    """Test (``segwright test`` / MMSeg's test.py) or validation after a short training."""
    mode, evaluation = args.mode, spec["eval"]
    eval_root = base / f"eval_{case}_{spec['tag']}"
    if not eval_root.exists():
        write_fake_tree(eval_root, evaluation["count"], tuple(evaluation["size"]), NUM_CLASSES - 1)
    iters = evaluation["train_iters"]
    init = initial_weights(base, case, spec, data, iters, reference, args.threads)
    config = base / f"{case}_{spec['tag']}_{mode}.py"
    write_config(
        config, case, spec, data, iters, 1, None if mode == "test" else init, eval_root,
        validate=mode == "val",
    )  # fmt: skip
    size = "x".join(map(str, evaluation["size"]))
    what = "test of a checkpoint" if mode == "test" else f"validation after {iters} iterations"
    print(f"\n== {case}: {what}, {evaluation['count']} images {size}, batch 1 ==")

    def run_one(side: str, round_index: int) -> tuple[float, dict[str, float]]:
        work = base / f"w_{case}_{side}_{mode}_{round_index}"
        checkpoint = init if mode == "test" else None
        wall, log = run_side(side, config, work, reference, args.threads, checkpoint)
        values = eval_summary(log, mode)
        print(
            f"round {round_index} {side:>9}: wall {wall:7.2f} s, mean {mode} iteration "
            f"{values['time'] * 1000:8.1f} ms, mIoU {values['mIoU']:.2f}"
        )
        return wall, values

    results = alternate(args, sides, run_one)
    if reference is not None:
        keys = ("aAcc", "mIoU", "mAcc")
        ours, theirs = results["segwright"][0][1], results["mmseg"][0][1]
        diff = max(abs(ours[k] - theirs[k]) for k in keys)
        text = ", ".join(f"{k} {ours[k]:.2f} / {theirs[k]:.2f}" for k in keys)
        print(f"metrics agree: {diff <= 0.01} (segwright / MMSeg: {text}; both print 2 decimals)")
    walls = {side: [r[0] for r in results[side]] for side in sides}
    means = {side: [r[1]["time"] for r in results[side]] for side in sides}
    report(case, mode, sides, walls, means, reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--mode", choices=("train", "test", "val"), default="train", help="what is timed"
    )
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--rounds", type=int, default=3, help="each round runs both sides once")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of both sides")
    parser.add_argument("--iters", type=int, default=None, help="training iterations, every case")
    parser.add_argument("--quick", action="store_true", help="tiny crops and iterations (smoke)")
    parser.add_argument(
        "--segwright-only", action="store_true", help="run only segwright's side (no reference)"
    )
    parser.add_argument("--atol", type=float, default=1e-3, help="first-iteration loss tolerance")
    parser.add_argument("--keep", help="keep configs, data and logs in this folder")
    args = parser.parse_args()

    reference = None
    if not args.segwright_only:
        reference = require_reference_python("--segwright-only runs our side alone")
    sides = ["segwright"] if reference is None else ["segwright", "mmseg"]
    print(machine_line())
    print(
        f"threads: OMP_NUM_THREADS={args.threads} on both sides; sides: {', '.join(sides)}; "
        f"mode: {args.mode}" + (f"; reference: {reference}" if reference else "")
    )
    specs = QUICK if args.quick else CASES
    tag = "quick" if args.quick else "full"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        for case in args.cases:
            spec = dict(specs[case], tag=tag, eval=EVAL_QUICK if args.quick else EVAL)
            data = base / f"data_{case}_{tag}"
            if not data.exists():
                write_fake_tree(data, 16, tuple(spec["crop"]), NUM_CLASSES - 1)
            run_case = train_case if args.mode == "train" else eval_case
            run_case(args, base, case, spec, data, reference, sides)
        if reference is None:
            print("segwright side only: no ratio (the MMSeg side was not run)")


if __name__ == "__main__":
    main()
