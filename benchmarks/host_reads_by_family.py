"""Host reads (device syncs on CUDA) per training step, family by family, segwright and MMSeg.

On CUDA every read of a tensor's value on the host (``.item()``, ``float()``, ``.tolist()``,
``nonzero``, boolean-mask indexing, a tensor made from Python numbers, ...) waits for every
kernel queued before it. A CPU run cannot show the wait but can count the calls:
``segwright/testing/host_reads.py``'s ``HostReads`` (a ``TorchFunctionMode``) sees each one.

For each family of ``benchmarks/zoo_speed_vs_mmseg.py`` (its ``FAMILIES`` table and the shipped
config it names; SyncBN -> BN, no pretrained checkpoint, as there) the model is built in train
mode on each side, the data preprocessor pads to the benchmark's input (``--size``, default 64;
``SIZE_OVERRIDE`` where a family needs more), and three training steps run through the side's
own ``model.train_step(data, optim_wrapper)`` with an ``OptimWrapper`` around SGD, on a batch
of 2 random images with random labels in ``[0, num_classes)`` (PIDNet also gets the
``gt_edge_map`` its loss reads: the label boundaries). Steps 2 and 3 are counted (step 1 sets
things up) with ``HostReads(optimizer)``, the data preprocessor, the loss parsing and the
optimizer step included.

MMSeg's log values: MMEngine 0.10.7's ``parse_losses`` leaves them tensors; its runner reads
each one with ``.item()`` after every step, in ``RuntimeInfoHook.after_train_iter``
(``MessageHub.update_scalar``). The MMSeg worker does the same after each counted step and
counts those reads apart, shown as ``(+N)``. segwright's loop reads its log values only at log
lines (``tests/engine/test_sync_free_iterations.py``), so its side has no such term.

Both sides run in worker processes made of ``zoo_speed_vs_mmseg.py``'s worker program (its
``build``/``clean``/``override`` helpers, the mmpretrain folder for ConvNeXt and PoolFormer)
plus a ``count`` request defined here; the MMSeg worker loads ``host_reads.py`` by file path
(it imports only torch). One thread per worker (``torch.set_num_threads(1)``): it is a count.

The reference venv: ``$MMSEG_REFERENCE_VENV`` (or ``$MMSEG_REF_VENV``), default
``/tmp/mmseg-ref-venv``; built by ``bash ../shared/tools/mmseg-reference/setup.sh``.
``--segwright-only`` needs no venv.

Usage: python benchmarks/host_reads_by_family.py [--families a,b] [--size S] [--segwright-only]
           [--sites N] [--json out.json]
The last line is the summary: the families with 0 reads per step, and the total reads per step
of each side.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from common import ROOT, machine_line, require_reference_python  # noqa: I001
from zoo_speed_vs_mmseg import (
    CONFIGS,
    FAMILIES,
    MMPRETRAIN_FAMILIES,
    MODEL_OVERRIDES,
    SERVE_LOOP,
    SIZE_OVERRIDE,
    WORKER_BODY,
    Worker,
    WorkerError,
    mmpretrain_path,
    mmseg_config_tree,
    worker_env,
)

HOST_READS = ROOT / "segwright" / "testing" / "host_reads.py"
COUNTED_STEPS = (2, 3)

# The zoo worker's definitions (imports per side, build with clean/override, metas,
# num_classes) without its request loop, then the count request and a loop of our own.
COUNT = r'''
import copy as _copy
import importlib.util as _ilu


def load_host_reads(path):
    """``HostReads`` from its file (segwright is not importable in the reference venv), with
    each read put at the first frame outside torch: ``torch.unique`` and friends are Python
    functions of torch, which would otherwise name ``torch/overrides.py`` as the site."""
    spec = _ilu.spec_from_file_location("_host_reads", path)
    module = _ilu.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch_dir = os.path.dirname(torch.__file__) + os.sep

    class HostReads(module.HostReads):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            # _exempt looks 3 frames up, as from the base class's method: same depth here
            kwargs = kwargs or {}
            if self._is_read(func, args, kwargs) and not self._exempt(args[0] if args else None):
                caller = sys._getframe(1)
                while caller.f_back is not None and caller.f_code.co_filename.startswith(torch_dir):
                    caller = caller.f_back
                name = getattr(func, "__name__", str(func))
                self.where[f"{name} {caller.f_code.co_filename}:{caller.f_lineno}"] += 1
            return func(*args, **kwargs)

    return HostReads


def edge_map(labels):
    """1 where a pixel's label differs from its right or lower neighbour (PIDNet's boundary)."""
    edge = torch.zeros_like(labels, dtype=torch.uint8)
    edge[..., :, :-1] |= (labels[..., :, 1:] != labels[..., :, :-1]).to(torch.uint8)
    edge[..., :-1, :] |= (labels[..., 1:, :] != labels[..., :-1, :]).to(torch.uint8)
    return edge


def batch(model, size, needs_edge):
    gen = torch.Generator().manual_seed(2)
    images = [torch.rand(3, size, size, generator=gen) * 255 for _ in range(2)]
    samples = []
    for meta in metas(size, 2):
        labels = torch.randint(0, num_classes(model), (1, size, size), generator=gen)
        sample = SegDataSample()
        sample.set_metainfo(meta)
        sample.gt_sem_seg = PixelData(data=labels)
        if needs_edge:
            sample.gt_edge_map = PixelData(data=edge_map(labels))
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def optim_wrapper(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    if SIDE == "mmseg":
        from mmengine.optim import OptimWrapper
    else:
        from segwright.engine.optim.wrapper import OptimWrapper
    return OptimWrapper(optimizer=optimizer)


def do_count(req):
    HostReads = load_host_reads(req["host_reads"])
    torch.manual_seed(0)
    model = build(req["config"], req.get("overrides") or {}, req.get("mmpretrain"))
    if SIDE == "mmseg" and hasattr(model, "init_weights"):
        model.init_weights()
    if getattr(model.data_preprocessor, "size", None) is not None:  # the crop, e.g. 512x1024
        model.data_preprocessor.size = (req["size"], req["size"])
    model.train()
    wrapper = optim_wrapper(model)
    data = batch(model, req["size"], req.get("edge", False))
    per_step, sites, hook_per_step = [], {}, []
    torch.manual_seed(3)
    for step in range(1, req["steps"] + 1):
        step_data = _copy.deepcopy(data)
        if step not in req["counted"]:
            model.train_step(step_data, wrapper)
            continue
        reads = HostReads(wrapper.optimizer)
        with reads:
            log_vars = model.train_step(step_data, wrapper)
        per_step.append(sum(reads.where.values()))
        for where, n in reads.where.items():
            sites[where] = sites.get(where, 0) + n
        if SIDE == "mmseg":  # what MMEngine's RuntimeInfoHook.after_train_iter does next
            hook = HostReads(wrapper.optimizer)
            with hook:
                for key, value in log_vars.items():
                    runtime_info_hub().update_scalar(f"train/{key}", value)
            hook_per_step.append(sum(hook.where.values()))
    loss = log_vars.get("loss")
    return dict(per_step=per_step, sites=sites, hook_per_step=hook_per_step,
                loss=float(loss) if loss is not None else None)


def runtime_info_hub():
    from mmengine.logging import MessageHub
    return MessageHub.get_instance("host_reads_by_family")


HANDLERS = dict(count=do_count)
'''
PROGRAM = WORKER_BODY + "\n" + COUNT + SERVE_LOOP


@cache
def _functions(path: str) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function in a source file."""
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError, ValueError):
        return []
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((child.lineno, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def describe(where: str) -> str:
    """``'item /x/site-packages/mmseg/a.py:12'`` -> ``'item mmseg/a.py:12 (Class.method)'``."""
    call, _, place = where.partition(" ")
    path, _, line = place.rpartition(":")
    inner = [f for f in _functions(path) if line.isdigit() and f[0] <= int(line) <= f[1]]
    function = max(inner, key=lambda f: f[0])[2] if inner else "<module>"
    short = path
    for root in (str(ROOT) + "/", "site-packages/"):
        if root in short:
            short = short.split(root, 1)[1]
            break
    return f"{call} {short}:{line} ({function})"


def top_sites(sites: dict[str, int], steps: int, limit: int) -> list[str]:
    """The most frequent sites, as 'reads-per-step x call file:line (function)'."""
    ordered = sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))
    out = []
    for where, n in ordered[:limit]:
        per = n / steps
        out.append(f"{per:g}x {describe(where)}")
    if len(ordered) > limit:
        out.append(f"... {len(ordered) - limit} more sites")
    return out


