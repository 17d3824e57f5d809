"""Check that segwright's models load MMSegmentation 1.x state dicts as they are and agree.

A developer tool, not a test: the two sides live in different virtual environments, so it
runs in two steps that meet through files of plain tensors.

1. ``export`` (in a venv with ``mmsegmentation==1.2.2``, ``mmengine`` and ``mmcv-lite``):
   for each model dict below, build the MMSeg model, initialise it with a fixed seed, give
   its norm layers non-trivial affine weights and calibrated running statistics (so that a
   wrongly wired or skipped layer shows in the numbers), then save ``{state_dict, input,
   logits, ...}`` to ``<out>/<name>.pth``. It also writes two whole training checkpoints,
   one as MMEngine's runner saves them and one in the MMCV 1.x (MMSeg 0.x) layout.
2. ``compare`` (in segwright's venv): build our model from the same dict, load the exported
   state dict with :func:`segwright.engine.checkpoint.load_state_dict`, run the same
   forward passes and print one row per model; then read the two training checkpoints with
   :func:`segwright.engine.checkpoint.read_checkpoint` and say what happened.

Usage::

    /tmp/mmseg_venv/bin/python benchmarks/mmseg_parity.py export [--out /tmp/parity]
    .venv/bin/python benchmarks/mmseg_parity.py compare [--out /tmp/parity]

Both take ``--only NAME [NAME ...]``. A model passes when no key is missing, unexpected or
mismatched and every compared output agrees within ``--atol`` (default 1e-4).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

import torch

SEED = 0
INPUT_SHAPE = (1, 3, 128, 128)
CALIBRATION_BATCHES = 3

# --------------------------------------------------------------------------------------------
# Model dicts (MMSeg 1.x form, BN instead of SyncBN, 19 classes, no pretrained weights)
# --------------------------------------------------------------------------------------------

NORM = dict(type="BN", requires_grad=True)
PREPROCESSOR = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(128, 128),
)


def _ce(weight: float) -> dict[str, Any]:
    return dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=weight)


def _resnet(
    depth: int = 50, d8: bool = True, kind: str = "ResNetV1c", **extra: Any
) -> dict[str, Any]:
    return dict(
        type=kind,
        depth=depth,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4) if d8 else (1, 1, 1, 1),
        strides=(1, 2, 1, 1) if d8 else (1, 2, 2, 2),
        norm_cfg=NORM,
        norm_eval=False,
        style="pytorch",
        contract_dilation=True,
        **extra,
    )


def _fcn_aux(in_channels: int = 1024, channels: int = 256, in_index: int = 2) -> dict[str, Any]:
    return dict(
        type="FCNHead",
        in_channels=in_channels,
        in_index=in_index,
        channels=channels,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=NORM,
        align_corners=False,
        loss_decode=_ce(0.4),
    )


def _segmentor(
    backbone: dict[str, Any],
    decode_head: dict[str, Any],
    auxiliary_head: dict[str, Any] | None = None,
    test_cfg: dict[str, Any] | None = None,
) -> dict[str, Any]:
    head = dict(
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=NORM,
        align_corners=False,
        loss_decode=_ce(1.0),
    )
    head.update(decode_head)
    cfg = dict(
        type="EncoderDecoder",
        data_preprocessor=PREPROCESSOR,
        pretrained=None,
        backbone=backbone,
        decode_head=head,
        train_cfg=dict(),
        test_cfg=test_cfg or dict(mode="whole"),
    )
    if auxiliary_head is not None:
        cfg["auxiliary_head"] = auxiliary_head
    return cfg


def model_configs() -> dict[str, dict[str, Any]]:
    """Name -> model dict; a fresh deep copy on every call."""
    fcn = dict(type="FCNHead", in_channels=2048, in_index=3, channels=512, num_convs=2)
    fcn["concat_input"] = True
    psp = dict(type="PSPHead", in_channels=2048, in_index=3, channels=512)
    psp["pool_scales"] = (1, 2, 3, 6)
    aspp = dict(type="ASPPHead", in_channels=2048, in_index=3, channels=512)
    aspp["dilations"] = (1, 12, 24, 36)
    sep = dict(
        type="DepthwiseSeparableASPPHead",
        in_channels=2048,
        in_index=3,
        channels=512,
        dilations=(1, 12, 24, 36),
        c1_in_channels=256,
        c1_channels=48,
    )
    uper = dict(
        type="UPerHead",
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
    )
    unet = dict(
        type="UNet",
        in_channels=3,
        base_channels=64,
        num_stages=5,
        strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2),
        dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True),
        enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1),
        with_cp=False,
        conv_cfg=None,
        norm_cfg=NORM,
        act_cfg=dict(type="ReLU"),
        upsample_cfg=dict(type="InterpConv"),
        norm_eval=False,
    )
    mit = dict(
        type="MixVisionTransformer",
        in_channels=3,
        embed_dims=32,
        num_stages=4,
        num_layers=[2, 2, 2, 2],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
    )
    segformer = dict(
        type="SegformerHead", in_channels=[32, 64, 160, 256], in_index=[0, 1, 2, 3], channels=256
    )
    mobilenet = dict(
        type="MobileNetV2",
        widen_factor=1.0,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=NORM,
    )
    fcn18 = dict(type="FCNHead", in_channels=512, in_index=3, channels=128, num_convs=2)
    fcn18["concat_input"] = True
    configs: dict[str, dict[str, Any]] = {
        "fcn_r50-d8": _segmentor(_resnet(), fcn, _fcn_aux()),
        "pspnet_r50-d8": _segmentor(_resnet(), psp, _fcn_aux()),
        "deeplabv3_r50-d8": _segmentor(_resnet(), aspp, _fcn_aux()),
        "deeplabv3plus_r50-d8": _segmentor(_resnet(), sep, _fcn_aux()),
        "upernet_r50": _segmentor(_resnet(d8=False), uper, _fcn_aux()),
        "fcn_unet_s5-d16": _segmentor(
            unet,
            dict(type="FCNHead", in_channels=64, in_index=4, channels=64, num_convs=1)
            | dict(concat_input=False),
            _fcn_aux(in_channels=128, channels=64, in_index=3),
            test_cfg=dict(mode="slide", crop_size=(256, 256), stride=(170, 170)),
        ),
        "segformer_mit-b0": _segmentor(mit, segformer),
        "mobilenet-v2-d8_deeplabv3plus": _segmentor(
            mobilenet,
            dict(sep, in_channels=320, c1_in_channels=24),
            _fcn_aux(in_channels=96),
        ),
        # Extras beyond the brief: BasicBlock ResNet and the avg-down (V1d) shortcut.
        "fcn_r18-d8": _segmentor(_resnet(depth=18), fcn18, _fcn_aux(256, 64)),
        "pspnet_r50-d8_v1d": _segmentor(_resnet(kind="ResNetV1d"), psp, _fcn_aux()),
    }
    return copy.deepcopy(configs)


#: Standalone modules: name -> (config, input shapes).
FPN_INPUTS = [(1, 256, 32, 32), (1, 512, 16, 16), (1, 1024, 8, 8), (1, 2048, 4, 4)]


def module_configs() -> dict[str, tuple[dict[str, Any], list[tuple[int, ...]]]]:
    fpn = dict(type="FPN", in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=4)
    fpn5 = dict(fpn, num_outs=5, add_extra_convs="on_input")
    return copy.deepcopy({"fpn_neck": (fpn, FPN_INPUTS), "fpn_neck_extra": (fpn5, FPN_INPUTS)})


def _metas(x: torch.Tensor) -> list[dict[str, Any]]:
    shape = tuple(int(s) for s in x.shape[2:])
    return [
        dict(img_shape=shape, ori_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
        for _ in range(x.shape[0])
    ]


def _preprocessor_batch() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Two uint8 BGR images of different sizes and their label maps (pads to 128x128)."""
    gen = torch.Generator().manual_seed(SEED + 7)
    sizes = [(100, 120), (90, 128)]
    images = [torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8) for h, w in sizes]
    labels = [torch.randint(0, 19, (1, h, w), generator=gen, dtype=torch.uint8) for h, w in sizes]
    return images, labels


