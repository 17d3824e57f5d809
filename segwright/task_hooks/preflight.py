"""Checks before iteration 0 that save an hour (STYLE point 5).

The model's ``num_classes`` must match the training data's classes, and a sample of label maps
must hold only values in ``[0, num_classes) ∪ {ignore_index}`` — the cause of most "mIoU is
nan/zero" questions (mmsegmentation#1955, #3787); a detector's classifying heads likewise
(``roi_head.bbox_head``/``mask_head``). A backbone that needs input sizes divisible
by some number (UNet) must get such inputs at validation too, not only in training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import torch

from segwright.datasets.checks import check_dataset_labels, classes_setting
from segwright.engine.hooks import Hook
from segwright.models.class_counts import decode_heads, detector_num_classes, model_num_classes
from segwright.registry import HOOKS
from segwright.utils.errors import ConfigError


def predicts_dataset_classes(head: Any) -> bool:
    """Whether ``head``'s ``num_classes`` must be the dataset's number of classes.

    A head trained on other targets says so with ``predicts_dataset_classes = False`` (STDC's
    detail head learns the label map's boundaries: MMSeg's configs give it num_classes=2).
    """
    flag = getattr(head, "predicts_dataset_classes", True)
    return flag if isinstance(flag, bool) else True


def check_num_classes(model: Any, dataset: Any, where: str) -> None:
    """The model and each of its heads predict as many classes as the dataset names."""
    classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
    if not classes:
        return
    found = [
        (f"{key}.num_classes", getattr(head, "num_classes", None))
        for key, head in decode_heads(model)
        if predicts_dataset_classes(head)
    ]
    found = [(k, v) for k, v in found if isinstance(v, int) and not isinstance(v, bool)]
    if not found and model_num_classes(model) is not None:
        found = [("model.num_classes", model_num_classes(model))]
    wrong = [(k, v) for k, v in found if v != len(classes)]
    if not wrong:
        return
    shown = ", ".join(map(str, list(classes)[:6])) + (", ..." if len(classes) > 6 else "")
    heads = ", ".join(f"{k}={v}" for k, v in wrong)
    raise ConfigError(
        f"{heads}, but {where} has {len(classes)} classes ({shown}). Every head must predict "
        f"the dataset's classes: set num_classes={len(classes)} in "
        f"{' and '.join(k.rsplit('.', 1)[0] for k, _ in wrong)}, or choose the classes with "
        f"{where}.{classes_setting(dataset)}."
    )


def check_ignore_index(model: Any, dataset: Any, where: str, evaluator: Any = None) -> None:
    """Heads, dataset, metric and the preprocessor's ``seg_pad_val`` agree on ``ignore_index``.

    A disagreement trains or scores the ignored (or padded) pixels as a class, or fails deep in
    the loss with an out-of-range target.
    """
    model = getattr(model, "module", model)
    values = [
        (f"{key}.ignore_index", getattr(head, "ignore_index", None))
        for key, head in decode_heads(model)
    ]
    values.append((f"{where}.ignore_index", getattr(dataset, "ignore_index", None)))
    for index, metric in enumerate(getattr(evaluator, "metrics", None) or []):
        key = where.replace("dataloader.dataset", "evaluator")
        values.append((f"{key}[{index}].ignore_index", getattr(metric, "ignore_index", None)))
    pad = getattr(getattr(model, "data_preprocessor", None), "seg_pad_val", None)
    values.append(("model.data_preprocessor.seg_pad_val", pad))
    values = [
        (k, int(v)) for k, v in values if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    if len({v for _, v in values}) <= 1:
        return
    common = Counter(v for _, v in values).most_common(1)[0][0]
    odd = [f"{k}={v}" for k, v in values if v != common]
    raise ConfigError(
        f"ignore_index disagrees: {', '.join(odd)}, while "
        f"{', '.join(k for k, v in values if v == common)} use {common}. Pixels one part "
        "ignores another would train or score as a class (or fail with an out-of-range "
        f"target). Use one value everywhere (MMSeg's is 255), e.g. set {odd[0].split('=')[0]}="
        f"{common}."
    )


def first_sample(dataset: Any, where: str) -> Any:
    """Sample 0 after the pipeline; a ConfigError when the pipeline does not pack it."""
    if not len(dataset):
        return None
    sample = dataset[0]
    inputs = sample.get("inputs") if isinstance(sample, Mapping) else None
    if isinstance(inputs, torch.Tensor) and "data_samples" in sample:
        return sample
    views = sample.get("data_samples") if isinstance(sample, Mapping) else None
    if (  # a TTA pipeline: one packed sample per augmented view; check the first
        isinstance(inputs, (list, tuple))
        and inputs
        and all(isinstance(view, torch.Tensor) for view in inputs)
        and isinstance(views, (list, tuple))
        and len(views) == len(inputs)
    ):
        return dict(inputs=inputs[0], data_samples=views[0])
    got = sorted(sample) if isinstance(sample, Mapping) else type(sample).__name__
    raise ConfigError(
        f"The pipeline of {where} gives samples without an image tensor under 'inputs' and "
        f"'data_samples' (got {got}). It must read the image (LoadImageFromFile first) and end "
        f"with dict(type='PackSegInputs') (PackDetInputs for detection): check {where}.pipeline."
    )


def check_head_inputs(model: Any, sample: Any) -> None:
    """Each head's ``in_index``/``in_channels`` fit the backbone's (and neck's) outputs.

    One forward pass of sample 0 without gradients, in eval mode (BatchNorm statistics stay as
    they are); a mismatch would otherwise be a raw torch RuntimeError at iteration 0.
    """
    model = getattr(model, "module", model)
    extract = getattr(model, "extract_feat", None)
    preprocess = getattr(model, "data_preprocessor", None)
    if sample is None or extract is None or preprocess is None or not decode_heads(model):
        return
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            batch = preprocess(
                dict(inputs=[sample["inputs"]], data_samples=[sample["data_samples"]]), False
            )
            feats = extract(batch["inputs"])
            for key, head in decode_heads(model):
                _check_one_head(key, head, feats)
    finally:
        model.train(was_training)


def _channels(feats: Any) -> list[int]:
    return (
        [int(f.shape[1]) for f in feats]
        if isinstance(feats, (list, tuple))
        else [int(feats.shape[1])]
    )


def _check_one_head(key: str, head: Any, feats: Any) -> None:
    if not isinstance(feats, (list, tuple)) or not hasattr(head, "in_index"):
        return
    if not all(isinstance(f, torch.Tensor) for f in feats):
        return  # e.g. DPT's ViT gives [feature map, class token] per stage: not checked here
    channels = _channels(feats)
    indices = head.in_index if isinstance(head.in_index, (list, tuple)) else [head.in_index]
    bad = [i for i in indices if not isinstance(i, int) or not -len(channels) <= i < len(channels)]
    if bad:
        raise ConfigError(
            f"{key}.in_index={head.in_index!r}, but the backbone (and neck) give "
            f"{len(channels)} feature maps (indices 0..{len(channels) - 1}, channels "
            f"{channels}). Pick in_index among them (or the backbone's out_indices)."
        )
    try:
        head.forward(feats)
    except RuntimeError as exc:
        if "channels" not in str(exc) and "size" not in str(exc):
            raise
        chosen = [channels[i] for i in indices]
        raise ConfigError(
            f"{key}.in_channels={head.in_channels!r} does not fit its inputs: in_index="
            f"{head.in_index!r} selects feature maps with {chosen} channels (the backbone and "
            f"neck give {channels}). Set {key}.in_channels to "
            f"{chosen[0] if len(chosen) == 1 else chosen} (torch said: {exc})."
        ) from exc
    except TypeError:  # a cascade head's forward needs more than the features
        return


def check_detector_num_classes(model: Any, dataset: Any, where: str) -> None:
    """Every classifying head of a detector predicts as many classes as the dataset names.

    A fine-tuning config that changes the dataset's classes but not a head's ``num_classes``
    (or the reverse) trains without complaint and then finds nothing (MMDetection's most
    reported fine-tuning failure), so this is checked before iteration 0.
    """
    classes = (getattr(dataset, "metainfo", None) or {}).get("classes")
    wrong = [
        (key, value) for key, value in detector_num_classes(model) if value != len(classes or ())
    ]
    if not classes or not wrong:
        return
    shown = ", ".join(map(str, list(classes)[:6])) + (", ..." if len(classes) > 6 else "")
    heads = " and ".join(f"{key}={value}" for key, value in wrong)
    raise ConfigError(
        f"{where} has {len(classes)} classes ({shown}) but {heads}. Trained like this the "
        "detector's class scores do not match the dataset's labels (empty results, mAP 0). "
        f"Set num_classes={len(classes)} in {' and '.join(k.rsplit('.', 1)[0] for k, _ in wrong)}, "
        f"or choose the classes with {where}.{classes_setting(dataset)}."
    )


def _round_up(value: int, divisor: Any) -> int:
    if not isinstance(divisor, int) or divisor <= 1:
        return value
    return -(-value // divisor) * divisor


def _size_pair(value: Any) -> tuple[int, int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    return None


def inference_input_size(model: Any, image_size: tuple[int, int]) -> tuple[int, int]:
    """The ``(h, w)`` the backbone sees at validation/test for an image of ``image_size``.

    Follows the data preprocessor's ``test_cfg`` padding (``size``, ``size_divisor``), then
    ``model.test_cfg`` (a slide window of ``crop_size``, or the whole image).
    """
    h, w = image_size
    test_pad = getattr(getattr(model, "data_preprocessor", None), "test_cfg", None) or {}
    if test_pad.get("size") or test_pad.get("size_divisor"):
        size = _size_pair(test_pad.get("size"))
        if size is not None:
            h, w = max(h, size[0]), max(w, size[1])
        h, w = (
            _round_up(h, test_pad.get("size_divisor")),
            _round_up(w, test_pad.get("size_divisor")),
        )
    test_cfg = getattr(model, "test_cfg", None) or {}
    crop = _size_pair(test_cfg.get("crop_size"))
    if test_cfg.get("mode") == "slide" and crop is not None:
        h, w = min(h, crop[0]), min(w, crop[1])
    return h, w


def check_input_divisibility(model: Any, dataset: Any, where: str, num_samples: int = 2) -> None:
    """Images of ``dataset`` reach the backbone at a size it accepts (UNet's ``size_divisor``).

    Training batches are padded by ``data_preprocessor.size``/``size_divisor``, but validation
    and test inputs only by ``data_preprocessor.test_cfg``: without this check a UNet trains for
    the whole first ``val_interval`` and then fails at its first validation.

    Raises:
        ConfigError: A sampled image would reach the backbone at a size it rejects.
    """
    model = getattr(model, "module", model)
    backbone = getattr(model, "backbone", None)
    divisor = getattr(backbone, "size_divisor", None)
    if not isinstance(divisor, int) or divisor <= 1 or not len(dataset):
        return
    for index in sorted({0, len(dataset) - 1})[:num_samples]:
        try:
            inputs = dataset[index].get("inputs")
            image_size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
        except Exception:  # noqa: BLE001 - reading the data is not this check's business
            return
        h, w = inference_input_size(model, image_size)
        if h % divisor == 0 and w % divisor == 0:
            continue
        name = type(backbone).__name__
        raise ConfigError(
            f"{name} needs input height and width that are multiples of {divisor}, but image "
            f"{index} of {where} ({image_size[0]}x{image_size[1]} after its pipeline) reaches "
            f"it as {h}x{w} at validation/test, so the first validation would fail. Set "
            f"model.data_preprocessor.test_cfg=dict(size_divisor={divisor}) to pad validation "
            "and test inputs (predictions are cropped back; data_preprocessor.size_divisor "
            "pads training batches only), or use model.test_cfg=dict(mode='slide', "
            f"crop_size=..., stride=...) with a crop_size that is a multiple of {divisor}."
        )


def _map_dataset(loop: Any) -> Any:
    """The dataset a loop reads, when it is one the checks can index; else None.

    A loop of the user's own without a ``dataloader``, or an iterable-style dataset (no
    ``len``), is left alone: the checks read samples by index.
    """
    dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
        return None
    return dataset


@HOOKS.register_module(default_key="preflight")
class SegPreflightHook(Hook):
    """Runs the checks once, before training starts (and before a test or a lone validation).

    A default hook of every run (``default_hooks.preflight``; ``None`` there removes it), also
    of ``Runner.from_cfg(cfg).train()`` and runs whose model or data are not segmentation's:
    each check looks only at what it understands and says nothing about the rest.

    Args:
        num_samples: Label maps read from each training dataset.
    """

    priority = "VERY_HIGH"

    def __init__(self, num_samples: int = 20) -> None:
        self.num_samples = num_samples

    def before_train(self, runner: Any) -> None:
        dataset = _map_dataset(runner.train_loop)
        if dataset is None:
            return
        self._check_model_and_data(runner, dataset, "train_dataloader.dataset", heads=True)
        val_dataset = _map_dataset(runner.val_loop)
        if val_dataset is not None:
            self._check_model_and_data(
                runner, val_dataset, "val_dataloader.dataset", runner.val_loop
            )
            check_input_divisibility(runner.model, val_dataset, "val_dataloader.dataset")
        report = check_dataset_labels(dataset, num_samples=self.num_samples)
        for warning in report.warnings:
            runner.logger.warning(f"Pre-flight: train_dataloader.dataset: {warning}")
        if report.num_checked:
            total = sum(report.pixel_counts.values()) or 1
            shares = ", ".join(
                f"{v}: {100 * n / total:.1f}%" for v, n in sorted(report.pixel_counts.items())
            )
            runner.logger.info(
                f"Pre-flight: {report.num_checked} label maps checked; label values (share of pixels): {shares}."
            )

    def before_val(self, runner: Any) -> None:
        if runner.train_loop is None:  # `segwright val` / Runner.val(); in training, checked
            self._check_eval(runner, runner.val_loop, "val")

    def before_test(self, runner: Any) -> None:
        self._check_eval(runner, runner.test_loop, "test")

    def _check_eval(self, runner: Any, loop: Any, mode: str) -> None:
        dataset = _map_dataset(loop)
        if dataset is None or getattr(self, f"_checked_{mode}", False):
            return
        setattr(self, f"_checked_{mode}", True)
        where = f"{mode}_dataloader.dataset"
        self._check_model_and_data(runner, dataset, where, loop, heads=True)
        check_input_divisibility(runner.model, dataset, where)

    @staticmethod
    def _check_model_and_data(
        runner: Any, dataset: Any, where: str, loop: Any = None, heads: bool = False
    ) -> None:
        """Classes, ignore_index, packed samples and (``heads``) the heads' inputs."""
        model = runner.model
        check_num_classes(model, dataset, where)
        check_detector_num_classes(model, dataset, where)
        check_ignore_index(model, dataset, where, getattr(loop, "evaluator", None))
        if getattr(getattr(model, "module", model), "data_preprocessor", None) is None:
            return  # not a segmentor fed by a pipeline (a toy model, a plain module)
        sample = first_sample(dataset, where)
        if heads:
            check_head_inputs(model, sample)
