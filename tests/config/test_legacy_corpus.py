"""A corpus of real-shaped configs: MMSeg 0.x method configs beside their shipped 1.x forms.

``fixtures/mmseg0x_tree/configs`` is laid out as MMSegmentation v0.30 ships it (``_base_``
models, datasets, schedules and runtime; method configs under their 0.x names). Every 0.x config
loads, translates and trains one iteration; ``segwright migrate-config`` output trains to the
same weights; the 1.x snippets of ``fixtures/mmseg_tree`` train one iteration too. Each 0.x
config is then compared with its shipped 1.x counterpart: model, pipelines, loaders, loops,
evaluators, optimizer, hooks, and a short training run (LR and momentum at every iteration,
parameter groups, hook order, first loss). Where MMSeg 0.x and 1.x themselves differ, the
difference is asserted, not hidden: see ``WORKERS_DIFFER`` and ``test_pair_trains_alike``.

Models are scaled down and data faked as in ``test_shipped_configs``; one torch thread.
"""

from __future__ import annotations

import copy
import inspect
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

# The module-scoped autouse fixture `one_thread` comes with the import.
from test_shipped_configs import (  # noqa: F401
    PACKAGE_CONFIGS,
    native,
    one_iteration_config,
    one_thread,
    redirect_dataset,
    scale_down_model,
)

from segwright.cli.main import main
from segwright.config import Config
from segwright.config.legacy import is_legacy_config, translate_config
from segwright.engine.hooks import Hook
from segwright.engine.runner import Runner
from segwright.engine.schedule_preview import preview_schedule
from segwright.registry import DATASETS, MODELS
from segwright.utils.errors import CheckpointError

HERE = Path(__file__).parent
TREE_0X = HERE / "fixtures" / "mmseg0x_tree" / "configs"
SNIPPETS = HERE / "fixtures" / "mmseg_tree" / "configs"

#: 0.x corpus config -> the shipped 1.x config of the same recipe (MMSeg 1.x renamed them all).
PAIRS = {
    "fcn/fcn_r50-d8_512x1024_40k_cityscapes.py": "fcn/fcn_r50-d8_4xb2-40k_cityscapes-512x1024.py",
    "pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py": (
        "pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
    ),
    "pspnet/pspnet_r50-d8_512x512_80k_ade20k.py": "pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py",
    "deeplabv3/deeplabv3_r50-d8_512x1024_40k_cityscapes.py": (
        "deeplabv3/deeplabv3_r50-d8_4xb2-40k_cityscapes-512x1024.py"
    ),
    "deeplabv3plus/deeplabv3plus_r50-d8_512x1024_40k_cityscapes.py": (
        "deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py"
    ),
    "unet/fcn_unet_s5-d16_64x64_40k_drive.py": "unet/unet-s5-d16_fcn_4xb4-40k_drive-64x64.py",
    "unet/fcn_unet_s5-d16_ce-1.0-dice-3.0_64x64_40k_drive.py": (
        "unet/unet-s5-d16_fcn_4xb4-ce-1.0-dice-3.0-40k_drive-64x64.py"
    ),
    "upernet/upernet_r50_512x512_80k_ade20k.py": "upernet/upernet_r50_4xb4-80k_ade20k-512x512.py",
    "segformer/segformer_mit-b0_512x512_160k_ade20k.py": (
        "segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py"
    ),
}
LEGACY = sorted(PAIRS)
SEGFORMER = "segformer/segformer_mit-b0_512x512_160k_ade20k.py"
LEGACY_FCN = "fcn/fcn_r50-d8_512x1024_40k_cityscapes.py"
CE_DICE = "unet/fcn_unet_s5-d16_ce-1.0-dice-3.0_64x64_40k_drive.py"
MIT_B0 = (
    "https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/"
    "mit_b0_20220624-7e0fe6dd.pth"
)
#: What each 0.x config, as written, starts its backbone from.
PRETRAINED = {
    name: None if name.startswith("unet/") else "open-mmlab://resnet50_v1c" for name in LEGACY
}
PRETRAINED[SEGFORMER] = MIT_B0
#: How a user without the model zoo runs them: ``--cfg-options model.pretrained=None``.
NO_DOWNLOAD = {"model.pretrained": None}