def _forward_outputs(model: Any, x: torch.Tensor) -> dict[str, Any]:
    """The outputs compared on both sides (same calls on MMSeg's and our EncoderDecoder)."""
    with torch.no_grad():
        out: dict[str, Any] = {
            "logits": model.encode_decode(x, _metas(x)),
            "raw": model._forward(x),
        }
        aux = getattr(model, "auxiliary_head", None)
        if aux is not None:
            feats = model.extract_feat(x)
            heads = list(aux) if isinstance(aux, torch.nn.ModuleList) else [aux]
            out["aux"] = [head.forward(feats) for head in heads]
    return out


# --------------------------------------------------------------------------------------------
# Step 1: export (MMSeg venv)
# --------------------------------------------------------------------------------------------


def _stub_mmcv_ext() -> None:
    """Let ``import mmseg`` work with mmcv-lite, which ships no compiled ``mmcv._ext``.

    ``mmseg.utils`` imports ``mmcv.ops`` at import time, whose modules look up their compiled
    functions by name. The stub answers every name with a function that raises, so any model
    here that really needed a compiled op would fail loudly instead of giving numbers.
    """
    stub = types.ModuleType("mmcv._ext")

    def _missing(name: str) -> Callable[..., Any]:
        if name.startswith("__"):
            raise AttributeError(name)

        def _raise(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"compiled mmcv op {name} is not available under mmcv-lite")

        return _raise

    stub.__getattr__ = _missing  # type: ignore[attr-defined]
    sys.modules.setdefault("mmcv._ext", stub)


