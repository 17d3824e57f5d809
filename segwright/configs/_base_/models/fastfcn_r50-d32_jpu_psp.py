# FastFCN: a ResNet-50 (V1c stem) kept at output stride 32, whose stride-8/16/32 maps the Joint
# Pyramid Upsampling neck (JPU) turns into one stride-8 map (4 dilations x 512 channels) for a
# PSP head; the auxiliary FCN head reads the stride-16 map the neck passes through. Laid out as
# MMSegmentation 1.x ships it.
# SyncBN is kept as in MMSeg; a single-process segwright run converts it to BN and says so.
# Pretrained weights: none here (`pretrained` is None). segwright downloads an http(s) URL given
# as `pretrained`, `init_cfg` checkpoint or `load_from`, not open-mmlab:// names. To start from
# ImageNet weights, fetch resnet50_v1c (open-mmlab://resnet50_v1c in MMCV's model zoo) and set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/resnet50_v1c.pth")))
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
        type="ResNetV1c",
        depth=50,
        num_stages=4,
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 2, 2),
        out_indices=(1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style="pytorch",
        contract_dilation=True,
    ),
    neck=dict(
        type="JPU",
        in_channels=(512, 1024, 2048),
        mid_channels=512,
        start_level=0,
        end_level=-1,
        dilations=(1, 2, 4, 8),
        align_corners=False,
        norm_cfg=norm_cfg,
    ),
    decode_head=dict(
        type="PSPHead",
        in_channels=2048,
        in_index=2,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=dict(
        type="FCNHead",
        in_channels=1024,
        in_index=1,
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
