# Recipe: Adam instead of SGD.
#
# What: the optimizer becomes Adam with lr 3e-4 (and weight decay 1e-4).
# Why: the base schedule's optimizer is SGD with momentum=0.9; Adam has no "momentum" argument,
# so the base's optimizer dict must not be merged into (that would pass momentum to Adam):
# _delete_=True replaces it whole.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type="Adam", lr=0.0003, betas=(0.9, 0.999), weight_decay=0.0001)
)
