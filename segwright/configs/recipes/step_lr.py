# Recipe: step decay of the learning rate.
#
# What: lr 0.01, multiplied by 0.1 at iterations 24000 and 34000 of the 40k schedule.
# Why: the classic alternative to poly decay; a list of schedulers replaces the base's list
# (lists are not merged element by element).
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
param_scheduler = [
    dict(
        type="MultiStepLR", milestones=[24000, 34000], gamma=0.1, begin=0, end=40000, by_epoch=False
    )
]
