# UPerNet on BEiT-Base (12 blocks of width 768 with relative position biases and layer scale,
# outputs of blocks 4, 6, 8, 12), made multi-scale by Feature2Pyramid (x4, x2, x1, x0.5 of
# stride 16), with an FCN auxiliary head, as in MMSegmentation 1.x. SyncBN becomes BN on one
# process. BEiT has no absolute position embedding: inputs have the size img_size (640x640).
# Pretrained weights: none here (an http(s) URL in init_cfg/load_from would be downloaded).
# MMSeg's method configs start from BEiT-Base weights pretrained on ImageNet-22k at 224
# (pretrain/beit_base_patch16_224_pt22k_ft22k.pth, converted with MMSeg's
# tools/model_converters/beit2mmseg.py); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/beit.pth")))
# (their 14x14-window relative position tables are resized to img_size on load, as MMSeg does).
norm_cfg = dict(type="SyncBN", requires_grad=True)
data_preprocessor = dict(
    type="SegDataPreProcessor",
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type="EncoderDecoder",
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type="BEiT",
        img_size=(640, 640),
        patch_size=16,
        in_channels=3,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        out_indices=(3, 5, 7, 11),
        qv_bias=True,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        norm_cfg=dict(type="LN", eps=1e-6),
        act_cfg=dict(type="GELU"),
        norm_eval=False,
        init_values=0.1,
    ),
    neck=dict(type="Feature2Pyramid", embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(
        type="UPerHead",
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=768,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=dict(
        type="FCNHead",
        in_channels=768,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
