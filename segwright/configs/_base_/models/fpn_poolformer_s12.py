# Semantic FPN on mmpretrain's PoolFormer-S12 (widths 64/128/320/512; the four stages are
# entries 0, 2, 4, 6 of its network), as in MMSegmentation 1.x. `mmpretrain.PoolFormer` is
# segwright's own PoolFormer (same arguments and keys); mmpretrain need not be installed, so
# MMSeg's custom_imports of mmpretrain.models is left out. The neck's in_channels are MMSeg's
# base values (those of a wider model); its method configs set the PoolFormer widths. SyncBN (in
# the head) becomes BN on one process.
# Pretrained weights: none here (an http(s) URL in init_cfg/load_from would be downloaded). MMSeg's
# method configs start from mmpretrain's ImageNet PoolFormer weights (e.g. poolformer-s12_3rdparty_
# 32xb128_in1k_20220414-f8d83051.pth), read under the prefix 'backbone.'; to use them set
#   model = dict(backbone=dict(init_cfg=dict(
#       type="Pretrained", checkpoint="path/to/poolformer.pth", prefix="backbone.")))
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
    backbone=dict(
        type="mmpretrain.PoolFormer",
        arch="s12",
        in_patch_size=7,
        in_stride=4,
        in_pad=2,
        down_patch_size=3,
        down_stride=2,
        down_pad=1,
        drop_rate=0.0,
        drop_path_rate=0.0,
        out_indices=(0, 2, 4, 6),
        frozen_stages=0,
    ),
    neck=dict(type="FPN", in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=4),
    decode_head=dict(
        type="FPNHead",
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        feature_strides=[4, 8, 16, 32],
        channels=128,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode="whole"),
)
