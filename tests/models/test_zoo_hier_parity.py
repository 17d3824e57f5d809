"""MMSeg 1.2.2 checkpoints of the hierarchical-transformer families load strictly and give
MMSeg's numbers.

``fixtures/mmseg_hier`` holds what MMSegmentation itself produced (see its
``generate_with_mmseg.py``): per family (Swin + UPerNet, Twins-PCPVT + FPN, Twins-SVT +
UPerNet, SegNeXt's MSCAN + LightHamHead, and mmpretrain 1.2.0's ConvNeXt (V2 blocks) + UPerNet
and PoolFormer + FPN as MMSeg builds them from ``mmpretrain.`` types) a tiny model dict, its state dict with non-trivial bias tables and norms, three
inputs (32x64, whose token maps are whole windows, then 36x44 and 48x40, which are padded:
for SVT one pads both sides, the other one side only), MMSeg's eval logits on them and its
train-mode loss dict on a fixed label map. LightHamHead draws its NMF bases from torch's
global generator in every forward, so each forward runs after the generator's seed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread, relative_error  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.models.backbones.swin import relative_position_index
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_hier"
FAMILIES = sorted(p.stem for p in FIXTURES.glob("*.pth"))

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# Both sides compute in float32, but with different kernels (fused scaled-dot-product
# attention here, explicit matmul + softmax there; the scale applied to q or to the logits)
# and summation orders. Each op adds a few ulps (~1e-7 relative); through the ~25 layers of
# these models (attention, LayerNorm and BN reductions, convolutions, bilinear resizing) that
# stays near 1e-5 of the output's scale. Measured: backbone outputs within 2e-7, logits within
# 2e-6 except Swin's 32x64 input, up to 1e-5 (its tiny UPerHead's BN statistics, from random
# batches, amplify the backbone's 1.5e-7 about 60x; with explicit attention math the logits
# match MMSeg's bit for bit). 1e-4 relative to the largest |logit| keeps a margin yet catches
# any wiring error: a wrong window order, shift, padding mask or bias index changes the logits
# by tens of percent. Losses: same bound.
RTOL = 1e-4
# acc_seg is a percentage of 2x29x64 = 3712 labelled pixels: one near-tie argmax flipping
# under rounding moves it by 0.027; allow two flips.
ACC_TOL = 0.06
#: Seeds of torch's global generator before each eval forward, then the loss forward.
SEEDS = (11, 12, 13, 14)


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
            ours = model(x, mode="tensor")
        assert ours.shape == ref.shape
        rel = relative_error(ours, ref)
        assert rel <= RTOL, f"{family} {tuple(x.shape)}: max rel diff {rel:.2e}"

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


def test_relative_position_index_pairs_each_offset_with_one_entry() -> None:
    index = relative_position_index((2, 3))
    assert index.shape == (6, 6)
    assert int(index.max()) == (2 * 2 - 1) * (2 * 3 - 1) - 1
    assert torch.equal(index.diagonal(), torch.full((6,), 1 * 5 + 2))  # zero offset: centre
    # the same offset (one row down, one column right) always reads the same entry
    assert int(index[0, 4]) == int(index[1, 5])