def count_family(
    family: str, workers: dict[str, Worker], trees: dict[str, Path], args: argparse.Namespace
) -> dict:
    """One family's counts on each side (an 'error' entry for a side that failed)."""
    size = SIZE_OVERRIDE.get(family, args.size)
    overrides = MODEL_OVERRIDES[family](size) if family in MODEL_OVERRIDES else {}
    row: dict = dict(family=family, config=FAMILIES[family], size=size)

    def ask(side: str) -> dict:
        config = trees[side] / family / FAMILIES[family]
        if not config.exists():
            return dict(error=f"config not found: {config}")
        extra = {"mmpretrain": mmpretrain_path()} if side == "mmseg" else {}
        if family not in MMPRETRAIN_FAMILIES:
            extra = {}
        try:
            return workers[side].ask(
                args.timeout, cmd="count", config=str(config), size=size, overrides=overrides,
                host_reads=str(HOST_READS), steps=max(COUNTED_STEPS), counted=COUNTED_STEPS,
                edge=family == "pidnet", **extra,
            )  # fmt: skip
        except WorkerError as exc:
            return dict(error=str(exc).splitlines()[0][:300])

    with ThreadPoolExecutor(len(workers)) as pool:  # the sides run side by side
        answers = dict(zip(workers, pool.map(ask, list(workers)), strict=True))
    row.update(answers)
    return row


