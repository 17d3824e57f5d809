"""The Python API for predictions: ``init_model``, ``inference_model``, ``show_result``."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segwright.config import Config
from segwright.engine.checkpoint import load_checkpoint
from segwright.engine.data import pseudo_collate
from segwright.registry import MODELS, TRANSFORMS
from segwright.utils.errors import ConfigError

ImageInput = str | os.PathLike | np.ndarray


def _as_config(config: str | os.PathLike | Config) -> Config:
    if isinstance(config, Config):
        return config
    cfg = Config.fromfile(config)
    from segwright.config.legacy import is_legacy_config, translate_legacy_config

    if is_legacy_config(cfg):
        translated, _ = translate_legacy_config(cfg.to_dict())
        cfg = Config(translated, filename=cfg.filename)
    return cfg


def init_model(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    cfg_options: dict[str, Any] | None = None,
    trust_checkpoint: bool = False,
) -> nn.Module:
    """Build the config's model, load a checkpoint into it, and put it in eval mode on ``device``.

    The model gets ``cfg`` and ``dataset_meta`` (classes, palette: from the checkpoint when it
    has them, else from the config's test dataset) attributes, used by ``inference_model``.
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
    model = MODELS.build(model_cfg, key="model")
    meta: dict[str, Any] = {}
    if checkpoint is not None:
        loaded, report = load_checkpoint(model, checkpoint, trusted=trust_checkpoint)
        meta = dict((loaded.get("meta") or {}).get("dataset_meta") or {})
        if not report.exact:
            import logging

            logging.getLogger("segwright").warning(report.summary())
    if not meta:
        meta = _config_dataset_meta(cfg)
    model.cfg = cfg
    model.dataset_meta = meta
    return model.to(device).eval()


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
    return Compose(steps)


@torch.no_grad()
def inference_model(
    model: nn.Module, images: ImageInput | Sequence[ImageInput], batch_size: int = 4
) -> Any:
    """Predict one image (path or BGR array) or a list of them (run in batches).

    Returns a ``SegDataSample`` (or a list) with ``pred_sem_seg`` and ``seg_logits`` at the
    original image size.
    """
    single = isinstance(images, (str, os.PathLike, np.ndarray))
    items = [images] if single else list(images)
    cfg = getattr(model, "cfg", None)
    if cfg is None:
        raise ConfigError(
            "inference_model needs a model made by init_model (it carries its config)."
        )
    results = []
    pipelines: dict[bool, Any] = {}
    for start in range(0, len(items), batch_size):
        samples = []
        for item in items[start : start + batch_size]:
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
            samples.append(packed)
        results.extend(model.test_step(pseudo_collate(samples)))
    return results[0] if single else results


def show_result(
    image: ImageInput,
    result: Any,
    opacity: float = 0.5,
    out_file: str | os.PathLike | None = None,
    palette: Sequence[Sequence[int]] | None = None,
    with_labels: bool = False,
) -> np.ndarray:
    """Blend a prediction over its image (BGR); save it when ``out_file`` is given."""
    import cv2

    from segwright.visualization import overlay_mask

    if not isinstance(image, np.ndarray):
        loaded = cv2.imread(str(image), cv2.IMREAD_COLOR)
        if loaded is None:
            raise ConfigError(f"Cannot read image {image}.")
        image = loaded
    mask = result.pred_sem_seg.data.squeeze(0).cpu().numpy()
    drawn = overlay_mask(image, mask, palette, opacity)
    if out_file is not None:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out_file), drawn)
    return drawn
