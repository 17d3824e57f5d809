"""Scaling rules of the real-time families' shipped configs (BiSeNetV1/V2, ...), read by
``test_shipped_configs``."""

from __future__ import annotations

from typing import Any


def _bisenetv1_full_size(backbone: dict[str, Any]) -> list[int]:
    """(fused, context 1/8, context 1/16) channels, picked by ``out_indices``."""
    width = backbone.get("context_channels", (128, 256, 512))[0]
    outs = [backbone.get("out_channels", 256), width, width]
    return [outs[i] for i in backbone.get("out_indices", (0, 1, 2))]


def _bisenetv1(backbone: dict[str, Any]) -> list[int]:
    """The inner ResNet at base 4 (channels 4..32 for BasicBlocks), the paths 4-8 wide."""
    inner = backbone["backbone_cfg"]
    inner.update(stem_channels=8, base_channels=4)
    expansion = 4 if inner["depth"] >= 50 else 1
    backbone.update(
        context_channels=(8, 16 * expansion, 32 * expansion),
        spatial_channels=(4, 4, 4, 16 * expansion - 8),  # spatial + context = context[1]
        out_channels=8,
    )
    return _bisenetv1_full_size(backbone)


def _bisenetv2_full_size(backbone: dict[str, Any]) -> list[int]:
    outs = [
        backbone.get("bga_channels", 128),
        *backbone.get("semantic_channels", (16, 32, 64, 128)),
    ]
    return [outs[i] for i in backbone.get("out_indices", (0, 1, 2, 3, 4))]


def _bisenetv2(backbone: dict[str, Any]) -> list[int]:
    backbone.update(
        detail_channels=(4, 4, 8), semantic_channels=(4, 4, 6, 8), semantic_expansion_ratio=2,
        bga_channels=8,
    )  # fmt: skip
    return _bisenetv2_full_size(backbone)


BACKBONE_RULES = {"BiSeNetV1": _bisenetv1, "BiSeNetV2": _bisenetv2}
FULL_SIZE_BACKBONES = {"BiSeNetV1": _bisenetv1_full_size, "BiSeNetV2": _bisenetv2_full_size}


def _stdc_full_size(backbone: dict[str, Any]) -> list[int]:
    """(STDC stride-8 map, refined maps, fused map)."""
    inner = backbone["backbone_cfg"]
    arms = len(backbone.get("last_in_channels", (1024, 512)))
    width = backbone.get("out_channels", 128)
    ffm = backbone.get("ffm_cfg", dict(out_channels=256))
    return [inner["channels"][2], *[width] * arms, ffm["out_channels"]]


def _stdc(backbone: dict[str, Any]) -> list[int]:
    """Stages 16, 24, 32 wide (multiples of 8 for four convs), refined maps 8 wide."""
    backbone["backbone_cfg"].update(channels=(4, 8, 16, 24, 32), with_final_conv=False)
    backbone.update(
        last_in_channels=(32, 24), out_channels=8,
        ffm_cfg=dict(in_channels=16 + 8, out_channels=16, scale_factor=4),
    )  # fmt: skip
    return _stdc_full_size(backbone)


BACKBONE_RULES["STDCContextPathNet"] = _stdc
FULL_SIZE_BACKBONES["STDCContextPathNet"] = _stdc_full_size


def _mobilenet_v3_full_size(backbone: dict[str, Any]) -> list[int]:
    """Fixed widths (the last stage divided by ``reduction_factor``), picked by out_indices."""
    from segwright.models.backbones import MobileNetV3

    arch = backbone.get("arch", "small")
    factor = backbone.get("reduction_factor", 1)
    reduced_from = MobileNetV3._dilation_plan[arch][0]
    blocks = [
        out // factor if i >= reduced_from else out
        for i, (_, _, out, *_) in enumerate(MobileNetV3.arch_settings[arch])
    ]
    widths = [16, *blocks, 576 if arch == "small" else 960]
    return [widths[i] for i in backbone.get("out_indices", (0, 1, 12))]


def _lraspp(head: dict[str, Any], outs: list[int]) -> None:
    head.update(in_channels=tuple(head["in_channels"]), branch_channels=(4, 4))


BACKBONE_RULES["MobileNetV3"] = _mobilenet_v3_full_size  # fixed widths: nothing to shrink
FULL_SIZE_BACKBONES["MobileNetV3"] = _mobilenet_v3_full_size


