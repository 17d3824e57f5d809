# FCN on HRNetV2-W48 (branches of 48/96/192/384 channels), Cityscapes, 40k iterations.
# ImageNet weights: hrnetv2_w48 (open-mmlab://msra/hrnetv2_w48), see the base file.
_base_ = "./fcn_hr18_4xb2-40k_cityscapes-512x1024.py"
model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(48, 96)),
            stage3=dict(num_channels=(48, 96, 192)),
            stage4=dict(num_channels=(48, 96, 192, 384)),
        )
    ),
    decode_head=dict(in_channels=[48, 96, 192, 384], channels=720),  # 48 + 96 + 192 + 384
)
