"""The Python API for predictions: ``init_model``, ``inference_model``, ``show_result``.

The same calls serve segmentors (MMSegmentation configs) and detectors (MMDetection configs):
the result's type says which, and ``show_result`` draws either.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.config import Config, load_config
from segwright.engine.checkpoint import load_checkpoint, require_fit
from segwright.engine.checkpoint_compat import (
    caffe_into_pytorch_warning,
    checkpoint_classes,
    classes_differ_message,
)
from segwright.engine.data import pseudo_collate
from segwright.engine.safe_unpickle import trusted_pickles
from segwright.registry import MODELS, TRANSFORMS, default_scope
from segwright.utils.errors import ConfigError

ImageInput = str | os.PathLike | np.ndarray
logger = logging.getLogger("segwright")


def _as_config(config: str | os.PathLike | Config) -> Config:
    """The config in the 1.x schema (an MMSeg 0.x one translated, provenance kept)."""
    return load_config(config)


def init_model(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: dict[str, Any] | None = None,
    trust_checkpoint: bool = False,
    allow_partial: bool = False,
) -> nn.Module:
    """Build the config's model, load a checkpoint into it, and put it in eval mode on ``device``.

    The model gets ``cfg`` and ``dataset_meta`` (classes, palette: from the checkpoint when it
    has them, else from the config's test dataset) attributes, used by ``inference_model``.

    Args:
        allow_partial: Load only what fits (and log a table of the rest) when keys of the model
            are missing from the checkpoint or have another shape there. By default such a
            checkpoint is refused. Extra checkpoint keys (an auxiliary head, EMA copies) are
            ignored either way.

    Raises:
        CheckpointMismatchError: the checkpoint does not cover the model and ``allow_partial``
            is false.
    """
    cfg = _as_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = copy.deepcopy(cfg.model.to_dict())
    model_cfg.pop("pretrained", None)
    if isinstance(model_cfg.get("backbone"), dict):
        model_cfg["backbone"].pop("init_cfg", None)  # weights come from the checkpoint
    if "data_preprocessor" not in model_cfg and cfg.get("data_preprocessor") is not None:
        model_cfg["data_preprocessor"] = cfg.data_preprocessor.to_dict()
    # 'mmdet': MMDetection's meaning of names; a pickled class_weight file only when trusted
    with default_scope(cfg.get("default_scope")), trusted_pickles(trust_checkpoint):
        model = MODELS.build(model_cfg, key="model")
    meta: dict[str, Any] = {}
    if checkpoint is not None:
        loaded, report = load_checkpoint(model, checkpoint, trusted=trust_checkpoint)
        if not allow_partial:
            require_fit(report, checkpoint, "pass allow_partial=True to init_model")
        meta = dict((loaded.get("meta") or {}).get("dataset_meta") or {})
        if not report.exact:
            logger.warning(report.summary())
        style_warning = caffe_into_pytorch_warning(model, loaded, checkpoint)
        if style_warning:
            logger.warning(style_warning)
        meta = _choose_dataset_meta(model, meta, loaded, _config_dataset_meta(cfg), checkpoint)
    if not meta:
        meta = _config_dataset_meta(cfg)
    model.cfg = cfg
    model.dataset_meta = meta
    return model.to(device).eval()


def _choose_dataset_meta(
    model: nn.Module,
    stored: dict[str, Any],
    checkpoint: dict[str, Any],
    configured: dict[str, Any],
    source: Any,
) -> dict[str, Any]:
    """The checkpoint's dataset metainfo, unless its class names differ from the config's.

    When they differ, the config's names are kept, unless only the checkpoint's match the
    number of classes the model predicts; either way a warning names both lists.
    """
    from segwright.models.class_counts import detector_num_classes, model_num_classes

    stored_classes = checkpoint_classes(checkpoint)
    if stored_classes and "classes" not in stored:
        stored = {**stored, "classes": stored_classes}  # MMDetection 2.x: meta['CLASSES']
    configured_classes = configured.get("classes")
    heads = detector_num_classes(model)
    predicted = heads[0][1] if heads else model_num_classes(model)
    use_stored = (
        stored_classes is not None
        and configured_classes is not None
        and predicted == len(stored_classes) != len(configured_classes)
    )
    kept = (
        "Using the checkpoint's: only they match the model's num_classes."
        if use_stored
        else "Using the config's; set model.dataset_meta to change that."
    )
    found = classes_differ_message(
        stored_classes, configured_classes, str(source), "the config's test dataset", kept
    )
    if found is None:
        return stored
    logger.warning(found[1])
    return stored if use_stored else configured


def _config_dataset_meta(cfg: Config) -> dict[str, Any]:
    for key in ("test_dataloader", "val_dataloader", "train_dataloader"):
        dataset_cfg = (cfg.get(key) or {}).get("dataset")
        if not dataset_cfg:
            continue
        meta = dict(dataset_cfg.get("metainfo") or {})
        if "classes" not in meta:
            from segwright.registry import DATASETS

            dataset_cls = DATASETS.get(str(dataset_cfg.get("type")))
            meta = dict(getattr(dataset_cls, "METAINFO", {}) or {})
        if meta:
            return meta
    return {}


def _test_pipeline(cfg: Config, from_array: bool) -> Any:
    dataset_cfg = None
    for key in ("test_dataloader", "val_dataloader"):
        dataset_cfg = (cfg.get(key) or {}).get("dataset")
        if dataset_cfg and dataset_cfg.get("pipeline"):
            break
    steps = [dict(t) for t in (dataset_cfg or {}).get("pipeline", [])] or [
        dict(type="LoadImageFromFile"),
        dict(type="PackSegInputs"),
    ]
    steps = [s for s in steps if s.get("type") not in ("LoadAnnotations",)]
    if from_array:
        for step in steps:
            if step.get("type") == "LoadImageFromFile":
                step["type"] = "LoadImageFromNDArray"
    from segwright.datasets.transforms import Compose

    TRANSFORMS.import_builtins()
    with default_scope(cfg.get("default_scope")):  # 'mmdet': MMDetection's Resize
        return Compose(steps)


@torch.no_grad()
def inference_model(
    model: nn.Module, images: ImageInput | Sequence[ImageInput], batch_size: int = 4
) -> Any:
    """Predict one image (path or BGR array) or a list of them (run in batches).

    Images of different sizes may be mixed: each batch holds images of one size (after the test
    pipeline), and the results come back in the order of ``images``.

    Returns a ``SegDataSample`` (or a list) with ``pred_sem_seg`` and ``seg_logits`` at the
    original image size; for a detector (an MMDetection config) a ``DetDataSample`` with
    ``pred_instances``: ``bboxes`` ``(N, 4)`` as ``x1, y1, x2, y2`` in original image pixels,
    ``scores``, ``labels`` and, for Mask R-CNN, ``masks`` ``(N, H, W)`` bool at the original
    size (best score first; the config's ``test_cfg`` sets the score threshold and count).
    """
    single = isinstance(images, (str, os.PathLike, np.ndarray))
    items = [images] if single else list(images)
    results: list[Any] = [None] * len(items)
    for index, result in iter_inference(model, items, batch_size):
        results[index] = result
    return results[0] if single else results


@torch.no_grad()
def iter_inference(
    model: nn.Module, images: Iterable[ImageInput], batch_size: int = 4
) -> Iterator[tuple[int, Any]]:
    """Predict images in batches of equal size; yield ``(input index, result)`` as batches finish.

    A batch runs once ``batch_size`` images of one size (after the test pipeline) are waiting.
    At most ``4 * batch_size`` prepared images wait at a time: beyond that the largest waiting
    group runs even when not full, so a long stream of mixed sizes keeps memory bounded. The
    rest runs at the end. Results therefore come out of input order; the index says which
    image each belongs to.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a whole number of at least 1, got {batch_size!r}.")
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise ConfigError(
            "inference_model needs a model made by init_model (it carries its config)."
        )
    pipelines: dict[bool, Any] = {}
    waiting: dict[Any, list[tuple[int, Any]]] = {}
    count = 0
    for index, item in enumerate(images):
        from_array = isinstance(item, np.ndarray)
        pipeline = pipelines.setdefault(from_array, _test_pipeline(cfg, from_array))
        if from_array:
            data = dict(img=item)
        else:
            path = Path(item)
            if not path.is_file():
                raise ConfigError(f"Image not found: {path}.")
            data = dict(img_path=str(path))
        packed = pipeline(data)
        key = _size_key(packed.get("inputs"))
        group = waiting.setdefault(key if key is not None else ("alone", index), [])
        group.append((index, packed))
        count += 1
        if len(group) >= batch_size or count >= 4 * batch_size:
            # max() keeps the first (oldest) of equally large groups
            ready = max(waiting, key=lambda k: len(waiting[k]))
            batch = waiting.pop(ready)
            count -= len(batch)
            yield from _predict_batch(model, batch)
    for batch in waiting.values():
        yield from _predict_batch(model, batch)


def _size_key(inputs: Any) -> Any:
    """The shapes of a packed sample's inputs (images batch together only when these agree)."""
    if isinstance(inputs, torch.Tensor):
        return tuple(inputs.shape)
    if isinstance(inputs, (list, tuple)):
        keys = tuple(_size_key(x) for x in inputs)
        return None if None in keys else keys
    return None


def _predict_batch(model: nn.Module, batch: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    results = model.test_step(pseudo_collate([packed for _, packed in batch]))
    return zip((index for index, _ in batch), results)


def show_result(
    image: ImageInput,
    result: Any,
    opacity: float = 0.5,
    out_file: str | os.PathLike | None = None,
    palette: Sequence[Sequence[int]] | None = None,
    with_labels: bool = False,
    *,
    model: nn.Module | None = None,
    classes: Sequence[str] | None = None,
    title: str | None = "prediction",
    legend: bool = True,
    score_thr: float = 0.3,
) -> np.ndarray:
    """Draw a prediction over its image (BGR), titled, with a colour legend underneath.

    A detector's result (``pred_instances``) is drawn at the image's size instead: each
    instance above ``score_thr`` with its mask blended in (``opacity``), its box, and
    ``class score`` over the box (``title``, ``legend`` and ``with_labels`` do not apply).

    Colours and names come from ``palette``/``classes``, else from ``model.dataset_meta``
    (what ``init_model`` stores: the checkpoint's dataset metainfo, else the config's
    dataset), else the automatic palette. ``segwright infer`` and ``segwright test
    --show-dir`` paint with the same colours.

    Args:
        image: Path or BGR array.
        result: A ``SegDataSample`` or ``DetDataSample`` from ``inference_model``.
        opacity: Weight of the class colours over the image.
        out_file: Also save the picture there.
        with_labels: Write class names on the predicted regions (MMSeg's ``with_labels``).
        model: The model from ``init_model``, for its palette and class names.
        title: Text above the picture; None for none.
        legend: List the classes' colours under the picture (all when few, else those
            predicted). Without title, legend and labels, the picture is the image's size.
        score_thr: Lowest score of a drawn instance (detections only).

    Returns:
        The picture that is saved.
    """
    import cv2

    from segwright.visualization.instances import draw_instances
    from segwright.visualization.overlay import display_image
    from segwright.visualization.panels import MIN_PANEL_HEIGHT, prediction_grid

    if not isinstance(image, np.ndarray):
        loaded = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)  # at its own bit depth
        if loaded is None:
            raise ConfigError(f"Cannot read image {image}.")
        image = loaded
    image = display_image(image)  # 16-bit or float images stretched to 0..255
    meta = dict(getattr(model, "dataset_meta", None) or {})
    palette = palette if palette is not None else meta.get("palette")
    classes = classes if classes is not None else meta.get("classes")
    instances = getattr(result, "pred_instances", None)
    if instances is not None:
        drawn = draw_instances(image, instances, classes, palette, score_thr, opacity)
        _save_picture(drawn, out_file)
        return drawn
    mask = result.pred_sem_seg.data.squeeze(0).cpu().numpy()
    drawn = prediction_grid(
        [(image, None, mask)],
        palette,
        classes,
        opacity=opacity,
        titles=[title] if title else False,
        legend=legend,
        show_image=False,
        with_labels=with_labels,
        min_height=MIN_PANEL_HEIGHT if title or legend or with_labels else 0,
    )
    _save_picture(drawn, out_file)
    return drawn


def _save_picture(picture: np.ndarray, out_file: str | os.PathLike | None) -> None:
    import cv2

    if out_file is not None:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out_file), picture)


