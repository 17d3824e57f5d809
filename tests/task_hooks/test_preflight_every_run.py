"""Pre-flight on every run: ``Runner.from_cfg(cfg)`` and ``Runner(...)`` get the checks too.

``SegPreflightHook`` registers itself with ``default_key='preflight'``; the runner adds every
such hook to its default hooks, so ``default_hooks.preflight=None`` removes it and
``default_hooks.preflight=dict(...)`` replaces it, as for MMEngine's default hooks.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import IterableDataset

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.registry import HOOKS
from segwright.task_hooks.preflight import SegPreflightHook
from segwright.testing import ToySegDataset, toy_config
from segwright.utils.errors import ConfigError

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

#: An EncoderDecoder whose FCN head predicts 5 classes (the toy data has 2).
FIVE_CLASS_SEGMENTOR = dict(
    type="EncoderDecoder",
    data_preprocessor=dict(type="SegDataPreProcessor", mean=[0, 0, 0], std=[255, 255, 255]),
    backbone=dict(
        type="UNet",
        base_channels=4,
        num_stages=2,
        strides=(1, 1),
        enc_num_convs=(1, 1),
        dec_num_convs=(1,),
        downsamples=(True,),
        enc_dilations=(1, 1),
        dec_dilations=(1,),
    ),  # fmt: skip
    decode_head=dict(
        type="FCNHead", in_channels=4, in_index=1, channels=4, num_convs=1, num_classes=5
    ),
    test_cfg=dict(mode="whole"),
)

TOY_FIVE = dict(type="ToySegModel", channels=4, num_classes=5)


def _config(tmp_path, model, **overrides):
    """The toy config (2 classes) with ``model``, one training iteration and a test split."""
    torch.set_num_threads(1)
    cfg = toy_config(tmp_path, max_iters=1, val_interval=1, model=model, **overrides)
    cfg["test_dataloader"] = dict(
        batch_size=1,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        dataset=dict(type="ToySegDataset", num_samples=2, size=(16, 16), seed=2),
    )
    cfg["test_evaluator"] = dict(type="IoUMetric", iou_metrics=["mIoU"])
    cfg["test_cfg"] = dict(type="TestLoop")
    return cfg


def _without_preflight(cfg):
    cfg["default_hooks"] = dict(cfg["default_hooks"], preflight=None)
    return cfg


@pytest.mark.parametrize(
    "model, key",
    [(FIVE_CLASS_SEGMENTOR, "model.decode_head.num_classes=5"), (TOY_FIVE, "model.num_classes=5")],
    ids=["segmentor", "toy"],
)
def test_from_cfg_train_runs_the_preflight(tmp_path, model, key):
    runner = Runner.from_cfg(Config(_config(tmp_path, model)))
    try:
        with pytest.raises(ConfigError) as info:
            runner.train()
    finally:
        runner.close()
    message = str(info.value)
    assert key in message and "train_dataloader.dataset has 2 classes" in message
    assert "set num_classes=2" in message
    assert not list(tmp_path.rglob("iter_*.pth"))  # stopped before iteration 0


def test_from_cfg_test_runs_the_preflight(tmp_path):
    runner = Runner.from_cfg(Config(_config(tmp_path, FIVE_CLASS_SEGMENTOR)))
    try:
        with pytest.raises(ConfigError, match="test_dataloader.dataset has 2 classes"):
            runner.test()
    finally:
        runner.close()


def test_default_hooks_preflight_none_removes_it(tmp_path):
    cfg = _without_preflight(_config(tmp_path, TOY_FIVE))
    runner = Runner.from_cfg(Config(cfg))
    try:
        assert not any(isinstance(h, SegPreflightHook) for h in runner.hooks)
        runner.train()  # 5 logits on 2-class labels: cross-entropy still computes
        metrics = runner.test()
    finally:
        runner.close()
    assert (tmp_path / "iter_1.pth").exists()
    assert "mIoU" in metrics


def test_default_hooks_preflight_none_lets_a_segmentor_test(tmp_path):
    cfg = _without_preflight(_config(tmp_path, FIVE_CLASS_SEGMENTOR))
    runner = Runner.from_cfg(Config(cfg))
    try:
        metrics = runner.test()
    finally:
        runner.close()
    assert "mIoU" in metrics


def test_default_hooks_preflight_dict_replaces_it(tmp_path):
    cfg = _config(tmp_path, TOY_FIVE)
    cfg["default_hooks"]["preflight"] = dict(type="SegPreflightHook", num_samples=1)
    runner = Runner.from_cfg(Config(cfg))
    try:
        found = [h for h in runner.hooks if isinstance(h, SegPreflightHook)]
        assert len(found) == 1 and found[0].num_samples == 1
        with pytest.raises(ConfigError, match="model.num_classes=5"):
            runner.train()
    finally:
        runner.close()


def test_runner_built_directly_has_the_preflight(tmp_path):
    runner = Runner(model=dict(type="ToySegModel"), work_dir=tmp_path, device="cpu")
    try:
        names = [type(h).__name__ for h in runner.hooks]
    finally:
        runner.close()
    assert names.count("SegPreflightHook") == 1
    assert HOOKS.default_specs()["preflight"] == dict(type="SegPreflightHook")


def test_a_matching_run_trains_with_the_preflight(tmp_path):
    runner = Runner.from_cfg(Config(_config(tmp_path, dict(TOY_FIVE, num_classes=2))))
    try:
        runner.train()
    finally:
        runner.close()
    assert (tmp_path / "iter_1.pth").exists()
    log = (runner.log_dir / f"{runner.timestamp}.log").read_text()
    assert "Pre-flight: 8 label maps checked" in log


class _Stream(IterableDataset):
    def __iter__(self):
        return iter(())


@pytest.mark.parametrize(
    "loop",
    [
        SimpleNamespace(),  # a loop of the user's own, without a dataloader
        SimpleNamespace(dataloader=SimpleNamespace(dataset=_Stream())),  # no len()
        None,
    ],
    ids=["no-dataloader", "iterable-dataset", "no-loop"],
)
def test_loops_it_cannot_read_are_left_alone(loop):
    logger = SimpleNamespace(info=pytest.fail, warning=pytest.fail)  # says nothing at all
    runner = SimpleNamespace(
        model=torch.nn.Linear(2, 2), train_loop=loop, val_loop=None, test_loop=loop, logger=logger
    )
    hook = SegPreflightHook()
    hook.before_train(runner)
    hook.before_test(runner)


def test_a_plain_model_on_segmentation_data_is_checked_only_where_it_can_be():
    """A model without ``num_classes``, heads or preprocessor: only the label maps are read."""
    messages = []
    logger = SimpleNamespace(info=messages.append, warning=pytest.fail)
    dataset = ToySegDataset(num_samples=3, size=(8, 8))
    runner = SimpleNamespace(
        model=torch.nn.Linear(2, 2),
        train_loop=SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset)),
        val_loop=None,
        logger=logger,
    )
    SegPreflightHook(num_samples=3).before_train(runner)
    assert len(messages) == 1 and messages[0].startswith("Pre-flight: 3 label maps checked")


def _segmentor_with_heads(*heads):
    model = torch.nn.Module()
    model.decode_head = heads[0]
    model.auxiliary_head = torch.nn.ModuleList(heads[1:])
    return model


def _head(num_classes, kind=torch.nn.Module):
    head = kind()
    head.num_classes = num_classes
    return head


def test_stdc_boundary_head_is_not_held_to_the_dataset_classes():
    """MMSeg's STDC configs give the detail head num_classes=2 on 19-class Cityscapes."""
    from segwright.registry import MODELS
    from segwright.task_hooks.preflight import check_num_classes

    stdc = MODELS.build(
        dict(type="STDCHead", in_channels=4, channels=4, num_convs=1, num_classes=2)
    )
    dataset = SimpleNamespace(metainfo=dict(classes=tuple("abc")))
    check_num_classes(_segmentor_with_heads(_head(3), _head(3), stdc), dataset, "d")
    with pytest.raises(ConfigError, match=r"model.auxiliary_head\[0\].num_classes=2"):
        check_num_classes(_segmentor_with_heads(_head(3), _head(2), stdc), dataset, "d")


def test_a_head_class_can_say_it_predicts_other_targets():
    class EdgeHead(torch.nn.Module):
        predicts_dataset_classes = False

    dataset = SimpleNamespace(metainfo=dict(classes=tuple("abc")))
    from segwright.task_hooks.preflight import check_num_classes

    check_num_classes(_segmentor_with_heads(_head(3), _head(1, EdgeHead)), dataset, "d")


def test_heads_fed_other_than_tensors_are_not_checked():
    """DPT's ViT gives ``[feature map, class token]`` per stage: nothing to count channels of."""
    from segwright.task_hooks.preflight import _check_one_head

    head = SimpleNamespace(in_index=0, in_channels=4, forward=pytest.fail)
    _check_one_head("model.decode_head", head, [[torch.zeros(1, 4, 2, 2), torch.zeros(1, 4)]])
