"""MMSeg 1.2.2 checkpoints of HRNet, OCRNet, FastFCN and ResNeSt load strictly and give
MMSeg's numbers.

``fixtures/mmseg_hrnet`` holds what MMSegmentation itself produced (see its
``generate_with_mmseg.py``): per family a tiny model dict (HRNet + FCN ``resize_concat``, HRNet
with only its stride-4 output, OCRNet on HRNet and on a dilated ResNetV1c-18, FastFCN's JPU
neck with an EncHead, ResNeSt-50 in two settings), its state dict with non-trivial biases and
norm statistics, an input of 36x44 (HRNet's upsampled branches get cropped), MMSeg's eval
logits and its train-mode loss dict on a fixed label map.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from zoo_parity_kit import one_thread, relative_error  # noqa: F401 (autouse fixture)

from segwright.engine.checkpoint import load_state_dict
from segwright.models.backbones import HRNet
from segwright.models.heads.ocr_head import SpatialGatherModule
from segwright.registry import MODELS
from segwright.structures import PixelData, SegDataSample
from segwright.utils.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "mmseg_hrnet"
FAMILIES = sorted(p.stem for p in FIXTURES.glob("*.pth"))

pytestmark = pytest.mark.filterwarnings("ignore:CrossEntropyLoss. avg_non_ignore")

# Both sides compute in float32 with different kernels and summation orders (convolutions,
# bilinear resizes, matmuls, softmax), so each value carries a rounding of a few ulps per layer;
# HRNet's deepest path has ~40 layers, which stays near 1e-6 of the output's scale. 1e-4
# relative to the largest |logit| leaves a wide margin, yet any wiring error (a skipped fuse
# branch, a wrong crop of an upsampled branch, a misplaced ReLU) moves the logits by percents.
# Losses: the same bound relative to the loss.
RTOL = 1e-4
# acc_seg is a percentage of the 2x33x44 = 2904 labelled pixels: a near-tie argmax flipping
# under rounding moves it by 0.034; allow two flips.
ACC_TOL = 0.07


def _unpack(packed: dict) -> dict[str, torch.Tensor]:
    """The state dict that ``generate_with_mmseg.pack`` flattened into two tensors."""
    out, f, i = {}, 0, 0
    for key, shape, is_float in zip(packed["keys"], packed["shapes"], packed["is_float"]):
        n = int(torch.Size(shape).numel())
        if is_float:
            out[key] = packed["floats"][f : f + n].reshape(shape).clone()
            f += n
        else:
            out[key] = packed["ints"][i : i + n].reshape(shape).clone()
            i += n
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_mmseg_checkpoint_gives_mmsegs_logits_and_losses(family: str) -> None:
    data = torch.load(FIXTURES / f"{family}.pth", map_location="cpu", weights_only=True)
    torch.manual_seed(0)
    model = MODELS.build(data["model"])
    report = load_state_dict(model, _unpack(data["state_dict"]), strict=True)
    assert report.exact  # no missing, unexpected or mismatched keys
    model.eval()
    with torch.no_grad():
        logits = model(data["inputs"], mode="tensor")
    logits = list(logits) if isinstance(logits, (list, tuple)) else [logits]  # EncHead: 2
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
    for key, ref_value in data["losses"].items():
        ours = float(losses[key].detach())
        if "acc" in key:
            assert abs(ours - float(ref_value)) <= ACC_TOL, key
        else:
            assert abs(ours - float(ref_value)) <= RTOL * abs(float(ref_value)), key


def _tiny_extra(multiscale_blocks: int = 1) -> dict:
    def stage(branches: int, block: str = "BASIC", modules: int = 1) -> dict:
        return dict(
            num_modules=modules, num_branches=branches, block=block,
            num_blocks=(multiscale_blocks,) * branches, num_channels=(2, 3, 4, 5)[:branches],
        )  # fmt: skip

    return dict(stage1=stage(1, "BOTTLENECK"), stage2=stage(2), stage3=stage(3), stage4=stage(4))


def test_hrnet_frozen_stages_and_norm_eval() -> None:
    net = HRNet(_tiny_extra(), frozen_stages=2, norm_eval=True).train()
    for name in ("conv1", "norm1", "layer1", "transition1", "stage2", "transition2"):
        assert not any(p.requires_grad for p in getattr(net, name).parameters()), name
    assert all(p.requires_grad for p in net.stage3.parameters())
    assert not any(m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert net.out_channels == (2, 3, 4, 5) and net.out_strides == (4, 8, 16, 32)


def test_hrnet_rejects_a_malformed_extra() -> None:
    extra = _tiny_extra()
    extra["stage3"]["num_channels"] = (2, 3)
    with pytest.raises(ConfigError, match="stage3"):
        HRNet(extra)
    extra = _tiny_extra()
    extra["stage2"]["block"] = "BASICBLOCK"
    with pytest.raises(ConfigError, match="BOTTLENECK"):
        HRNet(extra)


def test_ocr_head_rejects_query_pooling() -> None:
    with pytest.raises(ConfigError, match="scale=2"):
        MODELS.build(
            dict(type="OCRHead", in_channels=4, channels=4, ocr_channels=2, num_classes=3, scale=2)
        )


def test_spatial_gather_is_a_softmax_weighted_average() -> None:
    torch.manual_seed(0)
    feats, probs = torch.randn(2, 3, 4, 5), torch.randn(2, 6, 4, 5)
    out = SpatialGatherModule(scale=1)(feats, probs)
    weights = probs.flatten(2).softmax(-1)  # (N, K, HW)
    expected = torch.einsum("nkp,ncp->nck", weights, feats.flatten(2)).unsqueeze(3)
    torch.testing.assert_close(out, expected)


def test_hrnet_with_cp_gives_the_same_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    plain = HRNet(_tiny_extra(), norm_eval=True)  # eval-mode BN: the recomputation is exact
    checkpointed = HRNet(_tiny_extra(), norm_eval=True, with_cp=True)
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 36, 44)
    grads = []
    for net in (plain, checkpointed):
        net.train()
        sum(o.square().mean() for o in net(x)).backward()
        grads.append(net.stage4[0].branches[3][0].conv1.weight.grad)
    torch.testing.assert_close(grads[0], grads[1])


def test_resnest_config_keys_are_checked() -> None:
    cfg = dict(type="ResNeSt", depth=50, stem_channels=8, base_channels=2, radix=2)
    assert MODELS.build(cfg).out_channels == (8, 16, 32, 64)
    with pytest.raises(ConfigError, match="radixx"):
        MODELS.build({**cfg, "radixx": 2})
    with pytest.raises(ConfigError, match="depth"):
        MODELS.build({k: v for k, v in cfg.items() if k != "depth"})
