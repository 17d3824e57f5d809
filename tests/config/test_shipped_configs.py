"""Every shipped config loads, dumps and reloads unchanged, builds, and trains one iteration.

Models are scaled down (ResNet-18 at width 8, UNet at width 4, MiT at width 8, heads at 4
channels) and each config's own dataset class reads a tiny fake tree of 32x32 images laid out
as that dataset family expects, so the whole file runs in seconds on a CPU.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from segwright.config import Config
from segwright.config.legacy import is_legacy_config, translate_config
from segwright.config.shipped import find_shipped_config, shipped_config_dirs
from segwright.engine.runner import Runner
from segwright.registry import DATASETS, MODELS

PACKAGE_CONFIGS = Path(__file__).resolve().parents[2] / "segwright" / "configs"
SIZE = 32  # fake images are SIZE x SIZE; crops and the preprocessor's padding match
WRAPPERS = ("RepeatDataset", "ConcatDataset")


def shipped_configs() -> list[Path]:
    """Runnable configs: every ``.py`` outside ``_base_`` that is not a helper module.

    MMDetection's tree (``mmdet/``, with its own ``_base_``) is swept by ``test_mmdet_configs``.
    """
    found = []
    for path in sorted(PACKAGE_CONFIGS.rglob("*.py")):
        relative = path.relative_to(PACKAGE_CONFIGS)
        if relative.parts[0] in ("_base_", "mmdet") or path.name.startswith("_"):
            continue
        found.append(path)
    return found


CONFIGS = shipped_configs()


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    old_env = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
    if old_env is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = old_env


def native(cfg: Config) -> Config:
    """The config in the 1.x schema (0.x recipes are translated as the runner would)."""
    return translate_config(cfg)[0] if is_legacy_config(cfg) else cfg


# -- scaling a model down ---------------------------------------------------------------------


def _no_syncbn(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "SyncBN":
            node["type"] = "BN"
        for value in node.values():
            _no_syncbn(value)
    elif isinstance(node, list):
        for value in node:
            _no_syncbn(value)
    return node


def _backbone_channels(backbone: dict[str, Any]) -> list[int]:
    """Shrink the backbone in place; return the channels of each of its outputs."""
    kind = backbone["type"]
    if kind.startswith("ResNet"):
        backbone.update(depth=18, stem_channels=8, base_channels=8)  # BasicBlock: expansion 1
        stages = range(backbone.get("num_stages", 4))
        return [8 * 2**i for i in backbone.get("out_indices", stages)]
    if kind == "UNet":
        backbone["base_channels"] = 4
        stages = backbone["num_stages"]
        return [4 * 2 ** (stages - 1 - i) for i in range(stages)]  # deepest first
    if kind == "MixVisionTransformer":
        stages = backbone.get("num_stages", 4)
        backbone.update(embed_dims=8, num_heads=[1] * stages, num_layers=[1] * stages)
        return [8] * stages
    if kind in ZOO_BACKBONE_RULES:
        return ZOO_BACKBONE_RULES[kind](backbone)
    raise NotImplementedError(f"no scaling rule for backbone {kind}")


def _zoo_rules() -> tuple[dict[str, Any], dict[str, Any]]:
    """Scaling rules kept beside this file, one module per model-zoo family group.

    Each ``zoo_scale_<group>.py`` may define ``BACKBONE_RULES = {type: fn(backbone) -> out
    channels}`` (shrink in place) and ``HEAD_RULES = {type: fn(head, outs)}`` (applied after
    the generic in_channels/channels rule), so adding a family never edits this file. Necks
    other than FPN may have ``NECK_RULES = {type: fn(neck, outs) -> out channels}`` (shrink in
    place); for the full-size wiring check, ``FULL_SIZE_BACKBONES = {type: fn(backbone) ->
    out channels}`` and ``FULL_SIZE_NECKS = {type: fn(neck, outs) -> out channels}`` (which
    asserts that the neck reads ``outs``).
    """
    tables: dict[str, dict[str, Any]] = {name: {} for name in ZOO_TABLES}
    for path in sorted(Path(__file__).parent.glob("zoo_scale_*.py")):
        spec = importlib.util.spec_from_file_location(f"_segwright_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for found, table in tables.items():
            for name, rule in getattr(module, found, {}).items():
                assert name not in table, f"{path.name}: a rule for {name} exists already"
                table[name] = rule
    return tables


ZOO_TABLES = (
    "BACKBONE_RULES",
    "HEAD_RULES",
    "NECK_RULES",
    "FULL_SIZE_BACKBONES",
    "FULL_SIZE_NECKS",
)
_ZOO = _zoo_rules()
ZOO_BACKBONE_RULES, ZOO_HEAD_RULES = _ZOO["BACKBONE_RULES"], _ZOO["HEAD_RULES"]


def _as_list(node: Any) -> list[dict[str, Any]]:
    return list(node) if isinstance(node, (list, tuple)) else [node] if node else []


def scale_down_model(model: dict[str, Any]) -> dict[str, Any]:
    """A small version of ``model`` (same types and wiring), with SyncBN as BN."""
    model = _no_syncbn(copy.deepcopy(model))
    model.pop("pretrained", None)
    outs = _backbone_channels(model["backbone"])
    if (model.get("neck") or {}).get("type") == "FPN":  # heads then read the neck's outputs
        model["neck"].update(in_channels=outs, out_channels=8)
        outs = [8] * model["neck"]["num_outs"]
    elif (model.get("neck") or {}).get("type") in _ZOO["NECK_RULES"]:
        outs = _ZOO["NECK_RULES"][model["neck"]["type"]](model["neck"], outs)
    heads = _as_list(model["decode_head"]) + _as_list(model.get("auxiliary_head"))
    for head in heads:
        index = head.get("in_index", -1)
        several = isinstance(index, (list, tuple))
        head["in_channels"] = [outs[i] for i in index] if several else outs[index]
        head["channels"] = 4
        if "c1_in_channels" in head:
            head["c1_in_channels"], head["c1_channels"] = outs[0], 4
        if head["type"] in ZOO_HEAD_RULES:
            ZOO_HEAD_RULES[head["type"]](head, outs)
    model["data_preprocessor"]["size"] = (SIZE, SIZE)
    if model.get("test_cfg", {}).get("mode") == "slide":
        model["test_cfg"].update(crop_size=(SIZE, SIZE), stride=(SIZE // 2, SIZE // 2))
    return model


# -- a tiny fake dataset tree -----------------------------------------------------------------


def _suffixes(dataset: dict[str, Any]) -> tuple[str, str]:
    defaults = inspect.signature(DATASETS.get(dataset["type"]).__init__).parameters
    return (
        dataset.get("img_suffix", defaults["img_suffix"].default),
        dataset.get("seg_map_suffix", defaults["seg_map_suffix"].default),
    )


def _reduces_zero(dataset: dict[str, Any]) -> bool:
    defaults = inspect.signature(DATASETS.get(dataset["type"]).__init__).parameters
    default = defaults["reduce_zero_label"].default if "reduce_zero_label" in defaults else False
    return bool(dataset.get("reduce_zero_label", default))


def _write_split(dataset: dict[str, Any], root: Path, count: int = 2) -> None:
    """Write ``count`` image/mask pairs where ``dataset`` looks for them, under ``root``."""
    img_suffix, seg_suffix = _suffixes(dataset)
    prefix = dataset.get("data_prefix", {})
    rng = np.random.default_rng(0)
    names = [f"sample{i}" for i in range(count)]
    for name in names:
        image = rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
        # Two classes after reduce_zero_label (0 becomes ignored), so the pre-flight's label
        # check sees more than one class, as in real data.
        high = 3 if _reduces_zero(dataset) else 2
        mask = rng.integers(0, high, size=(SIZE, SIZE), dtype=np.uint8)
        for folder, file, array in (
            (prefix.get("img_path", ""), name + img_suffix, image),
            (prefix.get("seg_map_path", ""), name + seg_suffix, mask),
        ):
            path = root / folder / file
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                cv2.imwrite(str(path), array)
    if dataset.get("ann_file"):
        split = root / dataset["ann_file"]
        split.parent.mkdir(parents=True, exist_ok=True)
        split.write_text("\n".join(names) + "\n")


def _shrink_pipeline(pipeline: list[dict[str, Any]]) -> None:
    for transform in pipeline:
        if "scale" in transform and transform["type"] in ("RandomResize", "Resize"):
            transform["scale"] = (SIZE, SIZE)
        if "crop_size" in transform:
            transform["crop_size"] = (SIZE, SIZE)


def redirect_dataset(dataset: dict[str, Any], root: Path) -> dict[str, Any]:
    """Point ``dataset`` (wrappers included) at a fake tree under ``root``; shrink pipelines."""
    dataset = copy.deepcopy(dataset)
    if dataset["type"] == "RepeatDataset":
        dataset["times"] = 1
        dataset["dataset"] = redirect_dataset(dataset["dataset"], root)
        return dataset
    if dataset["type"] == "ConcatDataset":
        dataset["datasets"] = [redirect_dataset(d, root) for d in dataset["datasets"]]
        return dataset
    dataset["data_root"] = str(root)
    _shrink_pipeline(dataset["pipeline"])
    _write_split(dataset, root)
    return dataset


def redirect_loader(loader: dict[str, Any], root: Path) -> dict[str, Any]:
    loader = copy.deepcopy(loader)
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader["dataset"] = redirect_dataset(loader["dataset"], root)
    return loader


def one_iteration_config(cfg: Config, tmp_path: Path) -> Config:
    """``cfg`` shrunk to one training iteration on fake data, without validation."""
    values = native(cfg).to_dict()
    values["model"] = scale_down_model(values["model"])
    values["train_dataloader"] = redirect_loader(values["train_dataloader"], tmp_path / "data")
    for hook in values.get("custom_hooks") or []:  # e.g. the 0.x workflow's validation loss
        if "dataloader" in hook:
            hook["dataloader"] = redirect_loader(hook["dataloader"], tmp_path / "data")
    train_cfg = values["train_cfg"]
    if train_cfg["type"] == "EpochBasedTrainLoop":  # 2 images, batch 2: one iteration
        train_cfg.update(max_epochs=1, val_interval=100)
    else:
        train_cfg.update(max_iters=1, val_interval=100)
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg"):
        values.pop(key, None)
    values.update(work_dir=str(tmp_path / "work"), load_from=None, device="cpu")
    values["randomness"] = dict(seed=0)
    return Config(values, filename=cfg.filename)


# -- the tests ---------------------------------------------------------------------------------


def _id(path: Path) -> str:
    return str(path.relative_to(PACKAGE_CONFIGS))


def test_the_tree_has_the_expected_configs():
    names = {_id(p) for p in CONFIGS}
    for expected in (
        "fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py",
        "pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py",
        "pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py",
        "deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py",
        "deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py",
        "unet/unet-s5-d16_fcn_4xb4-40k_drive-64x64.py",
        "unet/unet-s5-d16_fcn_4xb4-ce-1.0-dice-3.0-40k_drive-64x64.py",
        "upernet/upernet_r50_4xb4-80k_ade20k-512x512.py",
        "segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py",
        "quickstart/demo_unet.py",
    ):
        assert expected in names
    assert len([n for n in names if n.startswith("recipes/")]) >= 13


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_dump_round_trip(path: Path, tmp_path: Path):
    cfg = Config.fromfile(path)
    out = tmp_path / "dumped.py"
    cfg.dump(out, format="py")
    assert Config.fromfile(out).to_dict() == cfg.to_dict()


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_no_download_and_no_stray_keys(path: Path):
    cfg = native(Config.fromfile(path))
    assert cfg.model.get("pretrained") is None
    assert "init_cfg" not in cfg.model.backbone  # nothing to download or to find on disk
    assert "_delete_" not in cfg.pretty_text


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_builds_and_trains_one_iteration(path: Path, tmp_path: Path):
    cfg = Config.fromfile(path)
    if _id(path).startswith("quickstart/"):
        pytest.skip("the demo generates its own data set on first use; tests/e2e runs it")
    small = one_iteration_config(cfg, tmp_path)
    MODELS.build(small.model)  # builds on its own, too
    runner = Runner.from_cfg(small)
    try:
        runner.train()
    finally:
        runner.close()
    assert runner.iter == 1
    losses = runner.log_store.state_dict()
    assert losses  # the loop logged something


def _full_size_channels(backbone: dict[str, Any]) -> list[int]:
    """Output channels of the unscaled backbone, by the architectures' rules."""
    kind = backbone["type"]
    if kind in _ZOO["FULL_SIZE_BACKBONES"]:
        return _ZOO["FULL_SIZE_BACKBONES"][kind](backbone)
    if kind.startswith("ResNet"):
        expansion = 4 if backbone["depth"] >= 50 else 1
        width = backbone.get("base_channels", 64) * expansion
        return [width * 2**i for i in backbone.get("out_indices", range(4))]
    if kind == "UNet":
        stages = backbone["num_stages"]
        return [backbone["base_channels"] * 2 ** (stages - 1 - i) for i in range(stages)]
    return [backbone["embed_dims"] * heads for heads in backbone["num_heads"]]  # MiT


