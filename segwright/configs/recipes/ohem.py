# Recipe: online hard example mining (OHEM) on the decode head.
#
# What: per batch, only pixels whose predicted probability of the true class is below 0.7 are
# kept for the loss, but never fewer than 100000 pixels (the hardest ones, if too few are below
# the threshold).
# Why: on Cityscapes most pixels (road, sky, building) are easy; averaging the loss over them
# drowns out thin and rare classes. Only the decode head samples; the auxiliary head keeps the
# plain loss.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
model = dict(decode_head=dict(sampler=dict(type="OHEMPixelSampler", thresh=0.7, min_kept=100000)))
