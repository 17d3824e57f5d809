"""Forward speed of each model family against MMSegmentation 1.2.2, same config, same weights.

For each family one shipped config (``segwright/configs/<family>/<name>.py``; MMSeg's copy of the
same file name is read from the reference venv's ``mmseg/.mim/configs``) is built twice, at full
size, on the CPU: by MMSeg in a worker process of the reference venv and by segwright in a worker
process of this venv. SyncBN becomes BN and every pretrained checkpoint (``pretrained``,
``init_cfg=dict(type='Pretrained')``) is dropped, so nothing is downloaded. MMSeg initialises its
model (``init_weights``, seed 0), its norm layers get non-trivial weights and statistics, and its
``state_dict`` is loaded into segwright's model (any missing or unexpected key but
``num_batches_tracked`` fails the family): both sides then do the same work.

What is timed: ``encode_decode(inputs, metas)`` (backbone, neck, decode head, logits resized to
the input) under ``no_grad`` in eval mode, on one 1x3xSxS input; with ``--train`` also one
training step (``model.loss`` on a batch of 2 with random labels, sum of the ``loss`` terms,
``backward``). Both workers stay alive for the whole run and use one thread
(``torch.set_num_threads(1)``); rounds alternate the sides (A B, B A, ...), each round runs the
same number of iterations on both sides, and a family's ratio is the median of its per-round
ratios (min and max shown). The logits of the two sides are compared once (max |a - b| over
max |MMSeg|).

The reference venv: ``$MMSEG_REFERENCE_VENV`` (or ``$MMSEG_REF_VENV``), default
``/tmp/mmseg-ref-venv``; built by ``bash ../shared/tools/mmseg-reference/setup.sh``.

MMSeg's ConvNeXt and PoolFormer configs use ``mmpretrain.`` backbones, and that venv has no
mmpretrain (mmpretrain imports torchvision, which the venv leaves out). For those two families
the MMSeg worker imports mmpretrain 1.2.0 from a folder beside the venv, ``$MMPRETRAIN_PATH``
(default ``/tmp/mmpre_target`` where it exists), appended to ``sys.path`` (the venv's own
packages come first), with a stand-in that answers every ``torchvision`` import with an empty
module (mmpretrain imports torchvision only in modules that its backbones do not use). The
folder, made without touching the venv (mmpretrain with ``--no-deps``, so no torch is pulled;
its three other imports pull no torch either), as for
``tests/models/fixtures/mmseg_hier/generate_with_mmseg.py``::

    /tmp/mmseg-ref-venv/bin/pip install --no-deps --target /tmp/mmpre_target mmpretrain==1.2.0
    /tmp/mmseg-ref-venv/bin/pip install --target /tmp/mmpre_target importlib_metadata einops \\
        model-index

The stand-in is put in place when the first of the two families is built and stays for the
families after it; MMSeg, MMCV, MMEngine and MMDet import torchvision only for MLU devices,
``RoIAlign(use_torchvision=True)`` and torchvision checkpoints, none of them used here.
Without the folder the two families fail on the MMSeg side. PIDNet's training step needs
``gt_edge_map``, which is not made here. A failing family is reported and skipped.

Usage: python benchmarks/zoo_speed_vs_mmseg.py [--families a,b,c] [--rounds N] [--size S]
           [--train] [--json out.json]
       python benchmarks/zoo_speed_vs_mmseg.py --list   (the families and configs; no venv needed)
The last line is the geometric mean over the measured families of their median ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine_line, require_reference_python  # noqa: I001

CONFIGS = ROOT / "segwright" / "configs"

# family -> the representative config (the smallest variant where a family ships several; the
# ADE20K 512x512 recipe where both datasets are shipped: only the number of classes differs)
FAMILIES = {
    "ann": "ann_r50-d8_4xb4-80k_ade20k-512x512.py",
    "apcnet": "apcnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "beit": "beit-base_upernet_8xb2-160k_ade20k-640x640.py",
    "bisenetv1": "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv2": "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
    "ccnet": "ccnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "cgnet": "cgnet_fcn_4xb8-60k_cityscapes-512x1024.py",
    "convnext": "convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py",
    "danet": "danet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "ddrnet": "ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py",
    "deeplabv3": "deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    "deeplabv3plus": "deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    "dmnet": "dmnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "dnlnet": "dnl_r50-d8_4xb4-80k_ade20k-512x512.py",
    "dpt": "dpt_vit-b16_8xb2-160k_ade20k-512x512.py",
    "emanet": "emanet_r50-d8_4xb2-80k_cityscapes-512x1024.py",
    "encnet": "encnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "erfnet": "erfnet_fcn_4xb4-160k_cityscapes-512x1024.py",
    "fastfcn": "fastfcn_r50-d32_jpu_enc_4xb4-80k_ade20k-512x512.py",
    "fastscnn": "fast_scnn_8xb4-160k_cityscapes-512x1024.py",
    "fcn": "fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    "gcnet": "gcnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "hrnet": "fcn_hr18s_4xb2-40k_cityscapes-512x1024.py",
    "icnet": "icnet_r18-d8_4xb2-80k_cityscapes-832x832.py",
    "isanet": "isanet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "knet": "knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py",
    "mae": "mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py",
    "mask2former": "mask2former_r50_8xb2-160k_ade20k-512x512.py",
    "maskformer": "maskformer_r50-d32_8xb2-160k_ade20k-512x512.py",
    "mobilenet_v2": "mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py",
    "mobilenet_v3": "mobilenet-v3-d8-scratch-s_lraspp_4xb4-320k_cityscapes-512x1024.py",
    "nonlocal_net": "nonlocal_r50-d8_4xb4-80k_ade20k-512x512.py",
    "ocrnet": "ocrnet_hr18_4xb4-80k_ade20k-512x512.py",
    "pidnet": "pidnet-s_2xb6-120k_1024x1024-cityscapes.py",
    "point_rend": "pointrend_r50_4xb4-160k_ade20k-512x512.py",
    "poolformer": "fpn_poolformer_s12_8xb4-40k_ade20k-512x512.py",
    "psanet": "psanet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "pspnet": "pspnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "resnest": "resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py",
    "segformer": "segformer_mit-b0_8xb2-160k_ade20k-512x512.py",
    "segmenter": "segmenter_vit-t_mask_8xb1-160k_ade20k-512x512.py",
    "segnext": "segnext_mscan-t_1xb16-adamw-160k_ade20k-512x512.py",
    "sem_fpn": "fpn_r50_4xb4-160k_ade20k-512x512.py",
    "setr": "setr_vit-l_naive_8xb2-160k_ade20k-512x512.py",
    "stdc": "stdc1_4xb12-80k_cityscapes-512x1024.py",
    "swin": "swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py",
    "twins": "twins_pcpvt-s_fpn_fpnhead_8xb4-80k_ade20k-512x512.py",
    "unet": "unet-s5-d16_fcn_4xb4-40k_drive-64x64.py",
    "upernet": "upernet_r50_4xb4-80k_ade20k-512x512.py",
    "vit": "vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py",
}

# Families whose smallest input is above --size: LR-ASPP pools its stride-8 map with a 49x49
# window (MobileNetV3's head), so 392 is the least; its config's crop, 512, is used.
SIZE_OVERRIDE: dict[str, int] = {"mobilenet_v3": 512}

# Keys of ``model`` set on both sides, by input size: BEiT's relative position tables and MAE's
# position embedding are sized by ``img_size`` and not interpolated at inference (MMSeg's
# BEiT and MAE refuse any other input size), so they are built for the benchmark's input
# instead of 640x640 / 512x512 (same layers, smaller tables).
MODEL_OVERRIDES = {
    "beit": lambda size: {"backbone.img_size": [size, size]},
    "mae": lambda size: {"backbone.img_size": [size, size]},
}

# Families whose MMSeg config imports ``mmpretrain.models`` (see the module docstring).
MMPRETRAIN_FAMILIES = {"convnext", "poolformer"}
DEFAULT_MMPRETRAIN = "/tmp/mmpre_target"

# One program for both workers: argv[1] is the side. Requests and answers are JSON lines; an
# answer line starts with MARK so that the libraries' own prints on stdout are skipped.
WORKER_BODY = r'''
import copy, importlib.abc, importlib.machinery, json, os, sys, time, traceback, types
import torch

SIDE = sys.argv[1]
MARK = "@@answer "
torch.set_num_threads(1)
torch.set_num_interop_threads(1)
if SIDE == "mmseg":
    from mmengine.config import Config, ConfigDict
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
else:
    from segwright.config import load_config
    from segwright.registry import MODELS, default_scope
    from segwright.structures.seg_data_sample import SegDataSample
    from segwright.structures.pixel_data import PixelData

STATE = {}
MMPRETRAIN = {}  # what enable_mmpretrain imported


class EmptyTorchvision(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Every ``torchvision...`` import gives an empty package whose attributes are dummy types."""

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] == "torchvision":
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda name: type(name, (), {})
        return module

    def exec_module(self, module):
        pass