def instance_records(
    result: Any, classes: Sequence[str] | None = None, score_thr: float = 0.3
) -> tuple[list[dict[str, Any]], np.ndarray | None]:
    """A detector's result as JSON-ready records and an instance-id map (``segwright infer``).

    Instances below ``score_thr`` are left out; the rest are numbered 1, 2, ... best score
    first. Each record has ``id``, ``label``, ``class`` (None without ``classes``), ``score``,
    ``bbox`` (``x1, y1, x2, y2`` in original image pixels) and, with masks, ``area`` (mask
    pixels). The map holds each pixel's instance id (0: none); where masks overlap, the
    better-scored instance is kept.

    Returns:
        The records, and the map (None for a detector without masks).

    Shapes:
        map ``(H, W)`` uint16 at the original image size.
    """
    instances = getattr(result, "pred_instances", None)
    if instances is None:
        raise ConfigError(
            "instance_records needs a detector's result (a DetDataSample with pred_instances)."
        )
    scores = instances.scores.detach().cpu().numpy()
    labels = instances.labels.detach().cpu().numpy().astype(np.int64)
    boxes = instances.bboxes.detach().cpu().numpy().reshape(-1, 4)
    order = [i for i in np.argsort(-scores, kind="stable") if scores[i] >= score_thr]
    masks = instances.masks if "masks" in instances else None
    if masks is not None:
        masks = masks.to_ndarray() if hasattr(masks, "to_ndarray") else masks.cpu().numpy()
        masks = np.asarray(masks) > 0
    records: list[dict[str, Any]] = []
    for number, index in enumerate(order, start=1):
        label = int(labels[index])
        record: dict[str, Any] = {
            "id": number,
            "label": label,
            "class": str(classes[label]) if classes and label < len(classes) else None,
            "score": round(float(scores[index]), 4),
            "bbox": [round(float(v), 2) for v in boxes[index]],
        }
        if masks is not None:
            record["area"] = int(masks[index].sum())
        records.append(record)
    if masks is None:
        return records, None
    id_map = np.zeros(masks.shape[1:], dtype=np.uint16)
    for number, index in reversed(list(enumerate(order, start=1))):
        id_map[masks[index]] = number  # worst first: better scores overwrite overlaps
    return records, id_map
