# LR-ASPP on MobileNetV3-Large from scratch, Cityscapes: 512x1024 crops, batch 4 per GPU on 4
# GPUs. The name says 320k iterations, but MMSeg 1.x's file trains 160k: its
# `runner=dict(max_iters=320000)` line is a 0.x leftover that 1.x ignores; this file keeps the
# 160k schedule that MMSeg 1.x actually runs.
_base_ = [
    "../_base_/models/lraspp_m-v3-d8.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=4, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
