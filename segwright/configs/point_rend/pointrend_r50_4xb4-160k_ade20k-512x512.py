# PointRend, ResNet-50 + FPN on ADE20K (150 classes): 512x512 crops, 160k iterations, batch 4 per
# GPU on 4 GPUs, with a 200-iteration linear warm-up before the polynomial decay.
_base_ = [
    "../_base_/models/pointrend_r50.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
norm_cfg = dict(type="SyncBN", requires_grad=True)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=[
        dict(
            type="FPNHead",
            in_channels=[256, 256, 256, 256],
            in_index=[0, 1, 2, 3],
            feature_strides=[4, 8, 16, 32],
            channels=128,
            dropout_ratio=-1,
            num_classes=150,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
        dict(
            type="PointHead",
            in_channels=[256],
            in_index=[0],
            channels=256,
            num_fcs=3,
            coarse_pred_each_layer=True,
            dropout_ratio=-1,
            num_classes=150,
            align_corners=False,
            loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
        ),
    ],
)
param_scheduler = [
    dict(type="LinearLR", by_epoch=False, start_factor=0.1, begin=0, end=200),
    dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=200, end=160000, by_epoch=False),
]
