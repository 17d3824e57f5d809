"""MMSeg 1.2.2 checkpoints of the plain-ViT families load strictly and give MMSeg's numbers.

``fixtures/mmseg_vit`` holds what MMSegmentation itself produced (see its
``generate_with_mmseg.py``): per family (ViT + MultiLevelNeck + UPerNet, SETR naive/PUP and
MLA, Segmenter, DPT with two readouts, BEiT and MAE + Feature2Pyramid + UPerNet) a tiny model
dict, its state dict with non-trivial tokens, biases and norms, inputs (the training size
32x32, and for the ViT families 40x48, which resizes the position embedding), MMSeg's eval
logits on each and its train-mode loss dict on a fixed label map.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread, relative_error  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.models.backbones.vit import VisionTransformer, resize_pos_embed
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_vit"
FAMILIES = sorted(p.stem for p in FIXTURES.glob("*.pth"))

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# Both sides compute in float32 with different kernels and summation orders (matmuls,
# softmax, LayerNorm reductions, convolutions, bicubic resizing), so each value carries a
# few ulps (~1e-7 relative) of rounding per layer; through the ~30 layers of these models
# that stays within ~1e-5 of the output's scale. 1e-4 relative to the largest |logit| keeps
# a wide margin yet catches any wiring error (a skipped norm, a wrong token order or a
# misplaced class token changes the logits by tens of percent). Losses: same bound.
RTOL = 1e-4
# acc_seg is a percentage of 2x29x32 = 1856 labelled pixels: one near-tie argmax flipping
# under rounding moves it by 0.054; allow two flips.
ACC_TOL = 0.11


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
    # the first input has the training size; a second (40x48) resizes ViT's pos_embed
    for inputs, ref in zip(data["inputs"], data["logits"]):
        with torch.no_grad():
            ours = model(inputs, mode="tensor")
        assert ours.shape == ref.shape
        assert relative_error(ours, ref) <= RTOL, (
            f"{family}: max rel diff {relative_error(ours, ref):.2e}"
        )

    model.train()
    inputs = data["inputs"][0]
    shape = tuple(inputs.shape[2:])
    samples = [
        SegDataSample(
            gt_sem_seg=PixelData(label.long()), metainfo=dict(img_shape=shape, ori_shape=shape)
        )
        for label in data["label"]
    ]
    losses = model(inputs, samples, mode="loss")
    assert set(losses) == set(data["losses"])
    for key, ref in data["losses"].items():
        ours = losses[key].detach()
        if "acc" in key:
            assert abs(float(ours) - float(ref)) <= ACC_TOL, key
        else:
            assert abs(float(ours) - float(ref)) <= RTOL * abs(float(ref)), key


def test_pos_embed_resize_keeps_the_class_entry_and_the_grid() -> None:
    torch.manual_seed(0)
    pos = torch.randn(1, 1 + 2 * 3, 4)
    out = resize_pos_embed(pos, (2, 3), (2, 3), "bicubic")
    torch.testing.assert_close(out, pos)  # same grid: unchanged
    out = resize_pos_embed(pos, (4, 6), (2, 3), "nearest")
    assert out.shape == (1, 1 + 24, 4)
    torch.testing.assert_close(out[:, 0], pos[:, 0])
    grid = out[0, 1:].reshape(4, 6, 4)
    torch.testing.assert_close(grid[::2, ::2], pos[0, 1:].reshape(2, 3, 4))


def test_pretrained_checkpoint_gets_its_pos_embed_resized(tmp_path: Path) -> None:
    """A 224-style checkpoint (4x4 grid here) loads into a model trained at another size."""
    small = VisionTransformer(img_size=32, patch_size=8, embed_dims=8, num_layers=1, num_heads=2)
    small.init_weights()
    path = tmp_path / "vit.pth"
    torch.save({"state_dict": small.state_dict()}, path)
    big = VisionTransformer(
        img_size=48, patch_size=8, embed_dims=8, num_layers=1, num_heads=2,
        init_cfg=dict(type="Pretrained", checkpoint=str(path)),
    )  # fmt: skip
    big.init_weights()
    expected = resize_pos_embed(small.pos_embed.detach(), (6, 6), (4, 4), "bicubic")
    torch.testing.assert_close(big.pos_embed.detach(), expected)
    torch.testing.assert_close(big.cls_token, small.cls_token)
    assert big(torch.randn(1, 3, 48, 48))[0].shape == (1, 8, 6, 6)