@pytest.mark.parametrize("path", CONFIGS, ids=_id)
def test_full_size_heads_match_their_backbones(path: Path):
    # building the full-size models takes seconds each; the wiring is checked by the numbers
    model = native(Config.fromfile(path)).model.to_dict()
    if "decode_head" not in model:  # quickstart/demo_mask_rcnn.py: a detector (tests/e2e runs it)
        pytest.skip("not a segmentor")
    outs = _full_size_channels(model["backbone"])
    if (model.get("neck") or {}).get("type") == "FPN":
        assert model["neck"]["in_channels"] == outs
        outs = [model["neck"]["out_channels"]] * model["neck"]["num_outs"]
    elif (model.get("neck") or {}).get("type") in _ZOO["FULL_SIZE_NECKS"]:
        outs = _ZOO["FULL_SIZE_NECKS"][model["neck"]["type"]](model["neck"], outs)
    for head in _as_list(model["decode_head"]) + _as_list(model.get("auxiliary_head")):
        head = head.get("kernel_generate_head", head)  # K-Net: the wrapped head reads them
        index = head.get("in_index", -1)  # BaseDecodeHead's default
        if head["type"] == "Mask2FormerHead" and "in_index" not in head:
            index = list(range(len(outs)))  # it reads every level
        several = isinstance(index, (list, tuple))
        expected = [outs[i] for i in index] if several else outs[index]
        assert (list(head["in_channels"]) if several else head["in_channels"]) == expected
        if "c1_in_channels" in head:
            assert head["c1_in_channels"] == outs[0]


