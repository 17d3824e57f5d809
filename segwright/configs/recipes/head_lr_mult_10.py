# Recipe: train the decode and auxiliary heads 10x faster than the backbone.
#
# What: every parameter whose name contains "head" (decode_head.*, auxiliary_head.*) gets
# lr_mult=10, so the heads learn at 0.1 while the backbone stays at 0.01.
# Why: the backbone usually starts from pretrained weights that need only small updates, while
# the randomly initialised heads need large ones. custom_keys match by substring of the
# parameter name; the longest matching key wins when several match.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={"head": dict(lr_mult=10.0)}))
