# SETR-MLA on ViT-L/16, ADE20K: 512x512 crops (img_size 512, no dropout), 160k iterations,
# batch 2 per GPU on 8 GPUs, SGD (lr 0.001, no weight decay, heads at 10x lr) with polynomial
# decay; four 1x1 FCN auxiliary heads on the neck's outputs; sliding-window testing
# (512x512 windows, stride 341).
# MMSeg starts the backbone from ImageNet-21k ViT-L/16 weights (pretrain/vit_large_p16.pth,
# converted with its tools/model_converters/vit2mmseg.py); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/vit-l16.pth")))
_base_ = [
    "../_base_/models/setr_mla.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_160k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
norm_cfg = dict(type="SyncBN", requires_grad=True)
aux_head = dict(
    type="FCNHead",
    in_channels=256,
    channels=256,
    dropout_ratio=0,
    norm_cfg=norm_cfg,
    act_cfg=dict(type="ReLU"),
    num_convs=0,
    kernel_size=1,
    concat_input=False,
    num_classes=150,
    align_corners=False,
    loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(img_size=(512, 512), drop_rate=0.0),
    decode_head=dict(num_classes=150),
    auxiliary_head=[dict(aux_head, in_index=i) for i in range(4)],
    test_cfg=dict(mode="slide", crop_size=(512, 512), stride=(341, 341)),
)
optimizer = dict(lr=0.001, weight_decay=0.0)
optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys={"head": dict(lr_mult=10.0)}),
)
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
