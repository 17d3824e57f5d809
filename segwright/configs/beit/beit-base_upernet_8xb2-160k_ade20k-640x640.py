# UPerNet on BEiT-Base, ADE20K: 640x640 crops, 160k iterations, batch 2 per GPU on 8 GPUs.
# AdamW (lr 3e-5, weight decay 0.05) with layer-wise lr decay 0.9 over the 12 blocks; 1500
# iterations of linear warm-up, then linear decay; sliding-window testing (640x640 windows,
# stride 426).
# MMSeg starts the backbone from BEiT-Base ImageNet-22k weights (see the base model file).
_base_ = [
    "../_base_/models/upernet_beit.py",
    "../_base_/datasets/ade20k_640x640.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (640, 640)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(mode="slide", crop_size=(640, 640), stride=(426, 426)),
)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=3e-5, betas=(0.9, 0.999), weight_decay=0.05),
    constructor="LayerDecayOptimizerConstructor",
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.9),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", power=1.0, begin=1500, end=160000, eta_min=0.0, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
