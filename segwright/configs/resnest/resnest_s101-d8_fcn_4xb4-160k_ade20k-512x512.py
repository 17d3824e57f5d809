# FCN on a dilated ResNeSt-101 (split attention, radix 2, 128-channel deep stem), ADE20K (150
# classes): 512x512 crops, 160k iterations, batch 4 per GPU on 4 GPUs. MMSeg derives it from its
# fcn_r101-d8 160k ADE20K config; the same values are written here on the shared bases.
# Pretrained weights: none here. To start from ImageNet weights, fetch resnest101
# (open-mmlab://resnest101 in MMCV's model zoo) and set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/resnest101.pth")))
_base_ = [
    "../_base_/models/fcn_r50-d8.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
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
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
)
