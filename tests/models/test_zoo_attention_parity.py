"""MMSeg 1.2.2 checkpoints of the attention heads load strictly and give MMSeg's numbers.

``fixtures/mmseg_attention`` holds what MMSegmentation itself produced (see its
``generate_with_mmseg.py``): per family, a narrow ResNetV1c-18 (D8) + head model dict, its
state dict with non-trivial gates and norm statistics, an input, MMSeg's eval logits and its
train-mode loss dict on a fixed label map,
and the buffers (other than BN statistics) that this training step moved.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread, relative_error  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.models.heads.dnl_head import DisentangledNonLocal2d
from segwright.models.layers.context_block import ContextBlock
from segwright.models.layers.non_local import NonLocal2d
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_attention"
FAMILIES = sorted(p.stem for p in FIXTURES.glob("*.pth"))
BLOCKS = torch.load(FIXTURES / "blocks.pt", map_location="cpu", weights_only=True)
BLOCK_CLASSES = {c.__name__: c for c in (NonLocal2d, DisentangledNonLocal2d, ContextBlock)}

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# Both sides compute in float32 with different kernels and summation orders (convolutions,
# matmuls, softmax), so each value carries rounding of a few ulps per layer; through ~20 layers
# that stays near 1e-6 of the output's scale. 1e-4 relative to the largest |logit| leaves a
# wide margin yet catches any wiring error (a skipped or misplaced layer changes the logits by
# tens of percent). Losses: same bound relative to the loss.
RTOL = 1e-4
# acc_seg is a percentage of the 2x37x48 = 3552 labelled pixels: a near-tie argmax flipping
# under rounding moves it by 0.028; allow two flips.
ACC_TOL = 0.06


def _load(family: str) -> dict:
    return torch.load(FIXTURES / f"{family}.pth", map_location="cpu", weights_only=True)


@pytest.mark.parametrize("family", FAMILIES)
def test_mmseg_checkpoint_gives_mmsegs_logits_and_losses(family: str) -> None:
    data = _load(family)
    torch.manual_seed(0)
    model = MODELS.build(data["model"])
    report = load_state_dict(model, data["state_dict"], strict=True)  # raises on any mismatch
    assert report.exact
    model.eval()
    with torch.no_grad():
        logits = model(data["inputs"], mode="tensor")
    logits = list(logits) if isinstance(logits, (list, tuple)) else [logits]
    assert len(logits) == len(data["logits"])
    for ours, ref in zip(logits, data["logits"]):
        assert ours.shape == ref.shape
        assert relative_error(ours, ref) <= RTOL, (
            f"{family}: max rel diff {relative_error(ours, ref):.2e}"
        )

    model.train()
    shape = tuple(data["inputs"].shape[2:])
    samples = [
        SegDataSample(
            gt_sem_seg=PixelData(label.long()), metainfo=dict(img_shape=shape, ori_shape=shape)
        )
        for label in data["label"]
    ]
    losses = model(data["inputs"], samples, mode="loss")
    assert set(losses) == set(data["losses"])
    for key, ref in data["losses"].items():
        ours = losses[key].detach()
        if "acc" in key:
            assert abs(float(ours) - float(ref)) <= ACC_TOL, key
        else:
            assert abs(float(ours) - float(ref)) <= RTOL * abs(float(ref)), key
    state = model.state_dict()
    for key, ref in data["buffers_after_loss"].items():  # EMANet's moving-average bases
        assert relative_error(state[key], ref) <= RTOL, key


@pytest.mark.parametrize("case", sorted(BLOCKS))
def test_block_modes_match_mmcv_and_mmseg(case: str) -> None:
    """Non-local modes (gaussian, dot product, sub-sampling) and fusions the models leave out."""
    data = BLOCKS[case]
    block = BLOCK_CLASSES[data["cls"]](**data["kwargs"])
    assert load_state_dict(block, data["state_dict"], strict=True).exact
    block.eval()
    x = data["input"].clone()
    with torch.no_grad():
        out = block(x)
    torch.testing.assert_close(x, data["input"], rtol=0, atol=0)  # the input is left alone
    assert relative_error(out, data["output"]) <= RTOL, (
        f"{case}: {relative_error(out, data['output']):.2e}"
    )