#: A real 0.x/1.x difference: 0.x val/test loaders inherit data.workers_per_gpu (2 for these);
#: MMSeg 1.x's dataset bases give them num_workers=4 whatever the training loader has.
WORKERS_DIFFER = {
    "fcn/fcn_r50-d8_512x1024_40k_cityscapes.py",
    "pspnet/pspnet_r50-d8_512x1024_40k_cityscapes.py",
    "deeplabv3/deeplabv3_r50-d8_512x1024_40k_cityscapes.py",
    "deeplabv3plus/deeplabv3plus_r50-d8_512x1024_40k_cityscapes.py",
    SEGFORMER,
}

SHORT = 6  # iterations of the compared runs (the schedules are shortened to this)
WARMUP = 2  # SegFormer's 1500 warm-up iterations, shortened


def load_0x(name: str, **options: Any) -> Config:
    return Config.fromfile(TREE_0X / name, cfg_options={**NO_DOWNLOAD, **options})


def load_1x(name: str) -> Config:
    return Config.fromfile(PACKAGE_CONFIGS / PAIRS[name])


def train(cfg: Config) -> Runner:
    runner = Runner.from_cfg(cfg)
    try:
        runner.train()
    finally:
        runner.close()
    return runner


def test_the_corpus_is_laid_out_like_mmseg_0x():
    found = sorted(
        str(p.relative_to(TREE_0X)) for p in TREE_0X.rglob("*.py") if "_base_" not in p.parts
    )
    assert found == LEGACY
    bases = sorted(str(p.relative_to(TREE_0X / "_base_")) for p in TREE_0X.glob("_base_/*/*.py"))
    assert bases == [
        "datasets/ade20k.py",
        "datasets/cityscapes.py",
        "datasets/drive.py",
        "models/deeplabv3_r50-d8.py",
        "models/deeplabv3plus_r50-d8.py",
        "models/fcn_r50-d8.py",
        "models/fcn_unet_s5-d16.py",
        "models/pspnet_r50-d8.py",
        "models/segformer_mit-b0.py",
        "models/upernet_r50.py",
        "schedules/schedule_160k.py",
        "schedules/schedule_40k.py",
        "schedules/schedule_80k.py",
    ]
    assert (TREE_0X / "_base_" / "default_runtime.py").is_file()
    for path in TREE_0X.rglob("*.py"):
        assert path.read_text().startswith("# MMSeg 0.x "), path  # says what it is
    for name in LEGACY:
        assert (PACKAGE_CONFIGS / PAIRS[name]).is_file(), PAIRS[name]


@pytest.mark.parametrize("name", LEGACY)
def test_as_written_it_is_0x_and_names_its_weights(name: str):
    cfg = Config.fromfile(TREE_0X / name)
    assert is_legacy_config(cfg)
    translated, notes = translate_config(cfg)
    assert not is_legacy_config(translated)
    assert translated.model.get("pretrained") == PRETRAINED[name]  # kept for the user to see
    assert any(note.startswith("lr_config -> param_scheduler MMCVPolyLR") for note in notes)
    assert any("(DiceLoss)" in note for note in notes) == (name == CE_DICE)
    assert "optimizer" not in translated and "data" not in translated


def test_model_zoo_weights_fail_before_training_without_a_download(tmp_path, monkeypatch):
    """open-mmlab:// is refused outright; an https checkpoint offline says how to get it."""
    attempts = []

    def offline(url, *args, **kwargs):
        attempts.append(url)
        raise OSError("network unreachable")

    monkeypatch.setattr("torch.hub.download_url_to_file", offline)
    monkeypatch.setattr("torch.hub.get_dir", lambda: str(tmp_path / "hub"))
    for name, message in (
        (LEGACY_FCN, "OpenMMLab model-zoo scheme, which segwright does not resolve"),
        (SEGFORMER, "Without network access, download the file elsewhere"),
    ):
        small = one_iteration_config(Config.fromfile(TREE_0X / name), tmp_path / name)
        small.model.pretrained = PRETRAINED[name]  # the scaled-down model keeps the 0.x weights
        runner = Runner.from_cfg(small)
        try:
            with pytest.raises(CheckpointError, match=message):
                runner.train()
            assert runner.iter == 0
        finally:
            runner.close()
    assert attempts == [MIT_B0]  # open-mmlab:// was never fetched


