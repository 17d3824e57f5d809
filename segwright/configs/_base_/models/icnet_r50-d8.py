# ICNet: a light full-resolution branch and a dilated ResNet-50 (V1c stem) run on the image at
# 1/2 (up to layer2) and 1/4 (layer3, layer4, pyramid pooling); ICNeck fuses them in cascade.
# FCN decode head on the last fusion, FCN auxiliary heads (weight 0.4) on the two cascade
# branches. Laid out as MMSegmentation 1.x ships it.
# SyncBN is kept as in MMSeg; a single-process segwright run converts it to BN and says so.
# Pretrained weights: none here (this is MMSeg's from-scratch setting). To start from ImageNet
# weights, fetch resnet50_v1c (open-mmlab://resnet50_v1c in MMCV's model zoo) and set
#   model = dict(backbone=dict(backbone_cfg=dict(
#       init_cfg=dict(type="Pretrained", checkpoint="path/to/resnet50_v1c.pth"))))
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
    backbone=dict(
        type="ICNet",
        backbone_cfg=dict(
            type="ResNetV1c",
            in_channels=3,
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style="pytorch",
            contract_dilation=True,
        ),
        in_channels=3,
        layer_channels=(512, 2048),
        light_branch_middle_channels=32,
        psp_out_channels=512,
        out_channels=(64, 256, 256),
        norm_cfg=norm_cfg,
        align_corners=False,
    ),
    neck=dict(
        type="ICNeck",
        in_channels=(64, 256, 256),
        out_channels=128,
        norm_cfg=norm_cfg,
        align_corners=False,
    ),
    decode_head=dict(
        type="FCNHead",
        in_channels=128,
        channels=128,
        num_convs=1,
        in_index=2,
        dropout_ratio=0,
        num_classes=19,
        norm_cfg=norm_cfg,
        concat_input=False,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=[
        dict(
            type="FCNHead",
            in_channels=128,
            channels=128,
            num_convs=1,
            num_classes=19,
            in_index=index,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
        )
        for index in (0, 1)
    ],
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
