# UPerNet on ConvNeXt-T (widths 96/192/384/768), ADE20K: 512x512 crops, 160k iterations, batch 2
# per GPU on 8 GPUs, mixed precision. AdamW (lr 1e-4, weight decay 0.05) with stage-wise lr decay
# (rate 0.9 over 6 groups); 1500 iterations of linear warm-up, then linear decay. Sliding-window
# test (512x512 windows, stride 341).
# MMSeg starts the backbone from mmpretrain's ImageNet ConvNeXt-T weights (convnext-tiny_3rdparty_
# 32xb128-noema_in1k_20220301-795e9634.pth); to use them set
#   model = dict(backbone=dict(init_cfg=dict(
#       type="Pretrained", checkpoint="path/to/convnext_t.pth", prefix="backbone.")))
_base_ = [
    "../_base_/models/upernet_convnext.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type="mmpretrain.ConvNeXt",
        arch="tiny",
        out_indices=[0, 1, 2, 3],
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
    ),
    decode_head=dict(in_channels=[96, 192, 384, 768], num_classes=150),
    auxiliary_head=dict(in_channels=384, num_classes=150),
    test_cfg=dict(mode="slide", crop_size=crop_size, stride=(341, 341)),
)
optim_wrapper = dict(
    _delete_=True,
    type="AmpOptimWrapper",
    optimizer=dict(type="AdamW", lr=0.0001, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg={"decay_rate": 0.9, "decay_type": "stage_wise", "num_layers": 6},
    constructor="LearningRateDecayOptimizerConstructor",
    loss_scale="dynamic",
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", power=1.0, begin=1500, end=160000, eta_min=0.0, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
