# OCRNet on a dilated ResNet-50 (V1c stem), output stride 8: an FCN head on stage 3 gives coarse
# logits, whose soft class regions the OCR head on stage 4 attends to (object-contextual
# representations, 512 channels, 256 for keys/queries), laid out as MMSegmentation 1.x ships it.
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
    type="CascadeEncoderDecoder",
    data_preprocessor=data_preprocessor,
    num_stages=2,
    pretrained=None,
    backbone=dict(
        type="ResNetV1c",
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
    decode_head=[
        dict(
            type="FCNHead",
            in_channels=1024,
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
        dict(
            type="OCRHead",
            in_channels=2048,
            in_index=3,
            channels=512,
            ocr_channels=256,
            dropout_ratio=0.1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
