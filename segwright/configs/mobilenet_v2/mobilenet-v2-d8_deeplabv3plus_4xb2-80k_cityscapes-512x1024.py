# DeepLabV3+ on a dilated MobileNetV2 (output stride 8) on Cityscapes, 80k iterations, as MMSeg
# ships it. MMSeg builds it on the ResNet-101 DeepLabV3+ config and replaces the backbone, so the
# ResNet-50 config (the same apart from the replaced backbone) is the base here.
# Pretrained weights: none here (`pretrained` is None). MMSeg starts from mmcls://mobilenet_v2;
# fetch that checkpoint and set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/mobilenet_v2.pth")))
_base_ = "../deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py"
model = dict(
    backbone=dict(
        _delete_=True,
        type="MobileNetV2",
        widen_factor=1.0,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type="SyncBN", requires_grad=True),
    ),
    decode_head=dict(in_channels=320, c1_in_channels=24),
    auxiliary_head=dict(in_channels=96),
)
