# Recipe: clip the gradient norm.
#
# What: before each step, all gradients are scaled so that their total L2 norm is at most 35
# (torch.nn.utils.clip_grad_norm_ with max_norm=35, norm_type=2).
# Why: large early gradients (random heads, high lr) can blow up training. _delete_=True makes
# this optim_wrapper replace the base's instead of merging into it, so nothing of the base's
# wrapper (such as clip_grad=None) survives by accident; the optimizer is therefore restated.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=dict(max_norm=35, norm_type=2),
)
