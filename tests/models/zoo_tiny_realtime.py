"""Tiny sweep entries of the real-time families (BiSeNetV1/V2, ...).

Read by ``_zoo_entries()`` in ``test_registered_components.py``: backbones get a 2x3x32x32
image and must return ``out_channels`` maps at ``out_strides``; heads get features of channels
(4, 8, 16, 32) at sizes (16, 8, 4, 2) of a 64x64 image.
"""

from __future__ import annotations

from typing import Any

import torch

from segwright.structures import PixelData, SegDataSample

BN = dict(type="BN", requires_grad=True)
NUM_CLASSES = 3  # the sweep's

TINY_RESNET = dict(
    type="ResNet", depth=18, stem_channels=4, base_channels=2, out_indices=(0, 1, 2, 3),
    norm_cfg=BN,
)  # fmt: skip

TINY_STDC = dict(
    type="STDCNet", stdc_type="STDCNet1", in_channels=3, channels=(2, 4, 8, 16, 24),
    bottleneck_type="cat", norm_cfg=BN, act_cfg=dict(type="ReLU"),
)  # fmt: skip


def check_stdc_net(net: Any) -> None:
    """Both fusions and the final conv (to >= 1024 channels) give the declared outputs."""
    from segwright.registry import MODELS

    for part in (net, MODELS.build(dict(TINY_STDC, bottleneck_type="add", with_final_conv=True))):
        outs = part(torch.randn(2, 3, 32, 32))
        assert [tuple(o.shape[1:]) for o in outs] == [
            (c, 32 // s, 32 // s) for c, s in zip(part.out_channels, part.out_strides)
        ]
    assert part.out_channels == (8, 16, 1024)


def check_stdc_head(head: Any) -> None:
    """The detail target marks the edges of a square (and only them) at every scale."""
    label = torch.zeros(1, 1, 16, 16, dtype=torch.long)
    label[..., 4:12, 4:12] = 1
    target = head.boundary_targets(label)[0, 0]
    inside, outside = target[6:10, 6:10], target[:, :2]
    assert target.dtype == torch.long and set(target.unique().tolist()) == {0, 1}
    assert int(inside.sum()) == 0 and int(outside.sum()) == 0 and int(target[4:12, 4].sum()) > 0
    torch.manual_seed(1)
    feats = tuple(torch.randn(2, c, s, s) for c, s in zip((4, 8, 16, 32), (16, 8, 4, 2)))
    meta = dict(img_shape=(64, 64), ori_shape=(64, 64))
    samples = [SegDataSample(gt_sem_seg=PixelData(label[0].repeat(1, 4, 4)), metainfo=meta)] * 2
    losses = head.loss(feats, samples, None)
    assert set(losses) == {"loss_ce", "loss_dice", "acc_seg"}
    (losses["loss_ce"] + losses["loss_dice"]).backward()
    assert head.conv_seg.weight.grad is not None and not head.fusion_kernel.requires_grad


def check_mobilenet_v3(net: Any) -> None:
    """Both archs reach output stride 8 with the declared widths; frozen layers stay frozen."""
    from segwright.registry import MODELS

    large = MODELS.build(
        dict(type="MobileNetV3", arch="large", out_indices=(1, 3, 16), reduction_factor=2,
             frozen_stages=1, norm_eval=True)
    )  # fmt: skip
    assert large.out_channels == (16, 24, 960) and large.out_strides == (2, 4, 8)
    assert net.out_channels == (16, 16, 576) and net.out_strides == (2, 4, 8)
    large.train()
    assert not large.layer1.training and not any(p.requires_grad for p in large.layer0.parameters())
    for part in (net, large):
        outs = part(torch.randn(2, 3, 36, 36))  # 36 is not a multiple of 8: ceil sizes
        assert [tuple(o.shape[1:]) for o in outs] == [
            (c, -(-36 // s), -(-36 // s)) for c, s in zip(part.out_channels, part.out_strides)
        ]
        sum(o.mean() for o in outs).backward()


def check_icnet(net: Any) -> None:
    """The ceil-mode max pool (MMSeg's) keeps one more row: 32 px -> 4, 3 and 1 pixels."""
    outs = net(torch.randn(2, 3, 32, 32))
    assert net.out_strides == (8, 16, 32)
    assert [tuple(o.shape[1:]) for o in outs] == [(2, 4, 4), (3, 3, 3), (4, 1, 1)]
    sum(o.mean() for o in outs).backward()
    assert net.backbone.layer4[0].conv1.weight.grad is not None


def check_icneck(neck: Any) -> None:
    """Three ICNet maps (strides 8, 16, 32) -> two cascade branches and the fusion."""
    torch.manual_seed(1)
    feats = [torch.randn(2, c, s, s) for c, s in zip((4, 6, 6), (8, 4, 2))]
    outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 5, 4, 4), (2, 5, 8, 8), (2, 5, 8, 8)]
    assert float(outs[2].detach().min()) >= 0  # the fusion ends in a ReLU


def check_ddrnet(net: Any) -> None:
    """Training: (spatial map, output); eval: the output alone, both at 1/8."""
    net.train()
    spatial, out = net(torch.randn(2, 3, 32, 32))
    assert tuple(spatial.shape) == (2, 4, 4, 4) and tuple(out.shape) == (2, 8, 4, 4)
    (spatial.mean() + out.mean()).backward()
    net.eval()
    with torch.no_grad():
        assert tuple(net(torch.randn(1, 3, 64, 64)).shape) == (1, 8, 8, 8)


def check_ddr_head(head: Any) -> None:
    """Training takes DDRNet's pair and logs loss_context/loss_spatial; eval takes one map."""
    torch.manual_seed(1)
    pair = (torch.randn(2, 4, 8, 8), torch.randn(2, 8, 8, 8))
    label = torch.randint(0, NUM_CLASSES, (1, 32, 32))
    meta = dict(img_shape=(32, 32), ori_shape=(32, 32))
    samples = [SegDataSample(gt_sem_seg=PixelData(label), metainfo=meta)] * 2
    head.train()
    losses = head.loss(pair, samples, None)
    assert set(losses) == {"loss_context", "loss_spatial", "acc_seg"}
    (losses["loss_context"] + losses["loss_spatial"]).backward()
    assert head.aux_cls_seg.weight.grad is not None and head.conv_seg.weight.grad is not None
    head.eval()
    assert tuple(head.predict(pair[1], [meta] * 2, None).shape) == (2, NUM_CLASSES, 32, 32)


def check_pidnet(net: Any) -> None:
    """Training: (P map, output, D map); eval: the output alone, all at 1/8; L variant too."""
    from segwright.registry import MODELS

    large = MODELS.build(
        dict(type="PIDNet", channels=2, ppm_channels=4, num_stem_blocks=3, num_branch_blocks=2)
    )
    for part in (net, large):
        part.train()
        outs = part(torch.randn(2, 3, 32, 32))
        assert [tuple(o.shape) for o in outs] == [(2, 4, 4, 4), (2, 8, 4, 4), (2, 4, 4, 4)]
        sum(o.mean() for o in outs).backward()
        part.eval()
        with torch.no_grad():
            assert tuple(part(torch.randn(1, 3, 32, 32)).shape) == (1, 8, 4, 4)


def check_boundary_loss(loss: Any) -> None:
    """Class-balanced BCE: a perfect boundary prediction scores near 0, a wrong one high."""
    target = (torch.rand(2, 8, 8) > 0.7).long()
    logits = (target.float() * 2 - 1).unsqueeze(1) * 20
    assert float(loss(logits, target)) < 1e-6 < 1 < float(loss(-logits, target))
    assert loss.loss_name == "loss_boundary"


def check_pid_head(head: Any) -> None:
    """Training takes PIDNet's triple and the boundary maps; eval takes one map."""
    torch.manual_seed(1)
    triple = (torch.randn(2, 4, 8, 8), torch.randn(2, 8, 8, 8), torch.randn(2, 4, 8, 8))
    meta = dict(img_shape=(32, 32), ori_shape=(32, 32))
    samples = []
    for _ in range(2):
        label = torch.randint(0, NUM_CLASSES, (1, 32, 32))
        edge = (torch.rand(1, 32, 32) > 0.8).long()
        samples.append(
            SegDataSample(gt_sem_seg=PixelData(label), gt_edge_map=PixelData(edge), metainfo=meta)
        )
    head.train()
    losses = head.loss(triple, samples, None)
    assert set(losses) == {"loss_sem_p", "loss_sem_i", "loss_bd", "loss_sem_bd", "acc_seg"}
    sum(v for k, v in losses.items() if k.startswith("loss")).backward()
    assert head.d_cls_seg.weight.grad is not None and head.p_cls_seg.weight.grad is not None
    head.eval()
    assert tuple(head.predict(triple[1], [meta] * 2, None).shape) == (2, NUM_CLASSES, 32, 32)


ENTRIES: dict[str, dict[str, Any]] = {
    "BiSeNetV1": dict(
        kind="backbone",
        kwargs=dict(
            backbone_cfg=TINY_RESNET,
            context_channels=(4, 8, 16),
            spatial_channels=(2, 2, 2, 4),
            out_channels=6,
        ),
    ),  # fmt: skip
    "BiSeNetV2": dict(
        kind="backbone",
        kwargs=dict(
            detail_channels=(2, 4, 6),
            semantic_channels=(2, 4, 5, 6),
            semantic_expansion_ratio=2,
            bga_channels=6,
        ),
    ),  # fmt: skip
    "STDCNet": dict(
        kind="backbone",
        kwargs={k: v for k, v in TINY_STDC.items() if k != "type"},
        check=check_stdc_net,
    ),
    "STDCContextPathNet": dict(
        kind="backbone",
        kwargs=dict(
            backbone_cfg=TINY_STDC,
            last_in_channels=(24, 16),
            out_channels=4,
            ffm_cfg=dict(in_channels=12, out_channels=8, scale_factor=2),
        ),
    ),  # fmt: skip
    "STDCHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=4,
            in_index=0,
            channels=4,
            num_convs=1,
            concat_input=False,
            num_classes=2,
            norm_cfg=BN,
            loss_decode=[
                dict(type="CrossEntropyLoss", loss_name="loss_ce", use_sigmoid=True),
                dict(type="DiceLoss", loss_name="loss_dice"),
            ],
        ),
        check=check_stdc_head,
    ),  # fmt: skip
    "MobileNetV3": dict(kind="backbone", kwargs=dict(norm_cfg=BN), check=check_mobilenet_v3),
    "LRASPPHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=(4, 8, 16),
            in_index=(0, 1, 2),
            channels=4,
            branch_channels=(2, 3),
            input_transform="multiple_select",
            num_classes=NUM_CLASSES,
            norm_cfg=BN,
        ),
        out_size=(16,),
    ),  # fmt: skip
    "ICNet": dict(
        kind="backbone",
        kwargs=dict(
            backbone_cfg=dict(
                TINY_RESNET, type="ResNetV1c", dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)
            ),
            layer_channels=(4, 16),
            light_branch_middle_channels=2,
            psp_out_channels=3,
            out_channels=(2, 3, 4),
            norm_cfg=BN,
        ),
        check=check_icnet,
    ),  # fmt: skip
    "ICNeck": dict(
        kind="neck",
        kwargs=dict(in_channels=(4, 6, 6), out_channels=5, norm_cfg=BN),
        check=check_icneck,
    ),  # fmt: skip
    "FastSCNN": dict(
        kind="backbone",
        kwargs=dict(
            downsample_dw_channels=(2, 3),
            global_in_channels=4,
            global_block_channels=(4, 4, 8),
            global_out_channels=6,
            higher_in_channels=4,
            lower_in_channels=6,
            fusion_out_channels=6,
            norm_cfg=BN,
        ),
    ),  # fmt: skip
    "DepthwiseSeparableFCNHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=32,
            in_index=3,
            channels=4,
            concat_input=True,
            num_classes=NUM_CLASSES,
            norm_cfg=BN,
        ),
        out_size=(2,),
    ),  # fmt: skip
    "CGNet": dict(
        kind="backbone",
        kwargs=dict(num_channels=(2, 4, 4), num_blocks=(2, 2), reductions=(2, 2), norm_cfg=BN),
    ),  # fmt: skip
    "ERFNet": dict(
        kind="backbone",
        kwargs=dict(
            enc_downsample_channels=(4, 5, 6),
            enc_stage_non_bottlenecks=(1, 2),
            enc_non_bottleneck_dilations=(2,),
            enc_non_bottleneck_channels=(5, 6),
            dec_upsample_channels=(4, 2),
            dec_stages_non_bottleneck=(1, 1),
            dec_non_bottleneck_channels=(4, 2),
        ),
    ),  # fmt: skip
    "DDRNet": dict(
        kind="backbone", kwargs=dict(channels=2, ppm_channels=4, norm_cfg=BN), check=check_ddrnet
    ),
    "DDRHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=8,
            channels=4,
            num_classes=NUM_CLASSES,
            norm_cfg=BN,
            loss_decode=[
                dict(type="OhemCrossEntropy", thres=0.9, min_kept=100),
                dict(type="OhemCrossEntropy", thres=0.9, min_kept=100, loss_weight=0.4),
            ],
        ),
        check=check_ddr_head,
    ),  # fmt: skip
    "OhemCrossEntropy": dict(kind="loss", kwargs=dict(thres=0.7, min_kept=20)),
    "PIDNet": dict(
        kind="backbone", kwargs=dict(channels=2, ppm_channels=4, norm_cfg=BN), check=check_pidnet
    ),
    "PIDHead": dict(
        kind="head",
        kwargs=dict(
            in_channels=8,
            channels=4,
            num_classes=NUM_CLASSES,
            norm_cfg=BN,
            loss_decode=[
                dict(type="CrossEntropyLoss", loss_weight=0.4),
                dict(type="OhemCrossEntropy", thres=0.9, min_kept=100),
                dict(type="BoundaryLoss", loss_weight=20.0),
                dict(type="OhemCrossEntropy", thres=0.9, min_kept=100),
            ],
        ),
        check=check_pid_head,
    ),  # fmt: skip
    "BoundaryLoss": dict(kind="loss", check=check_boundary_loss),
}
