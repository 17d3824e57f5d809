# FCN on HRNetV2-W18-Small (half the blocks, fewer modules), Cityscapes, 40k iterations.
# ImageNet weights: hrnetv2_w18_small (open-mmlab://msra/hrnetv2_w18_small), see the base file.
_base_ = "./fcn_hr18_4xb2-40k_cityscapes-512x1024.py"
model = dict(
    backbone=dict(
        extra=dict(
            stage1=dict(num_blocks=(2,)),
            stage2=dict(num_blocks=(2, 2)),
            stage3=dict(num_modules=3, num_blocks=(2, 2, 2)),
            stage4=dict(num_modules=2, num_blocks=(2, 2, 2, 2)),
        )
    )
)
