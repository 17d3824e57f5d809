# STDC1 (from scratch), Cityscapes: 512x1024 crops, 80k iterations, batch 12 per GPU on 4 GPUs
# (MMSeg's setting); 1k iterations of linear warm-up, then poly decay.
# ImageNet weights: MMSeg publishes stdc1_20220308-5368626c.pth (download.openmmlab.com,
# mmsegmentation/v0.5/pretrain/stdc/); to start from them set
#   model = dict(backbone=dict(backbone_cfg=dict(
#       init_cfg=dict(type="Pretrained", checkpoint="path/to/stdc1_20220308-5368626c.pth"))))
_base_ = [
    "../_base_/models/stdc.py",
    "../_base_/datasets/cityscapes.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
param_scheduler = [
    dict(type="LinearLR", by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=1000, end=80000, by_epoch=False),
]
train_dataloader = dict(batch_size=12, num_workers=4)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
