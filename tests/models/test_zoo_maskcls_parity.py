"""MMSeg 1.2.2 checkpoints of the mask-classification families (K-Net, MaskFormer,
Mask2Former) load strictly and give MMSeg's numbers.

``fixtures/mmseg_maskcls`` holds what MMSegmentation (with MMDetection 3.3) produced, see its
``generate_with_mmseg.py``: K-Net over an FCN and over a UPerHead, MaskFormer with each pixel
decoder, Mask2Former with the deformable pixel decoder; each a tiny model dict, its state dict
with non-trivial norms, three inputs (32x64, 36x44, 48x40), MMSeg's eval outputs on them (for
MaskFormer/Mask2Former every decoder layer's class and mask logits, plus the semantic logits
once) and its train-mode loss dict on a fixed label map: per-stage ``loss_ce.s{i}`` for K-Net,
Hungarian-matched ``loss_cls``/``loss_mask``/``loss_dice`` (and ``d{i}.``) for the others; the
matching is deterministic for these random logits, and Mask2Former's point sampling draws from
torch's global generator, seeded as in the generator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from zoo_parity_kit import one_thread, relative_error  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_maskcls"
FAMILIES = sorted(p.stem for p in FIXTURES.glob("*.pth"))

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# Both sides compute in float32 with the same torch kernels (nn.MultiheadAttention, einsum,
# conv2d, grid_sample, LayerNorm/BN/GN) in nearly the same order; measured on one CPU thread
# the outputs match MMSeg's to within 6e-7 relative (K-Net bit for bit). Another thread count
# or CPU may change reduction orders by a few ulps per op (~1e-7 relative), which through the
# ~30 layers stays near 1e-5 of the output's scale. 1e-4 relative to the largest |logit| keeps
# that margin, yet any wiring error (a wrong reshape of the kernels, softmax axis, attention
# mask, level order or matching) changes the outputs by tens of percent. Losses: same bound
# (a different Hungarian match would move them by far more).
RTOL = 1e-4
# acc_seg is a percentage of 2x29x64 = 3712 labelled pixels: one near-tie argmax flipping
# under rounding moves it by 0.027; allow two flips.
ACC_TOL = 0.06
#: Seeds of torch's global generator before each eval forward, then the loss forward.
SEEDS = (11, 12, 13, 14)


def _tensors(value: Any) -> list[torch.Tensor]:
    """A tensor, or the tensors of (nested) tuples/lists, flattened in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for item in value for t in _tensors(item)]


def _meta(x: torch.Tensor) -> dict[str, tuple[int, int]]:
    shape = (int(x.shape[2]), int(x.shape[3]))
    return dict(img_shape=shape, ori_shape=shape, pad_shape=shape)


@pytest.mark.parametrize("family", FAMILIES)
def test_mmseg_checkpoint_gives_mmsegs_logits_and_losses(family: str) -> None:
    data = torch.load(FIXTURES / f"{family}.pth", map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    model = MODELS.build(data["model"])
    report = load_state_dict(model, data["state_dict"], strict=True)  # raises on any mismatch
    assert report.exact
    model.eval()
    inputs = [x.float() for x in data["inputs"]]  # stored as float16, which holds them exactly
    for seed, x, ref in zip(SEEDS, inputs, data["logits"]):
        torch.manual_seed(seed)
        with torch.no_grad():
            if "seg_logits" in data:  # every decoder layer's class and mask logits
                ours = model.decode_head(model.extract_feat(x), [_meta(x)] * len(x))
            else:
                ours = model(x, mode="tensor")
        for one, reference in zip(_tensors(ours), _tensors(ref), strict=True):
            assert one.shape == reference.shape
            rel = relative_error(one, reference)
            assert rel <= RTOL, f"{family} {tuple(x.shape)}: max rel diff {rel:.2e}"
    if "seg_logits" in data:  # the segmentor's semantic logits, once
        x = inputs[1]
        with torch.no_grad():
            ours = model.encode_decode(x, [_meta(x)] * len(x))
        assert relative_error(ours, data["seg_logits"]) <= RTOL

    model.train()
    shape = tuple(inputs[0].shape[2:])
    samples = [
        SegDataSample(
            gt_sem_seg=PixelData(label.long()), metainfo=dict(img_shape=shape, ori_shape=shape)
        )
        for label in data["label"]
    ]
    torch.manual_seed(SEEDS[-1])
    losses = model(inputs[0], samples, mode="loss")
    assert set(losses) == set(data["losses"])
    for key, ref in data["losses"].items():
        ours = losses[key].detach()
        if "acc" in key:
            assert abs(float(ours) - float(ref)) <= ACC_TOL, key
        else:
            assert abs(float(ours) - float(ref)) <= RTOL * abs(float(ref)), key
