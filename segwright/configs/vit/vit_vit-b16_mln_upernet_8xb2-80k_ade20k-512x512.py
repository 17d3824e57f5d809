# UPerNet on ViT-B/16 with MultiLevelNeck, ADE20K: 512x512 crops, 80k iterations, batch 2 per GPU
# on 8 GPUs. AdamW (lr 6e-5, weight decay 0.01, none on position embedding, class token and
# norms); 1500 iterations of linear warm-up, then linear decay (PolyLR with power 1).
# MMSeg starts the backbone from ImageNet ViT-B/16 weights (pretrain/vit_base_patch16_224.pth,
# converted with its tools/model_converters/vit2mmseg.py); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/vit-b16.pth")))
_base_ = [
    "../_base_/models/upernet_vit-b16_ln_mln.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            "pos_embed": dict(decay_mult=0.0),
            "cls_token": dict(decay_mult=0.0),
            "norm": dict(decay_mult=0.0),
        }
    ),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type="PolyLR", eta_min=0.0, power=1.0, begin=1500, end=80000, by_epoch=False),
]
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