def _import_mmseg() -> Any:
    _stub_mmcv_ext()
    import mmseg
    import mmseg.models  # noqa: F401  (registers the models)
    from mmengine.logging import MMLogger
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    # init_weights logs one INFO record per parameter; keep the output to what matters.
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    print(f"mmseg {mmseg.__version__}")
    return MODELS


def _randomise_norms(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial affine weights for BN/LN/GN layers and non-zero biases everywhere.

    MMSeg's default init sets norm weights to 1 (0 for the last BN of each residual block)
    and biases to 0, which would hide a swapped or skipped layer.
    """
    norm_types = (torch.nn.modules.batchnorm._NormBase, torch.nn.LayerNorm, torch.nn.GroupNorm)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, norm_types) and getattr(module, "weight", None) is not None:
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=gen))
            bias = getattr(module, "bias", None)
            if isinstance(bias, torch.nn.Parameter):
                bias.copy_(0.1 * torch.randn(bias.shape, generator=gen))


def _calibrate_batchnorm(
    model: torch.nn.Module, forward: Callable[[torch.Tensor], Any], gen: torch.Generator
) -> None:
    """Give BN running statistics of real activations (cumulative average over a few batches).

    With untouched statistics (mean 0, var 1) a randomly initialised ResNet-50 produces huge
    activations in eval mode, and float32 rounding would swamp the comparison.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(CALIBRATION_BATCHES):
            forward(torch.randn((2, *INPUT_SHAPE[1:]), generator=gen))
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
    model.eval()


def _plain_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def export(out_dir: str, only: list[str] | None) -> None:
    """Build, initialise and run each MMSeg model; save tensors for ``compare``."""
    registry = _import_mmseg()
    os.makedirs(out_dir, exist_ok=True)
    for name, cfg in model_configs().items():
        if only and name not in only:
            continue
        torch.manual_seed(SEED)
        model = registry.build(cfg)
        model.init_weights()
        gen = torch.Generator().manual_seed(SEED + 1)
        _randomise_norms(model, gen)

        def train_forward(x: torch.Tensor, model: Any = model) -> None:
            feats = model.extract_feat(x)
            model.decode_head.forward(feats)
            if getattr(model, "auxiliary_head", None) is not None:
                model.auxiliary_head.forward(feats)

        _calibrate_batchnorm(model, train_forward, gen)
        model.eval()
        x = torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(SEED))
        record: dict[str, Any] = {"state_dict": _plain_state(model), "input": x}
        record.update(_forward_outputs(model, x))

        images, labels = _preprocessor_batch()
        record["pre_images"], record["pre_labels"] = images, labels
        with torch.no_grad():
            record["pre_eval"] = model.data_preprocessor(dict(inputs=[images[0]]), False)["inputs"]
            samples = _mmseg_samples(labels)
            batch = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
        record["pre_train"] = batch["inputs"]
        record["pre_train_labels"] = [s.gt_sem_seg.data for s in batch["data_samples"]]
        torch.save(record, os.path.join(out_dir, f"{name}.pth"))
        print(f"exported {name}: {len(record['state_dict'])} keys")

    for name, (cfg, shapes) in module_configs().items():
        if only and name not in only:
            continue
        torch.manual_seed(SEED)
        module = registry.build(cfg)
        module.init_weights()
        _randomise_norms(module, torch.Generator().manual_seed(SEED + 1))
        module.eval()
        gen = torch.Generator().manual_seed(SEED)
        inputs = [torch.randn(s, generator=gen) for s in shapes]
        with torch.no_grad():
            outs = list(module(inputs))
        record = {"state_dict": _plain_state(module), "inputs": inputs, "outs": outs}
        torch.save(record, os.path.join(out_dir, f"{name}.pth"))
        print(f"exported {name}: {len(record['state_dict'])} keys")

    if not only or "checkpoints" in only:
        _export_checkpoints(registry, out_dir)


