# SegFormer MiT-B0 on ADE20K: 512x512 crops, 160k iterations, batch 2 per GPU on 8 GPUs.
# AdamW (lr 6e-5) with the head at 10x lr and no weight decay on norms and position blocks;
# 1500 iterations of linear warm-up, then linear decay (PolyLR with power 1).
# MMSeg starts the backbone from ImageNet MiT-B0 weights (mit_b0_20220624-7e0fe6dd.pth from its
# model zoo). Download them (or give their http(s) URL, fetched once); to use them, set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/mit_b0.pth")))
_base_ = [
    "../_base_/models/segformer_mit-b0.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            "pos_block": dict(decay_mult=0.0),
            "norm": dict(decay_mult=0.0),
            "head": dict(lr_mult=10.0),
        }
    ),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=160000, by_epoch=False),
]
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