def enable_mmpretrain(path):
    """mmpretrain from a folder beside the venv (appended: the venv's packages come first)."""
    if MMPRETRAIN:
        return
    if not path or not os.path.isdir(os.path.join(path, "mmpretrain")):
        raise RuntimeError(f"this config needs mmpretrain 1.2.0, which the reference venv lacks "
                           f"(no mmpretrain in MMPRETRAIN_PATH={path!r}): install it into a folder "
                           "and set MMPRETRAIN_PATH (see benchmarks/zoo_speed_vs_mmseg.py's "
                           "docstring)")
    sys.path.append(path)
    sys.meta_path.insert(0, EmptyTorchvision())
    import mmpretrain
    import mmpretrain.models  # registers mmpretrain.ConvNeXt, mmpretrain.PoolFormer
    MMPRETRAIN["mmpretrain"] = f"{mmpretrain.__version__} from {path}"


def clean(node):
    """SyncBN -> BN; no pretrained checkpoint anywhere (nothing is downloaded)."""
    if isinstance(node, dict):
        if node.get("type") in ("SyncBN", "mmseg.SyncBN", "mmdet.SyncBN"):
            node["type"] = "BN"
        if "pretrained" in node:
            node["pretrained"] = None
        init = node.get("init_cfg")
        if isinstance(init, dict) and "Pretrained" in str(init.get("type")):
            node["init_cfg"] = None
        for value in node.values():
            clean(value)
    elif isinstance(node, list):
        for value in node:
            clean(value)
    return node


