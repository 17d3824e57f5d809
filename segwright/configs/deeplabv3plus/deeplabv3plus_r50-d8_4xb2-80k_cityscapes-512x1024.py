# DeepLabV3+, dilated ResNet-50 on Cityscapes: 512x1024 crops, 80k iterations, batch 2 per GPU on 4 GPUs
# (MMSeg's setting; on one GPU raise batch_size or accept a different result).
_base_ = [
    "../_base_/models/deeplabv3plus_r50-d8.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