def test_find_shipped_config():
    found = find_shipped_config("pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py")
    assert found is not None and found.is_file()
    assert found.resolve() == (
        PACKAGE_CONFIGS / "pspnet" / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
    )
    assert find_shipped_config("pspnet/no_such_config.py") is None
    assert PACKAGE_CONFIGS in [d.resolve() for d in shipped_config_dirs()]


def test_root_configs_link_points_into_the_package():
    link = PACKAGE_CONFIGS.parent.parent / "configs"
    if not link.exists():
        pytest.skip("not a source checkout")
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == PACKAGE_CONFIGS


def test_mmseg_scope_resolves_to_the_shipped_base(tmp_path: Path):
    child = tmp_path / "child.py"
    child.write_text(
        "_base_ = 'mmseg::_base_/models/pspnet_r50-d8.py'\n"
        "model = dict(decode_head=dict(num_classes=3))\n"
    )
    cfg = Config.fromfile(child)
    shipped = Config.fromfile(PACKAGE_CONFIGS / "_base_" / "models" / "pspnet_r50-d8.py")
    assert cfg.model.decode_head.num_classes == 3
    assert cfg.model.backbone == shipped.model.backbone
    assert cfg.model.decode_head.type == "PSPHead"
    assert str(PACKAGE_CONFIGS / "_base_" / "models" / "pspnet_r50-d8.py") in cfg.text


