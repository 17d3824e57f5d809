"""MMSeg 1.2.2 checkpoints of the real-time families load strictly and give MMSeg's numbers.

The fixtures (``fixtures/mmseg_realtime/*.pth``, made by ``generate_with_mmseg.py`` there) hold
a narrow MMSeg model's dict and state dict, an input, a label map, MMSeg's eval logits and its
train-mode losses. Both forward passes run in float64 from the same float32 weights.

Tolerances: in float64 a value built from ~1e3 multiply-adds per layer over ~50 layers differs
between two summation orders by at most ~1e3 * 50 * 2.2e-16 ~ 1e-11 relative to the largest
activation, so the float64 results agree to ~1e-10; the stored logits are then rounded to float32
(relative error <= 2**-24 ~ 6e-8 of each value, below 6e-8 of the largest one). A bound of 1e-6
of the largest logit has a 15x margin over that rounding, still catches any wiring error (which
moves logits by whole percent), and holds for any thread count or CPU. Losses are stored in
float64 and compared to 1e-9 relative; accuracies are float32 percentages (1e-5). MMSeg's sigmoid
cross-entropy (STDCHead's detail loss) casts the label with ``.float()``, and a float64 logit
with a float32 target gives a float32 BCE: those are only float32-exact, compared to 1e-6.

MobileNetV3 fixtures (``shapes`` in the file) store the state dict's keys, shapes and dtypes
only; weights, input and labels come from ``fixtures/mmseg_realtime/synthetic.py`` (exact integer
formulas), and the logits are the decode head's, every 4th row and column, plus the float64 sum
of all absolute logits (compared to 1e-9 relative: a sum of ~1.5e5 values in two orders differs
by ~1e-11 relative, while any wrong pixel moves it by far more than 1e-9). They run at 392x392
(LR-ASPP's 49x49 pooling window), so ``test_zoo_realtime_mobilenet_v3_parity.py`` runs them,
with this file's functions, to keep each file short.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_realtime"
ALL_NAMES = sorted(p.stem for p in FIXTURES.glob("*.pth"))
SYNTHETIC_NAMES = [n for n in ALL_NAMES if n.startswith("mobilenet_v3")]
NAMES = [n for n in ALL_NAMES if n not in SYNTHETIC_NAMES]
LOGIT_RTOL = 1e-6
LOSS_RTOL = 1e-9


def _synthetic_module():
    spec = importlib.util.spec_from_file_location("_realtime_synthetic", FIXTURES / "synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYNTHETIC = _synthetic_module()

pytestmark = [
    pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore"),
    pytest.mark.filterwarnings("ignore:When align_corners"),
    pytest.mark.filterwarnings("ignore:For binary segmentation"),
]


def _unpack(packed: dict) -> dict[str, torch.Tensor]:
    """The state dict of a packed fixture (one flat float32 and one flat int64 tensor)."""
    out, offsets = {}, {"float": 0, "int": 0}
    for key, shape in zip(packed["keys"], packed["shapes"]):
        numel = 1
        for size in shape:
            numel *= size
        kind = "int" if key.endswith("num_batches_tracked") else "float"
        flat = packed["ints" if kind == "int" else "floats"]
        out[key] = flat[offsets[kind] : offsets[kind] + numel].reshape(shape).clone()
        offsets[kind] += numel
    assert offsets["float"] == packed["floats"].numel() and offsets["int"] == packed["ints"].numel()
    return out


def _load(name: str) -> tuple[dict, torch.nn.Module]:
    fixture = torch.load(FIXTURES / f"{name}.pth", map_location="cpu", weights_only=True)
    if "packed_state" in fixture:
        fixture["state_dict"] = _unpack(fixture["packed_state"])
    if "shapes" in fixture:  # weights, input and labels from formulas
        size = fixture["synthetic_size"]
        fixture["state_dict"] = SYNTHETIC.synthetic_state_dict(fixture["shapes"])
        fixture["inputs"] = SYNTHETIC.synthetic_inputs(1, size)
        fixture["labels"] = SYNTHETIC.synthetic_labels(1, size, fixture["logits"].shape[1])
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


def _float32_loss_keys(cfg: dict) -> set[str]:
    """Log keys of the sigmoid cross-entropy losses (MMSeg computes them in float32)."""
    heads = [("decode", cfg["decode_head"])]
    aux = cfg.get("auxiliary_head") or []
    aux = aux if isinstance(aux, list) else [aux]
    heads += [(f"aux_{i}" if len(aux) > 1 else "aux", head) for i, head in enumerate(aux)]
    keys = set()
    for prefix, head in heads:
        losses = head["loss_decode"]
        for loss in losses if isinstance(losses, list) else [losses]:
            if loss.get("use_sigmoid"):
                keys.add(f"{prefix}.{loss.get('loss_name', 'loss_ce')}")
    return keys


def test_every_family_has_a_fixture():
    expected = {"bisenetv1", "bisenetv2", "stdc1_cat", "stdc2_add", "mobilenet_v3_small", "icnet"}
    expected |= {"fastscnn", "cgnet", "erfnet", "ddrnet", "pidnet_s", "pidnet_l"}
    assert expected - {"mobilenet_v3_small"} <= set(NAMES)
    assert {"mobilenet_v3_small", "mobilenet_v3_large_reduced"} <= set(SYNTHETIC_NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_eval_logits_match_mmseg(name: str):
    fixture, model = _load(name)
    model.eval()
    inputs = fixture["inputs"].double()
    with torch.no_grad():
        if "shapes" in fixture:
            full = model.decode_head(model.extract_feat(inputs))
            total = float(full.abs().sum())
            assert abs(total - fixture["logits_abs_sum"]) <= LOSS_RTOL * fixture["logits_abs_sum"]
            logits = full[..., ::4, ::4]
        elif fixture.get("head_logits"):  # stored at the head's size (ICNet: 1/8 of 64x64)
            logits = model.decode_head(model.extract_feat(inputs))
        else:
            logits = model.encode_decode(inputs, _metas(fixture))
    expected = fixture["logits"].double()
    assert logits.shape == expected.shape
    rel = float((logits - expected).abs().max() / expected.abs().max())
    assert rel <= LOGIT_RTOL, f"{name}: max relative difference {rel:.2e}"


@pytest.mark.parametrize("name", NAMES)
def test_train_losses_match_mmseg(name: str):
    fixture, model = _load(name)
    model.train()
    metas = _metas(fixture)
    samples = [
        SegDataSample(gt_sem_seg=PixelData(label.long()), metainfo=meta)
        for label, meta in zip(fixture["labels"], metas)
    ]
    if fixture.get("edges") is not None:  # PIDNet's boundary labels
        for sample, edge in zip(samples, fixture["edges"]):
            sample.gt_edge_map = PixelData(edge.long())
    losses = model.loss(fixture["inputs"].double(), samples)
    assert set(losses) == set(fixture["losses"])
    float32_keys = _float32_loss_keys(fixture["cfg"])
    for key, expected in fixture["losses"].items():
        got = float(losses[key].detach())
        tol = 1e-5 if "acc" in key else 1e-6 if key in float32_keys else LOSS_RTOL
        assert abs(got - expected) <= tol * max(abs(expected), 1.0), (key, got, expected)
