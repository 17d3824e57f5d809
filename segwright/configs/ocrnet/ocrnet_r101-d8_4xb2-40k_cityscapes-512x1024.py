# OCRNet on a dilated ResNet-101, Cityscapes: 512x1024 crops, 40k iterations, batch 2 per GPU on
# 4 GPUs. ImageNet weights: resnet101_v1c (open-mmlab://resnet101_v1c), see the base file.
_base_ = [
    "../_base_/models/ocrnet_r50-d8.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_40k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, backbone=dict(depth=101))