def override(model_cfg, overrides):
    for dotted, value in overrides.items():
        *path, last = dotted.split(".")
        node = model_cfg
        for key in path:
            node = node[key]
        node[last] = value
    return model_cfg


def build(config, overrides, mmpretrain=None):
    if SIDE == "mmseg":
        if mmpretrain is not None:
            enable_mmpretrain(mmpretrain)
        cfg = Config.fromfile(config)
        model_cfg = override(clean(copy.deepcopy(cfg.model.to_dict())), overrides)
        model_cfg.pop("pretrained", None)
        return MODELS.build(ConfigDict(model_cfg))  # MMDet's parts read attributes
    cfg = load_config(config)
    model_cfg = override(clean(copy.deepcopy(cfg.model.to_dict())), overrides)
    model_cfg.pop("pretrained", None)
    with default_scope(cfg.get("default_scope")):
        return MODELS.build(model_cfg)


def perturb_norms(model):
    """Non-trivial norm weights and running statistics (init leaves them at 1 and 0)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._NormBase):
                if module.running_mean is not None:
                    module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=gen))
                    module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=gen))
            if isinstance(module, (torch.nn.modules.batchnorm._NormBase, torch.nn.GroupNorm, torch.nn.LayerNorm)):
                if getattr(module, "weight", None) is not None:
                    module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen))
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))


def metas(size, n):
    shape = (size, size)
    return [dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
            for _ in range(n)]


def num_classes(model):
    head = model.decode_head
    if isinstance(head, torch.nn.ModuleList):
        head = head[-1]
    return int(head.num_classes)


def forward_once():
    model, inputs, size = STATE["model"], STATE["inputs"], STATE["size"]
    with torch.no_grad():
        return model.encode_decode(inputs, metas(size, inputs.shape[0]))


def train_step():
    model = STATE["model"]
    model.zero_grad(set_to_none=True)
    losses = model.loss(STATE["train_inputs"], STATE["samples"])
    total = 0
    for key, value in losses.items():
        if "loss" in key:
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                total = total + item.mean()
    total.backward()


def do_build(req):
    STATE.clear()
    torch.manual_seed(0)
    start = time.perf_counter()
    model = build(req["config"], req.get("overrides") or {}, req.get("mmpretrain"))
    built = time.perf_counter() - start
    model.eval()
    if SIDE == "mmseg":
        model.init_weights()
        perturb_norms(model)
        torch.save(model.state_dict(), req["state"])
    else:
        state = torch.load(req["state"], map_location="cpu")
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise RuntimeError(f"state_dict mismatch: missing {missing[:8]} ({len(missing)}), "
                               f"unexpected {unexpected[:8]} ({len(unexpected)})")
    STATE.update(model=model, size=req["size"], inputs=torch.load(req["input"]))
    torch.manual_seed(3)  # the same random draws in the forward (SegNeXt's NMF bases)
    start = time.perf_counter()
    logits = forward_once()
    first = time.perf_counter() - start
    answer = dict(build_s=built, first_s=first, logits_shape=list(logits.shape),
                  params=sum(p.numel() for p in model.parameters()))
    if "mmpretrain" in req:
        answer.update(MMPRETRAIN)
    if SIDE == "mmseg":
        torch.save(logits, req["logits"])
    else:
        ref = torch.load(req["logits"])
        if ref.shape != logits.shape:
            raise RuntimeError(f"logits shape {list(logits.shape)} != MMSeg's {list(ref.shape)}")
        scale = ref.abs().max().clamp_min(1e-30)
        answer["rel_diff"] = float((logits - ref).abs().max() / scale)
    return answer


def do_prepare_train(req):
    model, size = STATE["model"], STATE["size"]
    gen = torch.Generator().manual_seed(2)
    inputs = torch.randn(2, 3, size, size, generator=gen)
    labels = torch.randint(0, num_classes(model), (2, 1, size, size), generator=gen)
    samples = []
    for i, meta in enumerate(metas(size, 2)):
        sample = SegDataSample()
        sample.set_metainfo(meta)
        sample.gt_sem_seg = PixelData(data=labels[i])
        samples.append(sample)
    STATE.update(train_inputs=inputs, samples=samples)
    model.train()
    start = time.perf_counter()
    train_step()
    return dict(first_s=time.perf_counter() - start)


def do_time(req):
    STATE["model"].train(bool(req.get("train")))
    step = train_step if req.get("train") else forward_once
    times = []
    for _ in range(req["iters"]):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return dict(times=times)


def do_profile(req):
    from torch.profiler import ProfilerActivity, profile
    STATE["model"].train(bool(req.get("train")))
    step = train_step if req.get("train") else forward_once
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(req["iters"]):
            step()
    return dict(table=prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=req.get("rows", 12)))


HANDLERS = dict(build=do_build, prepare_train=do_prepare_train, time=do_time, profile=do_profile)
'''

# A worker's request loop: one JSON request per stdin line, one answer per line; the program
# before it defines SIDE, MARK and HANDLERS (host_reads_by_family.py reuses it).
SERVE_LOOP = r"""
print(MARK + json.dumps(dict(ok=True, ready=SIDE)), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        answer = dict(ok=True, **HANDLERS[req["cmd"]](req))
    except Exception as exc:  # the family fails, the worker stays
        answer = dict(ok=False, error=f"{type(exc).__name__}: {exc}"[:1500],
                      trace=traceback.format_exc()[-3000:])
    print(MARK + json.dumps(answer), flush=True)
"""
WORKER = WORKER_BODY + SERVE_LOOP


class WorkerError(RuntimeError):
    """A worker died, timed out, or answered with an error."""


class Worker:
    """One long-lived worker process (a side); requests and answers are JSON lines."""

    def __init__(
        self, side: str, python: str, workdir: Path, env: dict[str, str], program: str = WORKER
    ) -> None:
        self.side, self.python, self.workdir, self.env = side, python, workdir, env
        self.program = program
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        script = self.workdir / f"worker_{self.side}.py"
        script.write_text(self.program)
        self.log = open(self.workdir / f"{self.side}.stderr", "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [self.python, str(script), self.side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
            env=self.env,
            bufsize=1,
        )
        self._read(600)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def ask(self, timeout: float, **request) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = self._read(timeout)
        if not answer.get("ok"):
            raise WorkerError(f"{self.side}: {answer.get('error')}")
        return answer

    def _read(self, timeout: float) -> dict:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.stop()
                    raise WorkerError(f"{self.side}: no answer within {timeout:.0f} s (killed)")
                line = self.proc.stdout.readline()
                if not line:
                    self.stop()
                    raise WorkerError(f"{self.side}: worker exited (see {self.log.name})")
                if line.startswith("@@answer "):
                    return json.loads(line[len("@@answer ") :])


def mmseg_config_tree(python: Path) -> Path:
    found = sorted(python.parent.parent.glob("lib/python3*/site-packages/mmseg/.mim/configs"))
    if not found:
        raise SystemExit(f"no mmseg/.mim/configs under {python.parent.parent}: rebuild the venv")
    return found[0]


def mmpretrain_path() -> str:
    """``$MMPRETRAIN_PATH``, else the default folder where it exists, else '' (none)."""
    path = os.environ.get("MMPRETRAIN_PATH") or ""
    if not path and Path(DEFAULT_MMPRETRAIN, "mmpretrain").is_dir():
        path = DEFAULT_MMPRETRAIN
    return path


def worker_env(with_segwright: bool) -> dict[str, str]:
    """One thread; segwright importable only in our side's worker."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    env.update(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    if with_segwright:
        env["PYTHONPATH"] = str(ROOT)
    else:
        env.pop("PYTHONPATH", None)
    return env


def paired(ours: list[float], reference: list[float]) -> tuple[float, float, float]:
    ratios = sorted(a / b for a, b in zip(ours, reference, strict=True))
    return statistics.median(ratios), ratios[0], ratios[-1]


def measure(
    family: str, sw: Worker, mm: Worker, tree: Path, work: Path, args: argparse.Namespace
) -> dict:
    """Build, compare logits, and time one family; a dict for the table and the JSON file."""
    import torch

    name = FAMILIES[family]
    size = SIZE_OVERRIDE.get(family, args.size)
    overrides = MODEL_OVERRIDES[family](size) if family in MODEL_OVERRIDES else {}
    row: dict = dict(family=family, config=name, input=f"1x3x{size}x{size}")
    if overrides:
        row["overrides"] = overrides
    ours, theirs = CONFIGS / family / name, tree / family / name
    for path in (ours, theirs):
        if not path.exists():
            raise WorkerError(f"config not found: {path}")
    inputs = work / "input.pt"
    torch.save(torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)), inputs)
    files = dict(state=str(work / "state.pt"), logits=str(work / "logits.pt"), input=str(inputs))
    files.update(overrides=overrides)
    extra = {"mmpretrain": mmpretrain_path()} if family in MMPRETRAIN_FAMILIES else {}
    built_mm = mm.ask(args.timeout, cmd="build", config=str(theirs), size=size, **files, **extra)
    built_sw = sw.ask(args.timeout, cmd="build", config=str(ours), size=size, **files)
    row.update(rel_diff=built_sw["rel_diff"], params=built_mm["params"])
    if "mmpretrain" in built_mm:
        row["mmpretrain"] = built_mm["mmpretrain"]
    first = max(built_sw["first_s"], built_mm["first_s"])
    iters = max(1, min(args.max_iters, round(args.round_seconds / max(first, 1e-4))))
    row["iters_per_round"] = iters
    modes = ["eval"] + (["train"] if args.train else [])
    for mode in modes:
        if mode == "train":
            try:
                a = sw.ask(args.timeout, cmd="prepare_train")["first_s"]
                b = mm.ask(args.timeout, cmd="prepare_train")["first_s"]
            except WorkerError as exc:  # the eval figures stand without it
                row["train_error"] = str(exc)[:400]
                break
            iters = max(1, min(args.max_iters, round(args.round_seconds / max(a, b, 1e-4))))
        else:  # one warm-up iteration each
            sw.ask(args.timeout, cmd="time", iters=1)
            mm.ask(args.timeout, cmd="time", iters=1)
        times: dict[str, list[float]] = {"segwright": [], "mmseg": []}
        for r in range(args.rounds):
            order = (sw, mm) if r % 2 == 0 else (mm, sw)
            for worker in order:
                got = worker.ask(args.timeout, cmd="time", iters=iters, train=mode == "train")
                times[worker.side].append(statistics.median(got["times"]))
        med, lo, hi = paired(times["segwright"], times["mmseg"])
        row[mode] = dict(
            iters=iters,
            segwright_ms=1000 * statistics.median(times["segwright"]),
            mmseg_ms=1000 * statistics.median(times["mmseg"]),
            ratio=med,
            ratio_min=lo,
            ratio_max=hi,
            segwright_rounds_ms=[1000 * t for t in times["segwright"]],
            mmseg_rounds_ms=[1000 * t for t in times["mmseg"]],
        )
    if family in args.profile:
        for mode in modes if "train" in row else ["eval"]:
            n = max(1, row[mode]["iters"] // 2)
            for worker in (sw, mm):  # MMSeg's table too, to see which op differs
                answer = worker.ask(
                    args.timeout, cmd="profile", iters=n, train=mode == "train", rows=16
                )
                key = "profile" if mode == "eval" else "profile_train"
                row[f"{key}_{worker.side}"] = answer["table"]
    return row


def line_for(row: dict, mode: str = "eval") -> str:
    m = row[mode]
    return (
        f"{row['family']:<14} {row['config']:<66} {row['input']:<11} {mode:<5} "
        f"segwright {m['segwright_ms']:9.1f} ms  MMSeg {m['mmseg_ms']:9.1f} ms  "
        f"ratio {m['ratio']:.3f} ({m['ratio_min']:.3f}-{m['ratio_max']:.3f})  "
        f"max rel. logit diff {row['rel_diff']:.1e}"
        + "".join(f"  [model.{k}={v}]" for k, v in row.get("overrides", {}).items())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated")
    parser.add_argument("--rounds", type=int, default=8, help="alternated rounds per family")
    parser.add_argument("--size", type=int, default=128, help="input is 1x3xSIZExSIZE")
    parser.add_argument("--train", action="store_true", help="also time a training step")
    parser.add_argument("--json", help="write every row (per-round times too) to this file")
    parser.add_argument(
        "--round-seconds", type=float, default=0.4, help="target time of a round, per side"
    )
    parser.add_argument("--max-iters", type=int, default=10, help="most iterations per round")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per worker request")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated families to profile on both sides (with --train, the step too)",
    )
    parser.add_argument("--list", action="store_true", help="print families and configs, exit")
    args = parser.parse_args()
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    args.profile = {f.strip() for f in args.profile.split(",") if f.strip()}
    if args.rounds < 1 or args.size < 32:
        parser.error("--rounds must be >= 1 and --size >= 32")
    if args.list:
        missing = [f for f in families if not (CONFIGS / f / FAMILIES[f]).exists()]
        for family in families:
            print(f"{family:<14} segwright/configs/{family}/{FAMILIES[family]}")
        if missing:
            raise SystemExit(f"shipped config missing for {missing}")
        print(f"{len(families)} families, every config shipped")
        return

    reference = require_reference_python("--list needs no venv")
    tree = mmseg_config_tree(reference)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the workers are stopped too
    import torch

    torch.set_num_threads(1)
    print(machine_line())
    print(f"both sides: CPU, torch.set_num_threads(1), eval, no_grad; reference {reference}")
    print(f"rounds {args.rounds} alternated per family; load average {os.getloadavg()}")
    rows, failures = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sw = Worker("segwright", sys.executable, work, worker_env(True))
        mm = Worker("mmseg", str(reference), work, worker_env(False))
        try:
            for family in families:
                start = time.perf_counter()
                try:
                    row = measure(family, sw, mm, tree, work, args)
                except WorkerError as exc:
                    failures[family] = str(exc)
                    print(f"{family:<14} FAILED: {str(exc).splitlines()[0][:300]}", flush=True)
                    continue
                row["wall_s"] = time.perf_counter() - start
                rows.append(row)
                for mode in ("eval", "train"):
                    if mode in row:
                        print(line_for(row, mode), flush=True)
                if "mmpretrain" in row:
                    print(f"{family:<14} MMSeg side: mmpretrain {row['mmpretrain']}", flush=True)
                if "train_error" in row:
                    print(f"{family:<14} train step FAILED: {row['train_error']}", flush=True)
                for key, mode in (("profile", "eval forward"), ("profile_train", "train step")):
                    for side in ("segwright", "mmseg"):
                        if f"{key}_{side}" in row:
                            print(f"{family}: torch.profiler, {mode}, {side} side", flush=True)
                            print(row[f"{key}_{side}"], flush=True)
                if args.json:
                    Path(args.json).write_text(
                        json.dumps(dict(rows=rows, failures=failures), indent=1)
                    )
        finally:
            sw.stop()
            mm.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(dict(rows=rows, failures=failures), indent=1))
    print(f"load average at the end {os.getloadavg()}; failed: {sorted(failures) or 'none'}")
    if args.train and any("train" in r for r in rows):
        train = [r["train"]["ratio"] for r in rows if "train" in r]
        geo = math.exp(statistics.fmean(math.log(x) for x in train))
        print(
            f"geometric-mean ratio (segwright / MMSeg train step, {len(train)} families): {geo:.3f}"
        )
    if not rows:
        raise SystemExit("no family measured")
    ratios = [r["eval"]["ratio"] for r in rows]
    geo = math.exp(statistics.fmean(math.log(x) for x in ratios))
    print(
        f"geometric-mean ratio (segwright / MMSeg eval forward, {len(ratios)} families): "
        f"{geo:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})"
    )


if __name__ == "__main__":
    main()
