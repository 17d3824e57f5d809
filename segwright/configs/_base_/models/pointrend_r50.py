# PointRend: a Semantic FPN head gives coarse logits at stride 4, a PointHead (3-layer point MLP)
# refines them at the most uncertain points, on a plain ResNet-50 (V1c stem) with an FPN neck,
# laid out as MMSegmentation 1.x ships it.
# SyncBN is kept as in MMSeg; a single-process segwright run converts it to BN and says so.
# Pretrained weights: segwright downloads nothing, so `pretrained` is None here. To start from
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
    type="CascadeEncoderDecoder",
    data_preprocessor=data_preprocessor,
    num_stages=2,
    pretrained=None,
    backbone=dict(
        type="ResNetV1c",
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style="pytorch",
        contract_dilation=True,
    ),
    neck=dict(type="FPN", in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=4),
    decode_head=[
        dict(
            type="FPNHead",
            in_channels=[256, 256, 256, 256],
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=128,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
        dict(
            type="PointHead",
            in_channels=[256],
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True,
            dropout_ratio=-1,
            num_classes=19,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
    ],
    # training: 2048 points per image, 3x oversampled, 75% of them the most uncertain
    train_cfg=dict(num_points=2048, oversample_ratio=3, importance_sample_ratio=0.75),
    # inference: two x2 upsampling steps, each refining the 8196 most uncertain cells
    test_cfg=dict(mode="whole", subdivision_steps=2, subdivision_num_points=8196, scale_factor=2),
)