def reads_cell(answer: dict | None) -> str:
    """Reads per counted step ('8', or '8/9' when the steps differ); MMSeg's with '(+N)': the
    log values its RuntimeInfoHook reads with ``.item()`` after each step."""
    if answer is None:
        return "-"
    if "error" in answer:
        return "failed"
    steps = answer["per_step"]
    cell = str(steps[0]) if len(set(steps)) == 1 else "/".join(map(str, steps))
    hook = answer.get("hook_per_step")
    if hook:
        cell += f" (+{hook[0]})" if len(set(hook)) == 1 else f" (+{'/'.join(map(str, hook))})"
    return cell


def mean_reads(answer: dict | None) -> float | None:
    if answer is None or "error" in answer:
        return None
    return sum(answer["per_step"]) / len(answer["per_step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--size", type=int, default=64, help="input is 2x3xSIZExSIZE")
    parser.add_argument("--segwright-only", action="store_true", help="no MMSeg side (no venv)")
    parser.add_argument("--sites", type=int, default=3, help="sites shown per family and side")
    parser.add_argument("--json", help="write every row (all sites) to this file")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per worker request")
    args = parser.parse_args()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    if args.size < 32:
        parser.error("--size must be >= 32")

    trees = {"segwright": CONFIGS}
    reference = None
    if not args.segwright_only:
        reference = require_reference_python("--segwright-only needs none")
        trees["mmseg"] = mmseg_config_tree(reference)

    print(machine_line())
    sides = "segwright" + ("" if reference is None else f" and MMSeg ({reference})")
    print(
        f"{sides}: CPU, one thread per worker, train mode, batch 2, SGD in an OptimWrapper; "
        f"host reads counted with HostReads over train_step {COUNTED_STEPS[0]} and "
        f"{COUNTED_STEPS[-1]}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        workers = {
            "segwright": Worker("segwright", sys.executable, work, worker_env(True), PROGRAM)
        }
        if reference is not None:
            workers["mmseg"] = Worker("mmseg", str(reference), work, worker_env(False), PROGRAM)
        try:
            for family in families:
                row = count_family(family, workers, trees, args)
                rows.append(row)
                for side in workers:
                    answer = row[side]
                    if "error" in answer:
                        print(f"{family}: {side} FAILED: {answer['error']}", flush=True)
                        continue
                    hook = answer.get("hook_per_step")
                    after = f" (+{hook} log values read by RuntimeInfoHook)" if hook else ""
                    print(
                        f"{family}: {side} reads per step {answer['per_step']}{after}", flush=True
                    )
                    for site in top_sites(answer["sites"], len(COUNTED_STEPS), args.sites):
                        print(f"    {site}", flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(rows, indent=1))
        finally:
            for worker in workers.values():
                worker.stop()

    print()
    if reference is not None:
        print(
            "MMSeg reads/step: in train_step, then (+N) the log values that MMEngine's "
            "RuntimeInfoHook.after_train_iter reads with .item() after every step"
        )
    print("| family | segwright reads/step | MMSeg reads/step | segwright's sites |")
    print("|---|---|---|---|")
    for row in rows:
        ours = row["segwright"]
        sites = "; ".join(top_sites(ours.get("sites", {}), len(COUNTED_STEPS), args.sites))
        if "error" in ours:
            sites = ours["error"][:160]
        size = f" ({row['size']}x{row['size']})" if row["size"] != args.size else ""
        print(
            f"| {row['family']}{size} | {reads_cell(ours)} | {reads_cell(row.get('mmseg'))} "
            f"| {sites or '-'} |"
        )
    summary = []
    for side in ("segwright", "mmseg"):
        if side not in rows[0]:
            continue
        means = {r["family"]: mean_reads(r[side]) for r in rows}
        counted = {f: m for f, m in means.items() if m is not None}
        zero = sorted(f for f, m in counted.items() if m == 0)
        failed = sorted(f for f, m in means.items() if m is None)
        hooks = [r[side]["hook_per_step"] for r in rows if r[side].get("hook_per_step")]
        hook_total = sum(sum(h) / len(h) for h in hooks)
        summary.append(
            f"{side}: {len(zero)}/{len(counted)} families with 0 reads"
            + (f" ({', '.join(zero)})" if zero and len(zero) <= 12 else "")
            + f", {sum(counted.values()):g} reads per step in total"
            + (f" (+{hook_total:g} in RuntimeInfoHook)" if hooks else "")
            + (f", failed: {', '.join(failed)}" if failed else "")
        )
    print("summary: " + "; ".join(summary))


if __name__ == "__main__":
    main()
