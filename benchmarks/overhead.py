"""Training iterations through segwright's Runner against a hand-written PyTorch loop.

Both sides train the same model (built from the same config) on the same dataset with the same
batch size, optimizer and ``num_workers``. The hand-written loop is the floor on this machine:

    for batch in DataLoader(dataset, shuffle=True, collate_fn=pseudo_collate, ...):
        data = model.data_preprocessor(batch, True)     # normalise, pad, stack: part of the model
        loss = the 'loss*' terms of model(**data, mode='loss'), added up
        optimizer.zero_grad(); loss.backward(); optimizer.step()

The Runner side is ``Runner.from_cfg(cfg).train()`` with everything a config brings: the
sampler and worker seeding, the optimizer wrapper, the LR scheduler, the default hooks (timer,
logger every 50 iterations, param scheduler, sampler seed) and the log store; checkpoints and
validation are pushed past the end (they are work a user asks for, not overhead). Both sides
start from the same initial weights. Two methods (``--method``):

- ``interleaved`` (default): one Runner run, and after each of its iterations (after every
  other hook) one hand-loop iteration. Each side's time per iteration is measured back to
  back, so the machine's drift and bursts of noise (large on a shared 2-core VM: whole runs
  of the same side differ by up to 15 %) hit both sides alike. With ``num_workers`` > 0 both
  sides' workers live at once; each is idle half of the time.
- ``runs``: whole runs of each side, alternating (runner, loop, loop, runner, ...); each
  side's clock runs from the end of the last warm-up iteration to the end of the last one.

Both time the same iterations (after ``--warmup`` untimed ones), data loading included, and
repeat over ``--rounds`` rounds.

``--breakdown`` adds one untimed interleaved run in which every hook call of a training
iteration is timed where it runs (right after the data loading or the train step), and then
called a second time at once; the second call does the same work with warm caches, so the gap
between the two is the cost of bringing the hook's code and data back into the CPU caches.
``ParamSchedulerHook`` is not called twice (a second call would step the schedule).

Models: ``toy`` (segwright.testing's two-layer model on 64x64, where the per-iteration cost of
the framework shows most), ``unet`` (the demo's UNet at 64x64, batch 8) and ``pspnet``
(PSPNet-R50-D8 512x512 batch 2 from the shipped ADE20K config, on a fake ADE20K tree).

Usage: python benchmarks/overhead.py [--models toy unet pspnet] [--workers 0 2] [--rounds 3]
The last line is ``ratio (runner / hand loop, <last case>): median ... (min ..., max ...)``;
one such line is printed per case, and a table of all cases before the last line.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import machine_line, ratio_line, summary, sync, write_fake_tree  # noqa: I001

from segwright.config import Config
from segwright.engine.data import pseudo_collate, shutdown_workers
from segwright.engine.dist import revert_sync_batchnorm
from segwright.engine.hooks import Hook
from segwright.engine.hooks.hook import implements
from segwright.engine.runner import Runner
from segwright.registry import DATASETS, MODELS

CONFIGS = Path(__file__).resolve().parents[1] / "segwright" / "configs"

#: name -> (config, batch size, iterations timed, warm-up iterations)
CASES = {
    "toy": (None, 2, 300, 20),
    "unet": (CONFIGS / "quickstart" / "demo_unet.py", 8, 40, 5),
    "pspnet": (CONFIGS / "pspnet" / "pspnet_r50-d8_4xb4-80k_ade20k-512x512.py", 2, 4, 1),
}


def case_config(
    name: str, data_root: Path, work_dir: Path, workers: int, iters: int, device: str = "cpu"
) -> Config:
    """The case's config, set to ``iters`` iterations with no checkpoint or validation."""
    path, batch, _, _ = CASES[name]
    if path is None:
        from segwright.testing import toy_config

        cfg = Config(toy_config(work_dir, max_iters=iters, val_interval=10**9))
        cfg.train_dataloader.dataset.update(num_samples=64, size=(64, 64))
    else:
        cfg = Config.fromfile(path)
    if name == "pspnet":  # a fake ADE20K tree: photo-like 512x683 JPEGs, 150 classes
        cfg.train_dataloader.dataset.data_root = str(data_root)
    loader = cfg.train_dataloader
    loader.update(batch_size=batch, num_workers=workers, persistent_workers=workers > 0)
    cfg.train_cfg = dict(type="IterBasedTrainLoop", max_iters=iters, val_interval=10**9)
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg"):
        cfg.pop(key, None)
    hooks = dict(cfg.get("default_hooks") or {})
    # no checkpoint, not even the one CheckpointHook saves after the last iteration (save_last)
    hooks["checkpoint"] = dict(
        type="CheckpointHook", by_epoch=False, interval=10**9, save_last=False
    )
    hooks["logger"] = dict(type="LoggerHook", interval=50, log_metric_by_epoch=False)
    cfg.default_hooks = hooks
    scheduler = cfg.get("param_scheduler")
    if scheduler:  # the config's schedule, squeezed into the run
        for step in scheduler if isinstance(scheduler, list) else [scheduler]:
            step["end"] = min(step.get("end", iters), iters)
            step["begin"] = min(step.get("begin", 0), iters - 1)
    cfg.update(work_dir=str(work_dir), device=device, randomness=dict(seed=0), load_from=None)
    return cfg