def _classifier_only(head: dict[str, Any], outs: list[int]) -> None:
    """An FCNHead with no convs passes its input through: channels = in_channels."""
    if head.get("num_convs") == 0:
        head["channels"] = head["in_channels"]


HEAD_RULES = {"LRASPPHead": _lraspp, "FCNHead": _classifier_only}


def _icnet(backbone: dict[str, Any]) -> list[int]:
    """ResNet-18 at base 2 (layer2/layer4: 4/16 channels), every branch 4-6 wide."""
    backbone["backbone_cfg"].update(depth=18, stem_channels=8, base_channels=2)
    backbone.update(
        layer_channels=(4, 16), light_branch_middle_channels=4, psp_out_channels=4,
        out_channels=(4, 6, 6),
    )  # fmt: skip
    return [4, 6, 6]


def _icneck(neck: dict[str, Any], outs: list[int]) -> list[int]:
    neck.update(in_channels=tuple(outs), out_channels=8)
    return [8] * 3


BACKBONE_RULES["ICNet"] = _icnet
FULL_SIZE_BACKBONES["ICNet"] = lambda backbone: list(backbone.get("out_channels", (64, 256, 256)))


def _icneck_full_size(neck: dict[str, Any], outs: list[int]) -> list[int]:
    assert list(neck.get("in_channels", (64, 256, 256))) == outs
    return [neck.get("out_channels", 128)] * 3


def _fastscnn_full_size(backbone: dict[str, Any]) -> list[int]:
    outs = [
        backbone.get("global_in_channels", 64), backbone.get("global_out_channels", 128),
        backbone.get("fusion_out_channels", 128),
    ]  # fmt: skip
    return [outs[i] for i in backbone.get("out_indices", (0, 1, 2))]


def _fastscnn(backbone: dict[str, Any]) -> list[int]:
    backbone.update(
        downsample_dw_channels=(4, 6), global_in_channels=8, global_block_channels=(8, 6, 8),
        global_out_channels=8, higher_in_channels=8, lower_in_channels=8, fusion_out_channels=8,
    )  # fmt: skip
    return _fastscnn_full_size(backbone)


BACKBONE_RULES["FastSCNN"] = _fastscnn
FULL_SIZE_BACKBONES["FastSCNN"] = _fastscnn_full_size


def _cgnet_full_size(backbone: dict[str, Any]) -> list[int]:
    c, image = backbone.get("num_channels", (32, 64, 128)), backbone.get("in_channels", 3)
    return [c[0] + image, 2 * c[1] + image, 2 * c[2]]


def _cgnet(backbone: dict[str, Any]) -> list[int]:
    backbone.update(num_channels=(4, 8, 8), num_blocks=(2, 2), reductions=(2, 2))
    return _cgnet_full_size(backbone)


BACKBONE_RULES["CGNet"] = _cgnet
FULL_SIZE_BACKBONES["CGNet"] = _cgnet_full_size


def _erfnet(backbone: dict[str, Any]) -> list[int]:
    backbone.update(
        enc_downsample_channels=(4, 6, 8), enc_stage_non_bottlenecks=(1, 4),
        enc_non_bottleneck_channels=(6, 8), dec_stages_non_bottleneck=(1, 1),
        dec_non_bottleneck_channels=(6, 4),
    )  # fmt: skip
    return [4]


BACKBONE_RULES["ERFNet"] = _erfnet
FULL_SIZE_BACKBONES["ERFNet"] = lambda b: [b.get("dec_non_bottleneck_channels", (64, 16))[-1]]


def _ddrnet(backbone: dict[str, Any]) -> list[int]:
    """Base width 2: (spatial map, output) of 4 and 8 channels (eval returns the output)."""
    backbone.update(channels=2, ppm_channels=4)
    return [4, 8]


BACKBONE_RULES["DDRNet"] = _ddrnet
FULL_SIZE_BACKBONES["DDRNet"] = lambda b: [b.get("channels", 32) * 2, b.get("channels", 32) * 4]


def _pidnet(backbone: dict[str, Any]) -> list[int]:
    """Base width 2. The head reads the whole output (eval: one map of 4 x width; training:
    the (P, output, D) triple), so the head's in_channels is the output's: [8]."""
    backbone.update(channels=2, ppm_channels=4)
    return [8]


BACKBONE_RULES["PIDNet"] = _pidnet
FULL_SIZE_BACKBONES["PIDNet"] = lambda b: [b.get("channels", 64) * 4]
NECK_RULES = {"ICNeck": _icneck}
FULL_SIZE_NECKS = {"ICNeck": _icneck_full_size}
