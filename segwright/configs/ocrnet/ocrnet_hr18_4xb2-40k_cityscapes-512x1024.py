# OCRNet on HRNetV2-W18, Cityscapes: 512x1024 crops, 40k iterations, batch 2 per GPU on 4 GPUs
# (MMSeg's setting; on one GPU raise batch_size or accept a different result).
_base_ = [
    "../_base_/models/ocrnet_hr18.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_40k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