def test_segwright_scope_resolves_too(tmp_path: Path):
    child = tmp_path / "child.py"
    child.write_text("_base_ = ['segwright::_base_/schedules/schedule_80k.py']\n")
    assert Config.fromfile(child).train_cfg.max_iters == 80000


def test_recipes_say_what_they_set():
    recipes = PACKAGE_CONFIGS / "recipes"
    for path in sorted(recipes.glob("*.py")):
        assert path.read_text().startswith("# Recipe"), path.name
    head = Config.fromfile(recipes / "head_lr_mult_10.py")
    assert head.optim_wrapper.paramwise_cfg == {"custom_keys": {"head": {"lr_mult": 10.0}}}
    assert head.optim_wrapper.optimizer.type == "SGD"
    ohem = Config.fromfile(recipes / "ohem.py").model.decode_head
    assert ohem.sampler == {"type": "OHEMPixelSampler", "thresh": 0.7, "min_kept": 100000}
    weights = Config.fromfile(recipes / "class_balanced_ce_cityscapes.py").model
    assert weights.decode_head.loss_decode.class_weight[0] == 0.8373
    assert len(weights.decode_head.loss_decode.class_weight) == 19
    adam = Config.fromfile(recipes / "adam.py").optim_wrapper.optimizer
    assert adam == {"type": "Adam", "lr": 0.0003, "betas": (0.9, 0.999), "weight_decay": 0.0001}
    clip = Config.fromfile(recipes / "grad_clip.py").optim_wrapper
    assert clip.clip_grad == {"max_norm": 35, "norm_type": 2}
    assert set(clip) == {"type", "optimizer", "clip_grad"}
    cyclic = Config.fromfile(recipes / "cyclic_lr_momentum_0x.py")
    assert is_legacy_config(cyclic)
    schedulers = [s["type"] for s in native(cyclic).param_scheduler]
    assert schedulers == ["MMCVCyclicLR", "MMCVCyclicMomentum"]
    workflow = native(Config.fromfile(recipes / "train_val_workflow_0x.py"))
    assert "WorkflowValLossHook" in [h["type"] for h in workflow.custom_hooks]
    tune = Config.fromfile(recipes / "finetune.py")
    assert tune.model.decode_head.num_classes == 21
    assert tune.optim_wrapper.optimizer.lr == 0.001
    assert tune.train_cfg == {"type": "EpochBasedTrainLoop", "max_epochs": 20, "val_interval": 1}
    assert [s.type for s in tune.param_scheduler] == ["LinearLR", "MultiStepLR"]
    assert tune.load_from.endswith(".pth")


def test_custom_optimizer_recipe_builds_the_registered_classes(tmp_path: Path):
    cfg = Config.fromfile(PACKAGE_CONFIGS / "recipes" / "custom_optimizer.py")
    from segwright.testing.custom_optim import RecipeSGDWithNesterov

    runner = Runner.from_cfg(one_iteration_config(cfg, tmp_path))
    try:
        runner.train()
        optimizer = runner.optim_wrapper.optimizer
        assert isinstance(optimizer, RecipeSGDWithNesterov)
        # the groups' lr before scheduling: the backbone at 0.1x
        lrs = sorted(group["initial_lr"] for group in optimizer.param_groups)
        assert lrs == [pytest.approx(0.001), pytest.approx(0.01)]
    finally:
        runner.close()
