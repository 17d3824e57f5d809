# Recipe: fine-tune a Cityscapes-trained PSPNet on Pascal VOC 2012 (21 classes).
#
# What: several _base_ files (model, dataset, runtime, schedule) are combined and then changed:
# num_classes becomes 21 in both heads, the lr drops to 0.001, the schedule is epoch-based (20
# epochs) with a 1-epoch linear warm-up and MultiStepLR decay at epochs 12 and 16, and the
# weights come from a Cityscapes checkpoint (load_from).
# Why: starting from a trained segmenter converges in far fewer iterations than from ImageNet
# weights. The heads' final classifier (conv_seg) has 19 outputs in the checkpoint and 21 here:
# segwright loads everything else and reports that layer as a shape mismatch, and it is trained
# from scratch. Point load_from at the downloaded file, or at its http(s) URL: segwright then
# downloads it once into torch's hub cache (open-mmlab:// names are not resolved).
_base_ = [
    "../_base_/models/pspnet_r50-d8.py",
    "../_base_/datasets/pascal_voc12.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_20k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21),
)
load_from = "checkpoints/pspnet_r50-d8_512x1024_40k_cityscapes_20200605_003338-2966598c.pth"
optim_wrapper = dict(optimizer=dict(lr=0.001))
max_epochs = 20
train_cfg = dict(_delete_=True, type="EpochBasedTrainLoop", max_epochs=max_epochs, val_interval=1)
# an epoch-based loop needs a finite sampler
train_dataloader = dict(sampler=dict(type="DefaultSampler", shuffle=True))
param_scheduler = [
    dict(
        type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True
    ),
    dict(
        type="MultiStepLR", milestones=[12, 16], gamma=0.1, by_epoch=True, begin=1, end=max_epochs
    ),
]
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=50, log_metric_by_epoch=True),
    checkpoint=dict(type="CheckpointHook", by_epoch=True, interval=1, max_keep_ckpts=2),
)
log_processor = dict(by_epoch=True)
