# Segmenter with a ViT-Tiny/16 (width 192, 3 heads) and the mask-transformer decoder, ADE20K:
# 512x512 crops, 160k iterations, batch 1 per GPU on 8 GPUs, SGD (lr 0.001, no weight decay)
# with polynomial decay; sliding-window testing (512x512 windows, stride 480).
# MMSeg starts the backbone from ImageNet-21k ViT-Tiny/16 weights at 384 that it publishes for
# Segmenter (pretrain/segmenter/vit_tiny_p16_384_20220308-cce8c795.pth in its model zoo); to use
# them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/vit-t16.pth")))
_base_ = [
    "../_base_/models/segmenter_vit-b16_mask.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(embed_dims=192, num_heads=3),
    decode_head=dict(
        type="SegmenterMaskTransformerHead",
        in_channels=192,
        channels=192,
        num_heads=3,
        embed_dims=192,
    ),
)
optimizer = dict(lr=0.001, weight_decay=0.0)
optim_wrapper = dict(type="OptimWrapper", optimizer=optimizer)
train_dataloader = dict(batch_size=1)
val_dataloader = dict(batch_size=1)
