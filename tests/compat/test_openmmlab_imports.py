"""User modules written for MMCV/MMEngine/MMSeg import unchanged through ``custom_imports``."""

from __future__ import annotations

import copy
import importlib
import logging
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from segwright.compat import MODULES, openmmlab_names
from segwright.compat.finder import is_shim
from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import HOOKS, MODELS, OPTIMIZERS
from segwright.testing import toy_config

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]

TINY_UNET = dict(
    type="EncoderDecoder",
    data_preprocessor=dict(type="SegDataPreProcessor", mean=[0, 0, 0], std=[255, 255, 255]),
    backbone=dict(
        type="UNet",
        base_channels=4,
        num_stages=3,
        strides=(1, 1, 1),
        enc_num_convs=(1, 1, 1),
        dec_num_convs=(1, 1),
        downsamples=(True, True),
        enc_dilations=(1, 1, 1),
        dec_dilations=(1, 1),
    ),  # fmt: skip
    test_cfg=dict(mode="whole"),
)

WriteModule = Callable[[str], tuple[str, str]]


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteModule]:
    """Write a user module (``{s}`` in the text becomes a unique suffix); returns (module, s)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    written: list[str] = []

    def write(text: str) -> tuple[str, str]:
        suffix = uuid.uuid4().hex[:8]
        name = f"user_mm_module_{suffix}"
        (site / f"{name}.py").write_text(
            textwrap.dedent(text).replace("{s}", suffix), encoding="utf-8"
        )
        written.append(name)
        return name, suffix

    yield write
    for name in written:
        sys.modules.pop(name, None)


def _train_one_iter(tmp_path: Path, module: str, **overrides: object) -> Runner:
    cfg = toy_config(tmp_path / "run", max_iters=1, val_interval=10, **overrides)
    cfg["param_scheduler"] = []
    cfg["custom_imports"] = dict(imports=[module], allow_failed_imports=False)
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    assert runner.iter == 1
    return runner


def test_tutorial_custom_optimizer_and_constructor_train(tmp_path, write_module):
    # The runtime-settings tutorial's module, as written for MMCV 1.x.
    module, s = write_module(
        """
        from mmcv.runner.optimizer import OPTIMIZER_BUILDERS, OPTIMIZERS
        from mmcv.utils import build_from_cfg
        from torch.optim import SGD


        @OPTIMIZERS.register_module()
        class MyOptimizer{s}(SGD):
            def __init__(self, params, a, b, c):
                super().__init__(params, lr=a, momentum=b, weight_decay=c)


        @OPTIMIZER_BUILDERS.register_module()
        class MyOptimizerConstructor{s}(object):
            def __init__(self, optimizer_cfg, paramwise_cfg=None):
                self.optimizer_cfg = optimizer_cfg

            def __call__(self, model):
                cfg = dict(self.optimizer_cfg, params=model.parameters())
                return build_from_cfg(cfg, OPTIMIZERS)
        """
    )
    optim_wrapper = dict(
        type="OptimWrapper",
        optimizer=dict(type=f"MyOptimizer{s}", a=0.01, b=0.9, c=1e-4),
        constructor=f"MyOptimizerConstructor{s}",
    )
    runner = _train_one_iter(tmp_path, module, optim_wrapper=optim_wrapper)
    optimizer = runner.optim_wrapper.optimizer
    assert type(optimizer) is OPTIMIZERS.get(f"MyOptimizer{s}")
    assert optimizer.param_groups[0]["momentum"] == 0.9


def test_tutorial_optimizer_in_a_0x_config(tmp_path, write_module):
    module, s = write_module(
        """
        from mmcv.runner import OPTIMIZERS
        from torch.optim import SGD


        @OPTIMIZERS.register_module()
        class OldStyleOptimizer{s}(SGD):
            def __init__(self, params, a, b, c):
                super().__init__(params, lr=a, momentum=b, weight_decay=c)
        """
    )
    cfg = tmp_path / "cfg0.py"
    cfg.write_text(
        textwrap.dedent(
            f"""
            custom_imports = dict(imports=['{module}'], allow_failed_imports=False)
            model = dict(type='ToySegModel', channels=4, num_classes=2)
            data = dict(samples_per_gpu=2, workers_per_gpu=0,
                        train=dict(type='ToySegDataset', num_samples=4, size=(16, 16)))
            optimizer = dict(type='OldStyleOptimizer{s}', a=0.01, b=0.9, c=1e-4)
            optimizer_config = dict()
            lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
            runner = dict(type='IterBasedRunner', max_iters=1)
            work_dir = {str(tmp_path / "run")!r}
            device = 'cpu'
            """
        ),
        encoding="utf-8",
    )
    runner = Runner.from_cfg(Config.fromfile(cfg, import_custom_modules=False))
    runner.train()
    assert type(runner.optim_wrapper.optimizer).__name__ == f"OldStyleOptimizer{s}"


def test_custom_dataset_class_attributes_become_metainfo(write_module):
    module, s = write_module(
        """
        from mmseg.datasets import DATASETS, CustomDataset


        @DATASETS.register_module()
        class OldDataset{s}(CustomDataset):
            CLASSES = ('background', 'cell')
            PALETTE = [[0, 0, 0], [255, 0, 0]]
        """
    )
    with openmmlab_names():
        user = importlib.import_module(module)
    meta = getattr(user, f"OldDataset{s}").METAINFO
    assert meta["classes"] == ("background", "cell") and meta["palette"][1] == [255, 0, 0]


def test_mmcv_default_optimizer_constructor_subclass(write_module):
    module, s = write_module(
        """
        from mmcv.runner import OPTIMIZER_BUILDERS, DefaultOptimizerConstructor, build_optimizer


        @OPTIMIZER_BUILDERS.register_module()
        class HeadTenX{s}(DefaultOptimizerConstructor):
            def add_params(self, params, module, prefix='', is_dcn_module=None):
                for name, param in module.named_parameters():
                    lr = self.base_lr * (10 if name.startswith('head') else 1)
                    params.append(dict(params=[param], lr=lr))
        """
    )
    with openmmlab_names():
        user = importlib.import_module(module)
    model = torch.nn.ModuleDict(dict(body=torch.nn.Linear(2, 2), head=torch.nn.Linear(2, 1)))
    optimizer = user.build_optimizer(
        model,
        dict(type="SGD", lr=0.1, constructor=f"HeadTenX{s}", paramwise_cfg=dict(custom_keys={})),
    )
    assert isinstance(optimizer, torch.optim.SGD)
    assert sorted(g["lr"] for g in optimizer.param_groups) == pytest.approx([0.1, 0.1, 1.0, 1.0])


def test_mmseg_1x_head_trains(tmp_path, write_module):
    module, s = write_module(
        """
        from mmcv.cnn import ConvModule
        from mmseg.models.decode_heads.decode_head import BaseDecodeHead
        from mmseg.registry import MODELS


        @MODELS.register_module()
        class MyHead{s}(BaseDecodeHead):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.conv = ConvModule(self.in_channels, self.channels, 3, padding=1,
                                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

            def forward(self, inputs):
                return self.cls_seg(self.conv(self._transform_inputs(inputs)))
        """
    )
    model = copy.deepcopy(TINY_UNET)
    model["decode_head"] = dict(
        type=f"MyHead{s}", in_channels=4, in_index=2, channels=4, num_classes=2
    )
    runner = _train_one_iter(tmp_path, module, model=model)
    assert type(runner.model.decode_head).__name__ == f"MyHead{s}"
    assert type(runner.model.decode_head) is MODELS.get(f"MyHead{s}")


def test_mmengine_and_mmcv_hooks_run(tmp_path, write_module):
    module, s = write_module(
        """
        from mmcv.runner import HOOKS as MMCV_HOOKS, Hook as MMCVHook
        from mmengine.hooks import Hook
        from mmseg.registry import HOOKS

        CALLS = []


        @HOOKS.register_module()
        class EngineHook{s}(Hook):
            priority = 'LOW'

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                CALLS.append(('engine', runner.iter, batch_idx))


        @MMCV_HOOKS.register_module()
        class OldIterHook{s}(MMCVHook):
            def after_train_iter(self, runner):
                CALLS.append(('mmcv', self.every_n_iters(runner, 1)))


        @MMCV_HOOKS.register_module()
        class OldGenericHook{s}(MMCVHook):
            def before_iter(self, runner):
                CALLS.append(('generic', runner.iter))
        """
    )
    hooks = [dict(type=f"{name}{s}") for name in ("EngineHook", "OldIterHook", "OldGenericHook")]
    _train_one_iter(tmp_path, module, custom_hooks=hooks)
    calls = sys.modules[module].CALLS
    assert ("generic", 0) in calls and ("mmcv", True) in calls and ("engine", 0, 0) in calls
    assert HOOKS.get(f"OldIterHook{s}") is not None


def test_unsupported_name_names_the_equivalent(tmp_path, write_module):
    module, _ = write_module("from mmcv.runner import load_checkpoint\n")
    cfg = tmp_path / "cfg.py"
    cfg.write_text(f"custom_imports = dict(imports=['{module}'])\n", encoding="utf-8")
    with pytest.raises(ImportError, match="segwright.engine.checkpoint.load_checkpoint"):
        Config.fromfile(cfg)
    assert not any(is_shim(m) for m in list(sys.modules.values()))  # gone after a failure too
    with openmmlab_names(), pytest.raises(ImportError, match=r"segwright\.ops"):
        importlib.import_module("mmcv.ops")
    with openmmlab_names(), pytest.raises(ImportError, match="build_upsample_layer"):
        from mmcv.cnn import build_upsample_layer  # noqa: F401


def test_shims_exist_only_while_loading(write_module):
    with pytest.raises(ImportError):
        importlib.import_module("mmseg.registry")
    with openmmlab_names():
        assert importlib.import_module("mmseg.registry").MODELS is MODELS
        with openmmlab_names():  # re-entrant
            pass
        assert importlib.import_module("mmengine.registry").HOOKS is HOOKS
    assert not any(is_shim(m) for m in list(sys.modules.values()))
    with pytest.raises(ImportError):
        importlib.import_module("mmseg")


def test_real_package_is_never_shadowed(tmp_path, monkeypatch, write_module):
    fake = tmp_path / "fake_site" / "mmcv"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(fake.parent))
    monkeypatch.delitem(sys.modules, "mmcv", raising=False)
    try:
        with openmmlab_names():
            assert importlib.import_module("mmcv").REAL is True
            with pytest.raises(ModuleNotFoundError, match="mmcv.runner"):
                importlib.import_module("mmcv.runner")  # the real mmcv has none: no shim either
            assert importlib.import_module("mmseg.registry").MODELS is MODELS  # others still shim
    finally:
        sys.modules.pop("mmcv", None)


def test_mmdet_registry_registers_in_the_mmdet_scope(write_module):
    module, s = write_module(
        """
        from mmdet.registry import MODELS

        @MODELS.register_module()
        class DetThing{s}:
            pass
        """
    )
    with openmmlab_names():
        importlib.import_module(module)
    assert MODELS.get(f"DetThing{s}") is None
    assert MODELS.get(f"mmdet.DetThing{s}") is not None


def test_logging_helpers_use_the_segwright_logger(caplog):
    with openmmlab_names():
        from mmengine.logging import MMLogger, print_log
        from mmseg.utils import get_root_logger
    assert MMLogger.get_current_instance() is get_root_logger()
    assert get_root_logger().name == "segwright"
    logger = logging.getLogger("user_compat_test")
    with caplog.at_level(logging.INFO, logger="user_compat_test"):
        print_log("hello from a user module", logger=logger)
    assert "hello from a user module" in caplog.text


def test_every_listed_name_resolves():
    with openmmlab_names():
        for name, names in MODULES.items():
            module = importlib.import_module(name)
            for attr in names:
                assert getattr(module, attr) is not None, f"{name}.{attr}"


def test_docs_list_the_covered_names():
    text = (Path(__file__).parents[2] / "docs" / "openmmlab-modules.md").read_text(encoding="utf-8")
    section = text.split("# Modules written for MMSeg, MMCV or MMEngine", 1)[1].split("\n## ")[0]
    listed: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`mm"):
            names = set() if cells[1].startswith("—") else {n.strip() for n in cells[1].split(",")}
            for module in cells[0].split(","):
                listed[module.strip(" `")] = names
    assert listed == {name: set(names) for name, names in MODULES.items()}