@pytest.mark.parametrize("name", LEGACY)
def test_0x_config_builds_and_trains_one_iteration(name: str, tmp_path: Path):
    cfg = load_0x(name)
    assert is_legacy_config(cfg)
    small = one_iteration_config(cfg, tmp_path)  # translated as Runner.from_cfg would
    assert not is_legacy_config(small)
    MODELS.build(small.model)
    runner = train(small)
    assert runner.iter == 1
    logged = set(runner.log_store.scalars)
    assert {"train/loss", "train/decode.loss_ce"} <= logged
    assert ("train/aux.loss_ce" in logged) == (name != SEGFORMER)  # MiT: no auxiliary head
    assert ("train/decode.loss_dice" in logged) == (name == CE_DICE)


def _snippets() -> list[Path]:
    return sorted(p for p in SNIPPETS.rglob("*.py") if "_base_" not in p.parts)


@pytest.mark.parametrize("path", _snippets(), ids=lambda p: p.name)
def test_1x_snippets_build_and_train_one_iteration(path: Path, tmp_path: Path):
    cfg = Config.fromfile(path, cfg_options=NO_DOWNLOAD)
    runner = train(one_iteration_config(cfg, tmp_path))
    assert runner.iter == 1


def test_1x_snippet_runs_with_mmseg_visualization_hook(tmp_path: Path):
    cfg = Config.fromfile(SNIPPETS / "pspnet" / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py")
    assert cfg.default_hooks.visualization == {"type": "SegVisualizationHook"}
    runner = train(one_iteration_config(cfg, tmp_path))
    assert "SegVisualizationHook" in [type(h).__name__ for h in runner.hooks]


# -- migrate-config ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LEGACY)
def test_migrated_config_trains_to_the_same_weights(name: str, tmp_path: Path):
    out = tmp_path / "migrated.py"
    assert main(["migrate-config", str(TREE_0X / name), "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Translated from an MMSeg 0.x config by `segwright migrate-config`")
    assert "_base_" not in text.split("\n\n", 1)[1]  # every value written out
    migrated = Config.fromfile(out)
    assert not is_legacy_config(migrated)
    assert migrated.model.get("pretrained") == PRETRAINED[name]
    expected = native(Config.fromfile(TREE_0X / name)).to_dict()
    assert migrated.to_dict() == expected

    migrated.merge_from_dict(NO_DOWNLOAD)
    old = train(one_iteration_config(load_0x(name), tmp_path / "old"))
    new = train(one_iteration_config(migrated, tmp_path / "new"))
    old_weights, new_weights = old.model.state_dict(), new.model.state_dict()
    assert list(new_weights) == list(old_weights)
    for key, value in old_weights.items():
        assert torch.equal(new_weights[key], value), key


# -- each 0.x config against its shipped 1.x counterpart -----------------------------------------


@pytest.mark.parametrize("name", LEGACY)
def test_pair_models_are_equal(name: str):
    old = native(load_0x(name)).model.to_dict()
    new = load_1x(name).model.to_dict()
    # Normalize/Pad of the 0.x pipelines became exactly the 1.x data_preprocessor.
    assert old["data_preprocessor"] == new["data_preprocessor"]
    # The shipped 1.x bases say pretrained=None (they name no weights to fetch); the 0.x ones
    # name their weights (test_as_written_...): NO_DOWNLOAD makes them agree.
    assert new.get("pretrained") is None
    if name == CE_DICE:  # issue 16: 0.x's DiceLoss is MMSeg 0.30's Dice, 1.x's is 1.x's
        assert "'DiceLossV030'" in repr(old) and "'DiceLossV030'" not in repr(new)
        old = _dice_v030_as_1x(old)
    assert old == new


def _dice_v030_as_1x(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("type") == "DiceLossV030":
            value = {**value, "type": "DiceLoss"}
        return {k: _dice_v030_as_1x(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_dice_v030_as_1x(v) for v in value)
    return value


def _reduce_zero_label_default(dataset: dict[str, Any]) -> bool:
    cls = DATASETS.get(dataset["type"])
    return dataset.get(
        "reduce_zero_label", inspect.signature(cls.__init__).parameters["reduce_zero_label"].default
    )


def _effective(pipeline: list[dict[str, Any]], dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """The pipeline with the two defaults that the 0.x and 1.x spellings leave implicit."""
    out = []
    for step in copy.deepcopy(pipeline):
        if step["type"] == "RandomFlip":
            step.setdefault("direction", "horizontal")  # RandomFlip's default
        if step["type"] == "LoadAnnotations" and step.get("reduce_zero_label") is None:
            step["reduce_zero_label"] = _reduce_zero_label_default(dataset)  # None: the dataset's
        out.append(step)
    return out


def _leaf(dataset: dict[str, Any]) -> dict[str, Any]:
    return _leaf(dataset["dataset"]) if dataset["type"] == "RepeatDataset" else dataset


@pytest.mark.parametrize("name", LEGACY)
def test_pair_pipelines_and_loaders_are_equivalent(name: str, tmp_path: Path):
    raw = load_0x(name)
    old, new = native(raw).to_dict(), load_1x(name).to_dict()
    for split in ("train", "val", "test"):
        a, b = old[f"{split}_dataloader"], new[f"{split}_dataloader"]
        leaf_a, leaf_b = _leaf(a["dataset"]), _leaf(b["dataset"])
        assert _effective(leaf_a["pipeline"], leaf_a) == _effective(leaf_b["pipeline"], leaf_b)
        without = ("pipeline",)
        assert {k: v for k, v in leaf_a.items() if k not in without} == {
            k: v for k, v in leaf_b.items() if k not in without
        }
        if a["dataset"]["type"] == "RepeatDataset":
            assert a["dataset"]["times"] == b["dataset"]["times"] == 40000
        a, b = dict(a, dataset=None), dict(b, dataset=None)
        if split != "train":
            assert a.pop("num_workers") == raw.data.workers_per_gpu
            assert b.pop("num_workers") == 4
            assert (raw.data.workers_per_gpu != 4) == (name in WORKERS_DIFFER)
        assert a == b
    # They behave alike too: the same tensors and labels for the same image and seed.
    for split in ("train", "val"):
        samples = []
        for cfg in (old, new):
            dataset = DATASETS.build(
                redirect_dataset(cfg[f"{split}_dataloader"]["dataset"], tmp_path)
            )
            random.seed(0)
            np.random.seed(0)
            torch.manual_seed(0)
            samples.append(dataset[0])
        a, b = samples
        assert torch.equal(a["inputs"], b["inputs"]), split
        labels = a["data_samples"].gt_sem_seg.data
        assert torch.equal(labels, b["data_samples"].gt_sem_seg.data), split
        if "ade20k" in name:
            assert 255 in labels  # label 0 reduced to 255 on both sides


@pytest.mark.parametrize("name", LEGACY)
def test_pair_loops_evaluators_optimizer_and_runtime_are_equal(name: str):
    old, new = native(load_0x(name)).to_dict(), load_1x(name).to_dict()
    for key in ("train_cfg", "val_cfg", "test_cfg", "val_evaluator", "test_evaluator"):
        assert old[key] == new[key], key
    wrapper = dict(new["optim_wrapper"])
    if wrapper.get("clip_grad", "unset") is None:  # clip_grad=None is no clipping, as unset
        del wrapper["clip_grad"]
    assert old["optim_wrapper"] == wrapper
    for key in ("checkpoint", "logger"):
        assert old["default_hooks"][key] == new["default_hooks"][key], key
    # The 1.x bases list the runner's default hooks; the 0.x translation leaves them implied.
    # SegVisualizationHook is new in 1.x (and draws nothing unless draw=True).
    assert {k: v for k, v in new["default_hooks"].items() if k not in old["default_hooks"]} == {
        "timer": {"type": "IterTimerHook"},
        "param_scheduler": {"type": "ParamSchedulerHook"},
        "sampler_seed": {"type": "DistSamplerSeedHook"},
        "visualization": {"type": "SegVisualizationHook"},
    }
    for key in ("log_processor", "visualizer", "log_level", "load_from"):
        assert old[key] == new[key], key
    # env: MMSeg 1.x added mp_cfg (fork, no OpenCV threads); the rest is the 0.x runtime's.
    assert old["env_cfg"] == {k: v for k, v in new["env_cfg"].items() if k != "mp_cfg"}
    assert old["env_cfg"] == dict(dist_cfg=dict(backend="nccl"), cudnn_benchmark=True)


# -- a short training run on each side -----------------------------------------------------------


class Recorder(Hook):
    """LR/momentum in force at every iteration, the parameter groups, the first losses."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []
        self.momenta: list[list[float]] = []
        self.groups: list[tuple] = []
        self.first: dict[str, float] | None = None

    def before_train(self, runner):
        names = {id(p): n for n, p in runner.model.named_parameters()}
        for group in runner.optim_wrapper.optimizer.param_groups:
            self.groups.append(
                (
                    tuple(names[id(p)] for p in group["params"]),
                    group.get("initial_lr", group["lr"]),
                    group.get("weight_decay"),
                    group.get("momentum"),
                    group.get("betas"),
                )
            )

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append([g["lr"] for g in runner.optim_wrapper.optimizer.param_groups])
        self.momenta.append(runner.optim_wrapper.get_momentum()["momentum"])

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.first is None:
            self.first = {k: float(v) for k, v in outputs.items()}


def short_run(cfg: Config, tmp_path: Path) -> tuple[Recorder, list[str]]:
    small = one_iteration_config(cfg, tmp_path)
    small.train_cfg.max_iters = SHORT
    runner = Runner.from_cfg(small)
    recorder = Recorder()
    runner.register_hook(recorder)
    try:
        runner.train()
    finally:
        runner.close()
    assert runner.iter == SHORT
    return recorder, [type(h).__name__ for h in runner.hooks if h is not recorder]


def shortened_0x(name: str) -> Config:
    """The 0.x config on a SHORT schedule, as a user shortens it (--cfg-options)."""
    options: dict[str, Any] = {"runner.max_iters": SHORT}
    if name == SEGFORMER:
        options["lr_config.warmup_iters"] = WARMUP
    return load_0x(name, **options)


def shortened_1x(name: str, end_shift: int = 0) -> Config:
    """The 1.x config on a SHORT schedule: the scheduler ends/begins at max_iters or warm-up."""
    cfg = load_1x(name)
    max_iters = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = SHORT
    for scheduler in cfg.param_scheduler:
        for key in ("begin", "end"):
            if scheduler[key] == max_iters:
                scheduler[key] = SHORT + end_shift
            elif scheduler[key] != 0:  # SegFormer's warm-up boundary (1500)
                scheduler[key] = WARMUP + (end_shift if key == "end" else 0)
    return cfg


def mmcv_lrs(name: str, base: float) -> list[float]:
    """MMCV's PolyLrUpdaterHook (and linear warm-up) over SHORT iterations."""
    if name == SEGFORMER:  # power 1, min_lr 0; the warm-up multiplies the decayed lr
        return [
            base * (1 - i / SHORT) * (1 - (1 - i / WARMUP) * (1 - 1e-6) if i < WARMUP else 1)
            for i in range(SHORT)
        ]
    return [(base - 1e-4) * (1 - i / SHORT) ** 0.9 + 1e-4 for i in range(SHORT)]


def mmengine_lrs(name: str, base: float) -> list[float]:
    """MMEngine's PolyLR (reaches eta_min at end - begin - 1) after a LinearLR warm-up."""
    if name == SEGFORMER:
        warm = [1e-6 + (1 - 1e-6) * i / (WARMUP - 1) for i in range(WARMUP)]
        decay = [1 - (i - WARMUP) / (SHORT - WARMUP - 1) for i in range(WARMUP, SHORT)]
        return [base * f for f in warm + decay]
    return [(base - 1e-4) * (1 - i / (SHORT - 1)) ** 0.9 + 1e-4 for i in range(SHORT)]


@pytest.mark.parametrize("name", LEGACY)
def test_pair_trains_alike(name: str, tmp_path: Path):
    """Same groups, momentum, hooks (but the lr updater) and first loss; LR documented below."""
    old, old_hooks = short_run(shortened_0x(name), tmp_path / "old")
    new, new_hooks = short_run(shortened_1x(name), tmp_path / "new")

    assert new.groups == old.groups
    if name == SEGFORMER:  # custom_keys: a group per parameter; longest key first, then a-z
        for names, lr, decay, _, _ in old.groups:
            (param,) = names
            key = next((k for k in ("pos_block", "head", "norm") if k in param), None)
            assert lr == pytest.approx(6e-4 if key == "head" else 6e-5, rel=1e-12), param
            assert decay == (0.0 if key in ("pos_block", "norm") else 0.01), param
        # pos_block (a PVT name, kept in MMSeg's SegFormer configs) matches nothing in MiT
        matched = {k for g in old.groups for k in ("pos_block", "head", "norm") if k in g[0][0]}
        assert matched == {"head", "norm"}
    else:
        assert old.groups[1:] == [] and old.groups[0][1:4] == (0.01, 0.0005, 0.9)
    assert new.momenta == old.momenta == [[0.9] * len(old.groups)] * SHORT
    assert "ParamSchedulerHook" in old_hooks and "ParamSchedulerHook" in new_hooks
    # MMSeg 1.x's schedules add SegVisualizationHook (a no-op unless draw=True); 0.x has none
    # Same hooks; the 0.x run orders them by MMCV's priorities (issue 16, docs/migration.md).
    assert sorted(h for h in old_hooks if h != "PolyLrUpdaterHook") == sorted(
        h for h in new_hooks if h != "SegVisualizationHook"
    )
    assert "SegVisualizationHook" in new_hooks

    assert old.first is not None and new.first is not None
    if name == CE_DICE:  # issue 16: the 0.x dice term is MMSeg 0.30's Dice
        dice = [k for k in old.first if "loss_dice" in k]
        assert dice and all(old.first[k] != new.first[k] for k in dice)
        same = [k for k in old.first if k not in dice and k != "loss"]  # "loss": the sum
        assert {k: old.first[k] for k in same} == {k: new.first[k] for k in same}
    else:
        assert new.first == old.first

    # The LR is where MMSeg 0.x and 1.x really differ: MMCV's poly divides by max_iters and
    # never reaches min_lr; MMEngine's PolyLR divides by end - begin - 1 and reaches eta_min at
    # the last iteration. SegFormer's 0.x warm-up also multiplies the decaying poly, while 1.x
    # warms up to the full lr and only then starts a poly of its own.
    bases = [group[1] for group in old.groups]
    expected_old = [list(v) for v in zip(*(mmcv_lrs(name, b) for b in bases))]
    expected_new = [list(v) for v in zip(*(mmengine_lrs(name, b) for b in bases))]
    np.testing.assert_allclose(old.lrs, expected_old, rtol=1e-9, atol=0)
    np.testing.assert_allclose(new.lrs, expected_new, rtol=1e-9, atol=0)
    assert old.lrs[0] == pytest.approx(new.lrs[0], rel=1e-12)
    assert not np.allclose(old.lrs, new.lrs, rtol=1e-3)
    eta_min = 0.0 if name == SEGFORMER else 1e-4
    assert new.lrs[-1] == pytest.approx([eta_min] * len(bases), rel=1e-9, abs=1e-15)
    assert min(old.lrs[-1]) > eta_min * 1.5  # 0.x stops one decay step short of min_lr


@pytest.mark.parametrize("name", LEGACY)
def test_pair_lr_with_shifted_ends_is_the_0x_lr(name: str):
    """MMCV's 0.x schedule is MMEngine's with every end one iteration later.

    (And SegFormer's poly starting at 0, under the warm-up.) Computed without training.
    """
    old = native(shortened_0x(name)).to_dict()
    new = shortened_1x(name, end_shift=1).to_dict()
    if name == SEGFORMER:  # 0.x warms up *and* decays from iteration 0: both start at 0
        new["param_scheduler"][1]["begin"] = 0
    for cfg in (old, new):
        cfg["model"] = scale_down_model(cfg["model"])
    old_values, new_values = preview_schedule(old), preview_schedule(new)
    assert len(old_values["lr"][0]) == SHORT
    np.testing.assert_allclose(new_values["lr"], old_values["lr"], rtol=1e-9, atol=0)
    assert new_values["momentum"] == old_values["momentum"]