class _HandLoop:
    """The hand-written loop of the module docstring, one iteration per ``step()``."""

    def __init__(self, cfg: Config) -> None:
        torch.manual_seed(0)  # as Runner.__init__ (randomness.seed=0) before it builds the model
        model = MODELS.build(copy.deepcopy(cfg.model))
        torch.manual_seed(0)  # the same initial weights as the Runner side (before_run seeds)
        if hasattr(model, "init_weights"):
            model.init_weights()
        self.model = revert_sync_batchnorm(model).to(cfg.device).train()  # one process: BN
        self.device = cfg.device
        kwargs = dict(cfg.optim_wrapper.optimizer)
        self.optimizer = getattr(torch.optim, kwargs.pop("type"))(model.parameters(), **kwargs)
        loader_cfg = cfg.train_dataloader
        workers = loader_cfg.num_workers
        self.loader = torch.utils.data.DataLoader(
            DATASETS.build(copy.deepcopy(loader_cfg.dataset)),
            batch_size=loader_cfg.batch_size,
            shuffle=True,
            num_workers=workers,
            collate_fn=pseudo_collate,
            persistent_workers=workers > 0,
            drop_last=True,
        )
        self._batches = self._endless()
        self.data_time = 0.0  # seconds spent waiting for batches, over all steps

    def _endless(self):
        while True:
            yield from self.loader

    def close(self) -> None:
        """Stop the loader's workers now (see segwright.engine.data.shutdown_workers)."""
        self._batches.close()
        shutdown_workers(self.loader)

    def step(self) -> None:
        model = self.model
        start = time.perf_counter()
        batch = next(self._batches)
        self.data_time += time.perf_counter() - start
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode="loss")
        loss = None  # not sum(): its start value 0 would cost one more kernel
        for key, value in losses.items():
            if key.startswith("loss") or ".loss" in key:  # a detector's RPN gives a list
                for term in value if isinstance(value, (list, tuple)) else (value,):
                    loss = term if loss is None else loss + term
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        sync(self.device)


class _Seed(Hook):
    """Seeds torch just before the runner initialises the weights: the same as the loop's."""

    def before_run(self, runner):
        torch.manual_seed(0)


class _Clock(Hook):
    """Whole runs: runs after every other hook, marks the end of warm-up and of the last iteration."""

    priority = "LOWEST"

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = self.end = 0.0
        self.timed = 0  # iterations inside the timed window

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        sync(runner.device)
        done = runner.iter + 1  # runner.iter counts from 0 and moves on after this hook
        if done == self.warmup:
            self.start = time.perf_counter()
        elif done > self.warmup:
            self.timed += 1
        self.end = time.perf_counter()


class _Interleave(Hook):
    """Interleaved: after each runner iteration (after every other hook), one hand iteration.

    A runner iteration is the time from the end of the previous hand iteration to here: the
    loop's bookkeeping, its data loading, every hook and the train step. A hand iteration is
    the time ``_HandLoop.step`` takes, its own data loading included. Both sides meet the same
    machine at (almost) the same moment, so drift and bursts of noise cancel.
    """

    priority = "LOWEST"

    def __init__(self, hand: _HandLoop, warmup: int) -> None:
        self.hand, self.warmup = hand, warmup
        self.last = 0.0
        self.runner_times: list[float] = []
        self.hand_times: list[float] = []
        self.runner_data = self.hand_data = 0.0  # data loading inside the timed iterations

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        sync(runner.device)
        now = time.perf_counter()
        timed = runner.iter + 1 > self.warmup
        waited = self.hand.data_time
        if timed:
            self.runner_times.append(now - self.last)
        self.hand.step()
        self.last = time.perf_counter()
        if timed:
            self.hand_times.append(self.last - now)
            self.hand_data += self.hand.data_time - waited


class _DataMark(Hook):
    """Interleaved: the first hook of a runner iteration, so the data loading has finished."""

    priority = "HIGHEST"

    def __init__(self, clock: _Interleave) -> None:
        self.clock = clock

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 > self.clock.warmup:  # the loop's next(batches) and bookkeeping
            self.clock.runner_data += time.perf_counter() - self.clock.last


