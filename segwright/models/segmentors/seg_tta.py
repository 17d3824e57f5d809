"""``SegTTAModel``: predict every test-time-augmented view and merge them (SPEC §9.1).

With ``tta_pipeline`` (``TestTimeAug``) each sample arrives as a list of views. Each view is
predicted by the wrapped segmentor, whose ``postprocess_result`` crops padding, undoes the flip
and resizes the logits to ``ori_shape``; the views' probabilities (softmax over classes, or the
sigmoid for one output channel) are averaged, then argmax / threshold give the prediction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from segwright.registry import MODELS, build_if_dict
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError


@MODELS.register_module()
class SegTTAModel(nn.Module):
    """Wrap a segmentor so that ``test_step`` merges augmented views of each sample.

    Args:
        module: The segmentor (a module or a config dict), e.g. an ``EncoderDecoder``.
        data_preprocessor: Given to ``module`` when it is a config dict without one (the
            runner passes the config's top-level ``data_preprocessor`` here).

    The batch is ``dict(inputs=[[view, ...], ...], data_samples=[[sample, ...], ...])``: one
    list of views per sample, as ``pseudo_collate`` groups ``TestTimeAug`` outputs. A sample
    that is not a list counts as a single view. Weights load into ``module`` (checkpoint keys
    need no ``module.`` prefix).
    """

    def __init__(
        self, module: nn.Module | Mapping[str, Any], data_preprocessor: Any = None
    ) -> None:
        super().__init__()
        if isinstance(module, Mapping) and data_preprocessor is not None:
            module = dict(module)
            module.setdefault("data_preprocessor", data_preprocessor)
        self.module = build_if_dict(module, MODELS, key="tta_model.module")

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def test_step(self, data: Mapping[str, Any]) -> list[SegDataSample]:
        """Merged predictions, one data sample per input sample (with its ``gt_sem_seg``)."""
        inputs = data.get("inputs")
        samples = data.get("data_samples")
        if not isinstance(inputs, Sequence) or not inputs:
            raise ConfigError("SegTTAModel needs a batch whose 'inputs' is a non-empty list.")
        if samples is None or len(samples) != len(inputs):
            raise ConfigError(
                "SegTTAModel needs one data_samples entry per input (with ori_shape and flip "
                "metainfo): end the tta_pipeline's TestTimeAug with PackSegInputs."
            )
        merged = []
        for views, view_samples in zip(inputs, samples):
            views = list(views) if isinstance(views, (list, tuple)) else [views]
            if not isinstance(view_samples, (list, tuple)):
                view_samples = [view_samples]
            if len(views) != len(view_samples):
                raise ConfigError(
                    f"SegTTAModel got {len(views)} views but {len(view_samples)} data samples "
                    "for one image; the tta_pipeline must pack every view."
                )
            merged.append(self.merge_preds(self._predict_views(views, list(view_samples))))
        return merged

    val_step = test_step

    def _predict_views(
        self, views: list[torch.Tensor], samples: list[SegDataSample]
    ) -> list[SegDataSample]:
        """Predict the views, batching those of equal size together."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, view in enumerate(views):
            groups.setdefault(tuple(view.shape), []).append(index)
        results: list[Any] = [None] * len(views)
        for indices in groups.values():
            batch = dict(
                inputs=[views[i] for i in indices], data_samples=[samples[i] for i in indices]
            )
            for index, result in zip(indices, self.module.test_step(batch)):
                results[index] = result
        return results

    def merge_preds(self, views: Sequence[SegDataSample]) -> SegDataSample:
        """Average the views' probabilities and take argmax (or threshold one channel).

        Shapes:
            each view's ``seg_logits``: ``(C, H, W)`` at the original size; the result has
            ``seg_logits`` (the mean probabilities) ``(C, H, W)`` and ``pred_sem_seg`` ``(1, H, W)``.
        """
        channels = views[0].seg_logits.data.shape[0]
        total = torch.zeros_like(views[0].seg_logits.data, dtype=torch.float32)
        for view in views:
            logits = view.seg_logits.data.float()
            # One channel: postprocess_result already stored the sigmoid (MMSeg 1.2 applies it
            # a second time here; we average the probabilities once, as the SPEC states).
            total += logits.softmax(dim=0) if channels > 1 else logits
        probs = total / len(views)
        if channels > 1:
            pred = probs.max(dim=0, keepdim=True).indices  # = argmax, faster on CPU
        else:
            threshold = getattr(self.module, "decode_head_threshold", lambda: 0.3)()
            pred = (probs > threshold).long()
        metainfo = dict(views[0].metainfo)
        metainfo.update(flip=False, flip_direction=None)  # the merge is in the original frame
        return SegDataSample(
            gt_sem_seg=views[0].gt_sem_seg,
            seg_logits=PixelData(probs),
            pred_sem_seg=PixelData(pred),
            metainfo=metainfo,
        )
