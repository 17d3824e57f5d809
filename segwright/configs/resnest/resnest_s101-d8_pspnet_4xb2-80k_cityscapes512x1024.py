# PSPNet on a dilated ResNeSt-101 (split attention, radix 2, 128-channel deep stem), Cityscapes:
# 512x1024 crops, 80k iterations, batch 2 per GPU on 4 GPUs (MMSeg's setting; on one GPU raise
# batch_size or accept a different result). MMSeg derives it from its pspnet_r101-d8 80k config;
# the same values are written here on the shared bases.
# Pretrained weights: none here. To start from ImageNet weights, fetch resnest101
# (open-mmlab://resnest101 in MMCV's model zoo) and set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/resnest101.pth")))
_base_ = [
    "../_base_/models/pspnet_r50-d8.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type="ResNeSt",
        depth=101,
        stem_channels=128,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True,
    ),
)
