# UPerNet on mmpretrain's ConvNeXt (ConvNeXt-B here: widths 128/256/512/1024), with an FCN
# auxiliary head on stage 3, as in MMSegmentation 1.x. `mmpretrain.ConvNeXt` is segwright's own
# ConvNeXt (same arguments and keys); mmpretrain need not be installed, so MMSeg's
# custom_imports of mmpretrain.models is left out. The auxiliary head's in_channels (384) is
# MMSeg's base value (ConvNeXt-T/S's stage 3); its method configs set it per arch. SyncBN (in the
# heads) becomes BN on one process.
# Pretrained weights: none here (an http(s) URL in init_cfg/load_from would be downloaded). MMSeg's
# method configs start from mmpretrain's ImageNet ConvNeXt weights (e.g. convnext-base_3rdparty_
# 32xb128-noema_in1k_20220301-2a0ee547.pth), read under the prefix 'backbone.'; to use them set
#   model = dict(backbone=dict(init_cfg=dict(
#       type="Pretrained", checkpoint="path/to/convnext.pth", prefix="backbone.")))
norm_cfg = dict(type="SyncBN", requires_grad=True)
data_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type="EncoderDecoder",
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type="mmpretrain.ConvNeXt",
        arch="base",
        out_indices=[0, 1, 2, 3],
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
    ),
    decode_head=dict(
        type="UPerHead",
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=512,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=dict(
        type="FCNHead",
        in_channels=384,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