class _TimedRunner(Runner):
    """--breakdown: times each hook call of a training iteration, then calls it again."""

    #: hooks whose second call would change the training itself
    NOT_REPEATED = ("ParamSchedulerHook", "_Interleave", "_DataMark")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timed_from = 1  # the first iteration (counted from 1) whose hook calls are timed
        self.first: dict[str, list[float]] = {}
        self.again: dict[str, list[float]] = {}

    def call_hook(self, stage: str, **kwargs) -> None:
        if (
            stage not in ("before_train_iter", "after_train_iter")
            or self.iter + 1 < self.timed_from
        ):
            super().call_hook(stage, **kwargs)
            return
        # the runner's own per-stage list (filled in the warm-up iterations), as call_hook uses:
        # building it here would touch every hook just before the first timed call
        hooks = self._hooks_by_stage.get(stage) or [h for h in self._hooks if implements(h, stage)]
        for hook in hooks:
            name = f"{stage}: {type(hook).__name__}"
            method = getattr(hook, stage)
            start = time.perf_counter()
            method(self, **kwargs)
            self.first.setdefault(name, []).append(time.perf_counter() - start)
            if type(hook).__name__ not in self.NOT_REPEATED:
                start = time.perf_counter()
                method(self, **kwargs)
                self.again.setdefault(name, []).append(time.perf_counter() - start)


def _train(cfg: Config, *hooks: Hook, runner_cls: type[Runner] = Runner, **attrs) -> Runner:
    """Train a runner built from ``cfg`` with ``hooks`` added and ``attrs`` set on it."""
    runner = runner_cls.from_cfg(copy.deepcopy(cfg))
    for hook in (_Seed(), *hooks):
        runner.register_hook(hook)
    for key, value in attrs.items():
        setattr(runner, key, value)
    try:
        runner.train()
    finally:
        runner.close()
    return runner


def run_runner(cfg: Config, warmup: int) -> float:
    """Whole runs: one Runner run's time over the window."""
    clock = _Clock(warmup)
    _train(cfg, clock)
    expected = cfg.train_cfg["max_iters"] - warmup
    assert clock.timed == expected, f"timed {clock.timed} runner iterations, not {expected}"
    return clock.end - clock.start


def run_hand_loop(cfg: Config, warmup: int) -> float:
    """Whole runs: one hand-loop run's time over the same window."""
    loop = _HandLoop(cfg)
    start = 0.0
    for done in range(1, cfg.train_cfg["max_iters"] + 1):
        loop.step()
        if done == warmup:
            start = time.perf_counter()
    end = time.perf_counter()
    loop.close()
    return end - start


def run_interleaved(
    cfg: Config, warmup: int, split_data: bool = False
) -> tuple[float, float, float, float]:
    """Interleaved: runner and hand-loop times over the window, then their data loading times.

    The runner's data loading is timed only with ``split_data``: it takes one more hook call
    per iteration (about 10 us in the loop, charged to the runner).
    """
    hand = _HandLoop(cfg)
    clock = _Interleave(hand, warmup)
    try:
        _train(cfg, *([_DataMark(clock)] if split_data else []), clock)
    finally:
        hand.close()
    expected = cfg.train_cfg["max_iters"] - warmup
    assert len(clock.runner_times) == len(clock.hand_times) == expected, "iteration count"
    return sum(clock.runner_times), sum(clock.hand_times), clock.runner_data, clock.hand_data


def run_breakdown(cfg: Config, warmup: int) -> _TimedRunner:
    """One interleaved run with every hook call of the timed iterations timed twice."""
    hand = _HandLoop(cfg)
    try:
        runner = _train(
            cfg, _Interleave(hand, warmup), runner_cls=_TimedRunner, timed_from=warmup + 1
        )
    finally:
        hand.close()
    return runner  # type: ignore[return-value]


def print_breakdown(runner: _TimedRunner) -> None:
    """Per hook call: median and mean of the first call, median of the repeated call (us)."""
    print("hook calls in the loop, us per iteration: first call (median, mean), called again")
    totals = [0.0, 0.0, 0.0]
    for name, times in runner.first.items():
        if name.split(": ")[1].startswith("_"):
            continue  # the benchmark's own hooks
        first = [statistics.median(times) * 1e6, statistics.mean(times) * 1e6]
        again = runner.again.get(name)
        # a hook that is not repeated counts with its first call in the total of the last column
        again_us = statistics.median(again) * 1e6 if again else first[0]
        for index, value in enumerate((*first, again_us)):
            totals[index] += value
        shown = f"{again_us:8.1f}" if again else "  (not repeated)"
        print(f"  {name:<40} {first[0]:8.1f} {first[1]:8.1f} {shown}")
    print(f"  {'all hooks':<40} {totals[0]:8.1f} {totals[1]:8.1f} {totals[2]:8.1f}")


