"""MMSeg 0.30's own config tree: what its configs need beyond the corpus (issue 18's sweep).

``fixtures/mmseg030_sweep/configs`` holds a few 0.30 method configs rewritten small (values as
v0.30.0 ships them, laid out as its tree): a ResNet child that swaps ``model.pretrained``, BEiT
with layer-wise LR decay and its multi-scale test (``Resize(min_size=...)``), ConvNeXt from
``mmcls`` with MMCV fp16. Each loads through :func:`load_config` (custom imports on),
keeps no 0.x key, builds its model on the meta device and every transform of its
pipelines, as ``benchmarks/mmseg_config_sweep.py`` does over the whole 0.30 tree. The unit
tests pin the translations the sweep needed: ``min_size``, ``model.pretrained`` beside a
backbone ``init_cfg``, ``mmcls`` custom imports.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from segwright.config.legacy import LEGACY_KEYS, translate_legacy_config
from segwright.config.legacy.pipelines import translate_pipeline
from segwright.config.legacy.preprocessor import Normalisation
from segwright.config.load import load_config
from segwright.registry import MODELS, TRANSFORMS, default_scope
from segwright.utils.errors import ConfigError

TREE = Path(__file__).parent / "fixtures" / "mmseg030_sweep" / "configs"
CONFIGS = sorted(str(p.relative_to(TREE)) for p in TREE.glob("*/*.py") if p.parts[-2] != "_base_")
IMG_NORM = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def noted(notes, *words):
    return any(all(w in n for w in words) for n in notes)


def pipelines(cfg):
    out = [cfg.get("tta_pipeline") or []]
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        out.append(cfg[name]["dataset"]["pipeline"])
    return out


def test_fixture_tree_is_there():
    assert CONFIGS == [
        "beit/upernet_beit-base_640x640_160k_ade20k_ms.py",
        "beit/upernet_beit-base_8x2_640x640_160k_ade20k.py",
        "convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k.py",
        "upernet/upernet_r18_512x512_160k_ade20k.py",
    ]


#: BEiT-B's __init__ reads values (no meta build) and takes seconds on CPU: narrower, same depth.
NARROW_BEIT = {
    "model.backbone.embed_dims": 64,
    "model.backbone.num_heads": 2,
    "model.neck.embed_dim": 64,
    "model.decode_head.in_channels": [64, 64, 64, 64],
    "model.decode_head.channels": 32,
    "model.auxiliary_head.in_channels": 64,
    "model.auxiliary_head.channels": 16,
}


@pytest.mark.parametrize("name", CONFIGS)
def test_030_config_translates_and_builds(name):
    cfg = load_config(TREE / name, NARROW_BEIT if name.startswith("beit/") else None)
    assert cfg.load_report.legacy
    assert not set(cfg.keys()) & LEGACY_KEYS, "a 0.x key survived the translation"
    assert all(isinstance(n, str) and n for n in cfg.load_report.notes)
    model = cfg.model.to_dict()
    with default_scope("mmseg"):
        try:
            with torch.device("meta"):
                built = MODELS.build(copy.deepcopy(model))
        except RuntimeError:  # an __init__ that reads values (BEiT's drop-path rates): CPU
            built = MODELS.build(model)
    assert built.decode_head.num_classes == 150
    for steps in pipelines(cfg):
        for step in steps:
            TRANSFORMS.build(copy.deepcopy(step.to_dict() if hasattr(step, "to_dict") else step))
    assert cfg.train_dataloader.batch_size in (2, 4)
    assert cfg.train_cfg == dict(type="IterBasedTrainLoop", max_iters=160000, val_interval=16000)


def test_030_resnet_child_keeps_its_pretrained_weights():
    cfg = load_config(TREE / "upernet/upernet_r18_512x512_160k_ade20k.py")
    assert cfg.model.pretrained == "open-mmlab://resnet18_v1c"
    assert cfg.model.backbone.norm_cfg == dict(type="SyncBN", requires_grad=True)
    assert cfg.model.backbone.depth == 18


def test_030_beit_ms_test_resizes_by_short_edge():
    cfg = load_config(TREE / "beit/upernet_beit-base_640x640_160k_ade20k_ms.py")
    # One view per img_ratio of (2560, 640), short edge floored at min_size=640.
    resizes = cfg.tta_pipeline[1]["transforms"][0]
    assert [r["scale"] for r in resizes] == [640, 640, 640, 800, 960, 1120]
    assert {r["type"] for r in resizes} == {"ResizeShortestEdge"}
    assert all(r["max_size"] is None for r in resizes)
    assert cfg.test_dataloader.dataset.pipeline[1] == dict(
        type="ResizeShortestEdge", scale=640, max_size=None
    )
    assert noted(cfg.load_report.notes, "data.test.pipeline[1].transforms[0]", "min_size=640")
    assert cfg.optim_wrapper.constructor == "LayerDecayOptimizerConstructor"


def test_030_convnext_from_mmcls_imports_and_runs_fp16():
    cfg = load_config(TREE / "convnext/upernet_convnext_tiny_fp16_512x512_160k_ade20k.py")
    assert cfg.custom_imports == dict(imports="mmpretrain.models", allow_failed_imports=False)
    assert noted(cfg.load_report.notes, "custom_imports", "mmcls.models", "mmpretrain.models")
    assert cfg.optim_wrapper.type == "AmpOptimWrapper"
    assert cfg.model.backbone.type == "mmcls.ConvNeXt"


# -- Resize(min_size=...) ----------------------------------------------------------------------


def msfa(resize, **view):
    view = view or dict(img_scale=(2560, 640), img_ratios=[0.5, 1.0, 1.5], flip=False)
    return [
        dict(type="LoadImageFromFile"),
        dict(
            type="MultiScaleFlipAug",
            **view,
            transforms=[resize, dict(type="Normalize", **IMG_NORM), dict(type="Collect")],
        ),
    ]


def pipeline(steps, role="test"):
    notes = []
    result = translate_pipeline(steps, key="p", role=role, norm=Normalisation(), notes=notes)
    return result, notes


def test_min_size_in_multiscale_test_is_a_short_edge_resize_per_view():
    result, notes = pipeline(msfa(dict(type="Resize", keep_ratio=True, min_size=640)))
    views = result.tta_pipeline[1]["transforms"][0]
    assert [v["scale"] for v in views] == [640, 640, 960]
    assert result.pipeline[1] == dict(type="ResizeShortestEdge", scale=640, max_size=None)
    assert noted(notes, "p[1].transforms[0]", "ResizeShortestEdge", "long edge unbounded")


def test_min_size_on_a_fixed_scale_outside_msfa():
    steps = [dict(type="Resize", img_scale=(2048, 512), min_size=640), dict(type="Collect")]
    result, notes = pipeline(steps, role="train")
    assert result.pipeline[0] == dict(type="ResizeShortestEdge", scale=640, max_size=None)
    assert noted(notes, "p[0]", "min_size=640", "ResizeShortestEdge")


def test_min_size_without_keep_ratio_is_dropped_with_a_note():
    _, notes = pipeline(msfa(dict(type="Resize", keep_ratio=False, min_size=640)))
    assert noted(notes, "p[1].transforms[0].min_size dropped", "keep_ratio=True")
    steps = [dict(type="Resize", img_scale=(64, 32), keep_ratio=False, min_size=8)]
    result, notes = pipeline(steps + [dict(type="Collect")], role="train")
    assert result.pipeline[0] == dict(type="Resize", scale=(64, 32), keep_ratio=False)
    assert noted(notes, "p[0]", "min_size=8 dropped")


@pytest.mark.parametrize(
    "steps, match",
    [
        (
            [dict(type="Resize", img_scale=(2048, 512), ratio_range=(0.5, 2.0), min_size=512)],
            r"'p\[0\]\.min_size'.*one fixed img_scale",
        ),
        (
            msfa(dict(type="Resize", min_size=512), img_ratios=[0.5, 1.0], flip=False),
            r"'p\[1\]\.transforms\[0\]\.min_size'.*img_ratios and no img_scale",
        ),
        (
            msfa(dict(type="Resize", min_size=(512, 512))),
            r"'p\[1\]\.transforms\[0\]\.min_size' must be a positive int",
        ),
    ],
)
def test_min_size_that_cannot_be_translated_names_the_key(steps, match):
    role = "test" if steps[-1]["type"] == "MultiScaleFlipAug" else "train"
    with pytest.raises(ConfigError, match=match):
        pipeline(steps, role=role)


@pytest.mark.parametrize("hw", [(512, 683), (683, 512), (300, 300), (375, 500), (1024, 2048)])
def test_short_edge_resize_matches_mmseg_030_sizes(hw):
    """MMSeg 0.30 rescaled by new_short / short and rounded each edge with int(x + 0.5)."""
    h, w = hw
    min_size, scale = 640, (2560, 640)
    new_short = max(min(scale), min_size)
    factor = new_short / min(h, w)
    expected = (int(h * factor + 0.5), int(w * factor + 0.5))
    result, _ = pipeline(msfa(dict(type="Resize", keep_ratio=True, min_size=min_size)))
    resize = TRANSFORMS.build(result.pipeline[1])
    out = resize(dict(img=np.zeros((h, w, 3), np.uint8)))
    assert out["img"].shape[:2] == expected


# -- model.pretrained beside a backbone init_cfg, mmcls custom imports -------------------------


def legacy(model, **extra):
    return dict(
        model=model,
        data=dict(samples_per_gpu=2, workers_per_gpu=0, train=dict(type="ToySegDataset")),
        optimizer=dict(type="SGD", lr=0.01),
        runner=dict(type="IterBasedRunner", max_iters=10),
        **extra,
    )


def test_backbone_init_cfg_wins_over_an_inherited_model_pretrained():
    init = dict(type="Pretrained", checkpoint="open-mmlab://resnet18_v1c")
    model = dict(
        type="EncoderDecoder",
        pretrained="open-mmlab://resnet50_v1c",
        backbone=dict(type="ResNetV1c", depth=18, init_cfg=init),
    )
    out, notes = translate_legacy_config(legacy(model))
    assert "pretrained" not in out["model"]
    assert out["model"]["backbone"]["init_cfg"] == init
    assert noted(notes, "model.pretrained='open-mmlab://resnet50_v1c' dropped", "resnet18_v1c")
    # Only a Pretrained init_cfg: any other pair reaches the backbone, which refuses it.
    model["backbone"]["init_cfg"] = dict(type="Kaiming")
    out, notes = translate_legacy_config(legacy(model))
    assert out["model"]["pretrained"] == "open-mmlab://resnet50_v1c"
    assert not noted(notes, "model.pretrained")


@pytest.mark.parametrize(
    "imports, expected",
    [
        ("mmcls.models", "mmpretrain.models"),
        (["mmcls.models", "my_project.hooks"], ["mmpretrain.models", "my_project.hooks"]),
    ],
)
def test_mmcls_custom_imports_become_mmpretrain(imports, expected):
    custom = dict(imports=imports, allow_failed_imports=False)
    out, notes = translate_legacy_config(legacy(dict(type="ToySegModel"), custom_imports=custom))
    assert out["custom_imports"] == dict(imports=expected, allow_failed_imports=False)
    assert noted(notes, "custom_imports", "mmcls.models", "mmpretrain")
    untouched = dict(imports=["my_project.hooks"])
    out, notes = translate_legacy_config(legacy(dict(type="ToySegModel"), custom_imports=untouched))
    assert out["custom_imports"] == untouched
    assert not noted(notes, "custom_imports")
