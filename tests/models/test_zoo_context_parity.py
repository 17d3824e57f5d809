"""MMSeg 1.2.2 checkpoints of the context-module families load strictly and give MMSeg's numbers.

The fixtures (``fixtures/mmseg_context/*.pth``, made by ``generate_with_mmseg.py`` there) hold
a narrow MMSeg model's dict and state dict, an input, a label map, MMSeg's eval logits and its
train-mode losses. Both forward passes run in float64 from the same float32 weights.

Tolerances: in float64 a value built from ~1e3 multiply-adds per layer over ~30 layers differs
between two summation orders by at most ~1e3 * 30 * 2.2e-16 ~ 1e-11 relative to the largest
activation, so the float64 results agree to ~1e-10; the stored logits are then rounded to float32
(relative error <= 2**-24 ~ 6e-8 of each value, which is below 6e-8 of the largest one). A bound
of 1e-6 of the largest logit therefore has a 15x margin over the rounding and would still catch
any wiring error (which moves logits by whole percent), and it holds for any thread count or
CPU. Losses are stored in float64 and compared to 1e-9 relative.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_context"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.pth"))
LOGIT_RTOL = 1e-6
LOSS_RTOL = 1e-9
LOSS_SEED = 3  # as in generate_with_mmseg.py

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:When align_corners"),
]


def _load(name: str) -> tuple[dict, torch.nn.Module]:
    fixture = torch.load(FIXTURES / f"{name}.pth", map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(fixture["cfg"]))
    report = load_state_dict(model, fixture["state_dict"], strict=True)
    assert report.exact, report.summary()
    for module in model.modules():  # the generator runs dropout with p=0 too
        if isinstance(module, torch.nn.modules.dropout._DropoutNd):
            module.p = 0.0
    return fixture, model.double()


def _metas(fixture: dict) -> list[dict]:
    size = tuple(fixture["inputs"].shape[-2:])
    return [dict(img_shape=size, pad_shape=size, ori_shape=size)] * len(fixture["inputs"])


def test_every_family_has_a_fixture():
    assert {"sem_fpn", "ann", "apcnet", "dmnet", "encnet", "psanet", "pointrend"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_eval_logits_match_mmseg(name: str):
    fixture, model = _load(name)
    model.eval()
    with torch.no_grad():
        logits = model.encode_decode(fixture["inputs"].double(), _metas(fixture))
    expected = fixture["logits"].double()
    assert logits.shape == expected.shape
    rel = float((logits - expected).abs().max() / expected.abs().max())
    assert rel <= LOGIT_RTOL, f"{name}: max relative difference {rel:.2e}"


@pytest.mark.parametrize("name", NAMES)
def test_train_losses_match_mmseg(name: str):
    fixture, model = _load(name)
    if fixture["losses"] is None:
        pytest.skip("training samples points at random (compared in eval mode only)")
    model.train()
    metas = _metas(fixture)
    samples = [
        SegDataSample(gt_sem_seg=PixelData(label.long()), metainfo=meta)
        for label, meta in zip(fixture["labels"], metas)
    ]
    torch.manual_seed(LOSS_SEED)  # PointRend draws its training points: the generator's draws
    losses = model.loss(fixture["inputs"].double(), samples)
    assert set(losses) == set(fixture["losses"])
    for key, expected in fixture["losses"].items():
        got = float(losses[key].detach())
        tol = LOSS_RTOL
        if "acc" in key:  # a percentage of pixels, computed in float32 by both libraries
            tol = 1e-5
        elif key.endswith("loss_se"):
            # MMSeg's sigmoid CE casts the label with .float(), and a float64 logit with a
            # float32 target gives a float32 BCE: its value is only float32-exact (~6e-8).
            tol = 1e-6
        assert abs(got - expected) <= tol * max(abs(expected), 1.0), (key, got, expected)