def measure(
    name: str,
    workers: int,
    rounds: int,
    data_root: Path,
    device: str,
    warm_run: bool = True,
    method: str = "interleaved",
    split_data: bool = False,
    breakdown: bool = False,
) -> tuple[list, list]:
    _, batch, iters, warmup = CASES[name]
    runner_times: list[float] = []
    loop_times: list[float] = []
    data_times: list[tuple[float, float]] = []  # interleaved: (runner, hand loop) per round
    with tempfile.TemporaryDirectory() as tmp:
        cfg = case_config(name, data_root, Path(tmp) / "work", workers, iters + warmup, device)
        if warm_run:  # untimed: first-use costs (imports, caches, data generation)
            run_runner(cfg, warmup)
        for index in range(rounds):
            if method == "interleaved":
                ours, floor, ours_data, floor_data = run_interleaved(cfg, warmup, split_data)
                runner_times.append(ours)
                loop_times.append(floor)
                if split_data:
                    data_times.append((ours_data, floor_data))
                continue
            order = ("runner", "loop") if index % 2 == 0 else ("loop", "runner")
            for side in order:
                if side == "runner":
                    runner_times.append(run_runner(cfg, warmup))
                else:
                    loop_times.append(run_hand_loop(cfg, warmup))
        timed_runner = run_breakdown(cfg, warmup) if breakdown else None
    print(f"{name}, batch {batch}, num_workers {workers}, {method}: {iters} timed iterations")
    if timed_runner is not None:
        print_breakdown(timed_runner)
    per_iter = 1000 / iters
    print(summary("runner", [t * per_iter / 1000 for t in runner_times], unit="ms/iter"))
    print(summary("hand loop", [t * per_iter / 1000 for t in loop_times], unit="ms/iter"))
    if data_times:  # what is left once each side's own data loading is taken out
        ours_data = [d[0] * per_iter / 1000 for d in data_times]
        floor_data = [d[1] * per_iter / 1000 for d in data_times]
        print(summary("runner data", ours_data, unit="ms/iter"))
        print(summary("hand data", floor_data, unit="ms/iter"))
        print(
            ratio_line(
                f"runner / hand loop without data loading, {name}, workers {workers}",
                [t - d[0] for t, d in zip(runner_times, data_times, strict=True)],
                [t - d[1] for t, d in zip(loop_times, data_times, strict=True)],
            )
        )
    return runner_times, loop_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--workers", nargs="+", type=int, default=[0, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--iters", type=int, default=None, help="timed iterations, every model")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--method",
        choices=["interleaved", "runs"],
        default="interleaved",
        help="interleaved: one hand iteration after each runner iteration, in one run "
        "(default); runs: whole runs of each side, alternating",
    )
    parser.add_argument(
        "--split-data",
        action="store_true",
        help="interleaved: also time each side's data loading and print the ratio without it",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="one more (untimed) run that times each hook call in the loop, and again at once",
    )
    parser.add_argument(
        "--no-warm-run",
        action="store_true",
        help="skip the untimed first Runner run (for slow models; warm-up iterations remain)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.iters:
        for name, (path, batch, _, warmup) in list(CASES.items()):
            CASES[name] = (path, batch, args.iters, min(warmup, max(1, args.iters // 4)))
    print(machine_line())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(tmp) / "ade"
        if "pspnet" in args.models:
            write_fake_tree(data_root, count=8, size=(512, 683), num_classes=150)
        for name in args.models:
            for workers in args.workers:
                runner_times, loop_times = measure(
                    name,
                    workers,
                    args.rounds,
                    data_root,
                    args.device,
                    warm_run=not args.no_warm_run,
                    method=args.method,
                    split_data=args.split_data,
                    breakdown=args.breakdown,
                )
                line = ratio_line(
                    f"runner / hand loop, {name}, workers {workers}", runner_times, loop_times
                )
                print(line)
                results.append((name, workers, runner_times, loop_times, line))
    print()
    print("| model | num_workers | runner ms/iter | hand loop ms/iter | overhead (median) |")
    print("|---|---|---|---|---|")
    for name, workers, runner_times, loop_times, _ in results:
        iters = CASES[name][2]
        ours = statistics.median(runner_times) * 1000 / iters
        floor = statistics.median(loop_times) * 1000 / iters
        ratios = sorted(a / b for a, b in zip(runner_times, loop_times, strict=True))
        overhead = (statistics.median(ratios) - 1) * 100
        print(f"| {name} | {workers} | {ours:.2f} | {floor:.2f} | {overhead:+.1f} % |")
    print(results[-1][4])


if __name__ == "__main__":
    main()
