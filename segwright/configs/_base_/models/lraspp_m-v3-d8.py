# LR-ASPP on MobileNetV3-Large, dilated to output stride 8 (MMSeg's segmentation version of the
# backbone), reading layers 1, 3 and 16 (16, 24 and 960 channels). Laid out as MMSegmentation
# 1.x ships it. Norm layers use eps 1e-3 (TensorFlow's), as there.
# SyncBN is kept as in MMSeg; a single-process segwright run converts it to BN and says so.
# Pretrained weights: none here. MMSeg's ImageNet-initialised variant uses
# open-mmlab://contrib/mobilenet_v3_large (MMCV's model zoo); to use it, fetch the file and set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/file.pth")))
norm_cfg = dict(type="SyncBN", eps=0.001, requires_grad=True)
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
    backbone=dict(type="MobileNetV3", arch="large", out_indices=(1, 3, 16), norm_cfg=norm_cfg),
    decode_head=dict(
        type="LRASPPHead",
        in_channels=(16, 24, 960),
        in_index=(0, 1, 2),
        channels=128,
        input_transform="multiple_select",
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=dict(type="ReLU"),
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
