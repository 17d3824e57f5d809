# DPT: a plain ViT-B/16 (12 blocks of width 768; outputs of blocks 3, 6, 9, 12 with their class
# token) decoded by DPTHead: the tokens are reassembled into a 4-level pyramid (x4, x2, x1, x0.5
# of stride 16, the class token projected in) and fused top-down by residual conv units, as in
# MMSegmentation 1.x. SyncBN becomes BN on one process.
# Pretrained weights: none here (an http(s) URL in init_cfg/load_from would be downloaded).
# MMSeg's method configs start from ImageNet ViT-B/16 weights (vit-b16_p16_224-80ecf9dd.pth,
# converted with MMSeg's tools/model_converters/vit2mmseg.py); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/vit-b16.pth")))
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
        type="VisionTransformer",
        img_size=224,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        out_indices=(2, 5, 8, 11),
        final_norm=False,
        with_cls_token=True,
        output_cls_token=True,
    ),
    decode_head=dict(
        type="DPTHead",
        in_channels=(768, 768, 768, 768),
        channels=256,
        embed_dims=768,
        post_process_channels=[96, 192, 384, 768],
        num_classes=150,
        readout_type="project",
        input_transform="multiple_select",
        in_index=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    auxiliary_head=None,
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
