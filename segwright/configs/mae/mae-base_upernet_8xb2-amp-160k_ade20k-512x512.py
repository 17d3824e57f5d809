# UPerNet on an MAE-pretrained ViT-Base, ADE20K: 512x512 crops (img_size 512, layer scale 1.0),
# 160k iterations, batch 2 per GPU on 8 GPUs. AdamW (lr 1e-4, weight decay
# 0.05) with layer-wise lr decay 0.65 over the 12 blocks; 1500 iterations of linear warm-up,
# then linear decay; sliding-window testing (512x512 windows, stride 341).
# MMSeg starts the backbone from MAE ViT-Base weights (see the base model file); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/mae.pth")))
_base_ = [
    "../_base_/models/upernet_mae.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type="MAE",
        img_size=(512, 512),
        patch_size=16,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        init_values=1.0,
        drop_path_rate=0.1,
        out_indices=[3, 5, 7, 11],
    ),
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(in_channels=[768, 768, 768, 768], num_classes=150, channels=768),
    auxiliary_head=dict(in_channels=768, num_classes=150),
    test_cfg=dict(mode="slide", crop_size=(512, 512), stride=(341, 341)),
)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.65),
    constructor="LayerDecayOptimizerConstructor",
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
# MMSeg's file also sets fp16=dict(loss_scale="dynamic"), a 0.x key that MMSeg 1.x's runner
# never reads (left out here); for mixed precision use optim_wrapper type "AmpOptimWrapper".
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
