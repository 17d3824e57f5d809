# Recipe: linear warm-up, then cosine annealing.
#
# What: the lr rises linearly from 0.001x to 1x of 0.01 over the first 1000 iterations, then
# follows a half cosine down to 1e-4 at iteration 40000.
# Why: warm-up avoids large early steps while the heads are random (and BN statistics are
# unsettled); cosine decay keeps the lr high longer than poly and ends smoothly. The second
# scheduler starts where the first ends (begin=1000), so they never overlap.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
param_scheduler = [
    dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(
        type="CosineAnnealingLR", T_max=39000, eta_min=1e-4, by_epoch=False, begin=1000, end=40000
    ),
]
