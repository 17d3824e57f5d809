# LR-ASPP on MobileNetV3-Small from scratch (layers 0, 1 and 12: 16, 16 and 576 channels),
# otherwise as the Large config.
_base_ = "./mobilenet-v3-d8-scratch_lraspp_4xb4-320k_cityscapes-512x1024.py"
norm_cfg = dict(type="SyncBN", eps=0.001, requires_grad=True)
model = dict(
    backbone=dict(type="MobileNetV3", arch="small", out_indices=(0, 1, 12), norm_cfg=norm_cfg),
    decode_head=dict(in_channels=(16, 16, 576)),
)
