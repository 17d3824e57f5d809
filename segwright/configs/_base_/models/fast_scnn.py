# Fast-SCNN: learning to downsample (1/8), a global feature extractor (MobileNetV2 bottlenecks
# and pyramid pooling, 1/32) and their fusion at 1/8. Depthwise-separable FCN decode head on the
# fusion, FCN auxiliary heads (weight 0.4) on the extractor and the stem; every loss a sigmoid
# cross-entropy, as MMSeg configures it. Laid out as MMSegmentation 1.x ships it; from scratch.
# SyncBN (momentum 0.01) is kept as in MMSeg; a single-process segwright run converts it to BN.
norm_cfg = dict(type="SyncBN", requires_grad=True, momentum=0.01)
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
    backbone=dict(
        type="FastSCNN",
        downsample_dw_channels=(32, 48),
        global_in_channels=64,
        global_block_channels=(64, 96, 128),
        global_block_strides=(2, 2, 1),
        global_out_channels=128,
        higher_in_channels=64,
        lower_in_channels=128,
        fusion_out_channels=128,
        out_indices=(0, 1, 2),
        norm_cfg=norm_cfg,
        align_corners=False,
    ),
    decode_head=dict(
        type="DepthwiseSeparableFCNHead",
        in_channels=128,
        channels=128,
        concat_input=False,
        num_classes=19,
        in_index=-1,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1),
    ),
    auxiliary_head=[
        dict(
            type="FCNHead",
            in_channels=128,
            channels=32,
            num_convs=1,
            num_classes=19,
            in_index=-2,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=0.4),
        ),
        dict(
            type="FCNHead",
            in_channels=64,
            channels=32,
            num_convs=1,
            num_classes=19,
            in_index=-3,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=0.4),
        ),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