def _mmseg_samples(labels: list[torch.Tensor]) -> list[Any]:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label.long())
        samples.append(sample)
    return samples


def _export_checkpoints(registry: Any, out_dir: str) -> None:
    """An MMEngine runner checkpoint and an MMCV 1.x one, for the FCN model."""
    import mmengine
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.optim import OptimWrapper, PolyLR
    from mmengine.runner import save_checkpoint

    cfg = model_configs()["fcn_r50-d8"]
    torch.manual_seed(SEED)
    model = registry.build(cfg)
    model.init_weights()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    wrapper = OptimWrapper(optimizer)
    scheduler = PolyLR(optimizer, eta_min=1e-4, power=0.9, begin=0, end=80000, by_epoch=False)
    # One real step so the optimizer has momentum buffers, as after training.
    model.train()
    x = torch.randn(2, 3, 64, 64)
    model._forward(x).mean().backward()
    wrapper.step()
    scheduler.step()

    hub = MessageHub.get_instance("segwright_parity")
    for it in range(1, 4):
        hub.update_scalar("train/lr", 0.01)
        hub.update_scalar("train/loss", 1.0 / it)
        hub.update_scalar("train/decode.loss_ce", 0.8 / it)
        hub.update_scalar("train/time", 0.5)
        hub.update_info("iter", it)
    hub.update_info("best_score", 0.42)
    hub.update_info("last_ckpt", "work_dirs/iter_3.pth")
    dataset_meta = dict(classes=("road", "sidewalk"), palette=[[128, 64, 128], [244, 35, 232]])
    meta = dict(
        epoch=0,
        iter=3,
        cfg=Config(dict(model=cfg)).pretty_text,
        seed=0,
        experiment_name="parity",
        time="20250101_000000",
        mmengine_version=mmengine.__version__,
        dataset_meta=dataset_meta,
    )
    checkpoint = {
        "meta": meta,
        "state_dict": model.state_dict(),
        "message_hub": hub.state_dict(),
        "optimizer": wrapper.state_dict(),
        "param_schedulers": [scheduler.state_dict()],
    }
    path = os.path.join(out_dir, "mmengine_runner_iter_3.pth")
    save_checkpoint(checkpoint, path)
    print(f"exported {path}")

    legacy = {
        "meta": dict(
            env_info="sys.platform: linux",
            seed=0,
            exp_name="fcn.py",
            mmseg_version="0.30.0",
            config="model = dict(type='EncoderDecoder')",
            CLASSES=("road", "sidewalk"),
            PALETTE=[[128, 64, 128], [244, 35, 232]],
            hook_msgs=dict(last_ckpt="work_dirs/iter_3.pth"),
            epoch=1,
            iter=2,
            mmcv_version="1.7.1",
            time="Wed Jan  1 00:00:00 2025",
        ),
        "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    path = os.path.join(out_dir, "mmcv1_runner_iter_3.pth")
    torch.save(legacy, path)
    print(f"exported {path}")


# --------------------------------------------------------------------------------------------
# Step 2: compare (segwright venv)
# --------------------------------------------------------------------------------------------


def _max_diff(a: Any, b: Any) -> float:
    """Largest absolute difference between two tensors or lists of tensors (inf on shape)."""
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return float("inf")
        return max((_max_diff(x, y) for x, y in zip(a, b)), default=0.0)
    if tuple(a.shape) != tuple(b.shape):
        return float("inf")
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return "inf" if value == float("inf") else f"{value:.1e}"


def _our_samples(labels: list[torch.Tensor]) -> list[Any]:
    from segwright.structures import PixelData, SegDataSample

    return [SegDataSample(gt_sem_seg=PixelData(label.long())) for label in labels]


def _compare_model(registry: Any, load: Callable[..., Any], name: str, rec: dict[str, Any]) -> dict:
    cfg = model_configs()[name]
    torch.manual_seed(1234)  # another init than the export: only loading can make them agree
    row: dict[str, Any] = {"name": name, "ref_keys": len(rec["state_dict"])}
    model = registry.build(cfg)
    row["our_keys"] = len(model.state_dict())
    report = load(model, rec["state_dict"])
    row["report"] = report
    model.eval()
    outs = _forward_outputs(model, rec["input"])
    row["logits"] = _max_diff(outs["logits"], rec["logits"])
    row["raw"] = _max_diff(outs["raw"], rec["raw"])
    row["aux"] = _max_diff(outs["aux"], rec["aux"]) if "aux" in rec else None
    if ("aux" in rec) != ("aux" in outs):
        row["aux"] = float("inf")
    row["scale"] = float(rec["logits"].abs().max())
    images, labels = rec["pre_images"], rec["pre_labels"]
    with torch.no_grad():
        pre_eval = model.data_preprocessor(dict(inputs=[images[0]]), False)["inputs"]
        batch = model.data_preprocessor(
            dict(inputs=images, data_samples=_our_samples(labels)), True
        )
    row["pre"] = max(
        _max_diff(pre_eval, rec["pre_eval"]),
        _max_diff(batch["inputs"], rec["pre_train"]),
        _max_diff([s.gt_sem_seg.data for s in batch["data_samples"]], rec["pre_train_labels"]),
    )
    return row


def _compare_module(registry: Any, load: Callable[..., Any], name: str, rec: dict) -> dict:
    cfg, _ = module_configs()[name]
    torch.manual_seed(1234)
    module = registry.build(cfg)
    row: dict[str, Any] = {"name": name, "ref_keys": len(rec["state_dict"])}
    row["our_keys"] = len(module.state_dict())
    row["report"] = load(module, rec["state_dict"])
    module.eval()
    with torch.no_grad():
        outs = list(module(rec["inputs"]))
    row["logits"] = _max_diff(outs, rec["outs"])
    row["scale"] = max(float(o.abs().max()) for o in rec["outs"])
    row["raw"] = row["aux"] = row["pre"] = None
    return row


def compare(out_dir: str, only: list[str] | None, atol: float) -> int:
    """Load every exported record into our models and print the comparison table."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from segwright.engine.checkpoint import load_state_dict
    from segwright.registry import MODELS

    # Config advice (e.g. CrossEntropyLoss avg_non_ignore) is not what this tool checks.
    warnings.filterwarnings("ignore", category=UserWarning, module="segwright")

    rows = []
    names = list(model_configs()) + list(module_configs())
    for name in names:
        if only and name not in only:
            continue
        path = os.path.join(out_dir, f"{name}.pth")
        if not os.path.isfile(path):
            print(f"{name}: no export at {path} (run the export step)")
            continue
        rec = torch.load(path, map_location="cpu", weights_only=True)
        try:
            if name in module_configs():
                rows.append(_compare_module(MODELS, load_state_dict, name, rec))
            else:
                rows.append(_compare_model(MODELS, load_state_dict, name, rec))
        except Exception as exc:  # report and go on with the next model
            rows.append({"name": name, "error": f"{type(exc).__name__}: {exc}"})

    header = (
        f"{'model':<30} {'mmseg':>5} {'ours':>5} {'miss':>4} {'unexp':>5} {'shape':>5} "
        f"{'|Δlogits|':>9} {'|Δraw|':>8} {'|Δaux|':>8} {'|logits|':>8} {'|Δpre|':>8}  result"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for row in rows:
        if "error" in row:
            failures += 1
            print(f"{row['name']:<30} ERROR {row['error']}")
            continue
        rep = row["report"]
        diffs = [row[k] for k in ("logits", "raw", "aux", "pre") if row[k] is not None]
        ok = rep.exact and all(d <= atol for d in diffs)
        failures += not ok
        print(
            f"{row['name']:<30} {row['ref_keys']:>5} {row['our_keys']:>5} "
            f"{len(rep.missing):>4} {len(rep.unexpected):>5} {len(rep.mismatched):>5} "
            f"{_fmt(row['logits']):>9} {_fmt(row['raw']):>8} {_fmt(row['aux']):>8} "
            f"{row['scale']:>8.2f} {_fmt(row['pre']):>8}  {'PASS' if ok else 'FAIL'}"
        )
    for row in rows:
        rep = row.get("report")
        if rep is None or rep.exact:
            continue
        print(f"\n{row['name']}:")
        for key in rep.missing:
            print(f"  missing     {key}")
        for key in rep.unexpected:
            print(f"  unexpected  {key}")
        for key, ckpt_shape, own_shape in rep.mismatched:
            print(f"  mismatched  {key}: mmseg {ckpt_shape} vs ours {own_shape}")

    if not only or "checkpoints" in only:
        _compare_checkpoints(out_dir)
    print(f"\n{len(rows) - failures} passed, {failures} failed (atol {atol:g})")
    return 1 if failures else 0


def _compare_checkpoints(out_dir: str) -> None:
    """Read the exported training checkpoints with our reader, default and trusted."""
    from segwright.engine.checkpoint import extract_state_dict, load_state_dict, read_checkpoint
    from segwright.registry import MODELS

    model = MODELS.build(model_configs()["fcn_r50-d8"])
    for name in ("mmengine_runner_iter_3.pth", "mmcv1_runner_iter_3.pth"):
        path = os.path.join(out_dir, name)
        if not os.path.isfile(path):
            print(f"\n{name}: not exported")
            continue
        for trusted in (False, True):
            print(f"\nread_checkpoint({name!r}, trusted={trusted}):")
            try:
                ckpt = read_checkpoint(path, trusted=trusted)
            except Exception as exc:
                print(f"  {type(exc).__name__}: {exc}")
                continue
            report = load_state_dict(model, extract_state_dict(ckpt))
            print(f"  OK: top-level keys {sorted(ckpt)}")
            print(f"  weights into fcn_r50-d8: {report.summary()}")
            print(f"  meta keys: {sorted(ckpt.get('meta', {}))}")
            hub = ckpt.get("message_hub")
            if isinstance(hub, dict):
                scalars = hub.get("log_scalars", {})
                kinds = sorted({repr(v) for v in scalars.values()})
                print(f"  message_hub.runtime_info: {dict(hub.get('runtime_info', {}))}")
                print(f"  message_hub.log_scalars: {len(scalars)} entries, read as {kinds}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("export", "compare"))
    parser.add_argument("--out", default="/tmp/parity", help="folder of the exported files")
    parser.add_argument("--only", nargs="+", help="model names (and/or 'checkpoints')")
    parser.add_argument("--atol", type=float, default=1e-4)
    args = parser.parse_args(argv)
    if args.step == "export":
        export(args.out, args.only)
        return 0
    return compare(args.out, args.only, args.atol)


if __name__ == "__main__":
    sys.exit(main())
