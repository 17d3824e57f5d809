# PIDNet-L (base width 64, three blocks per stem layer, four per I-branch layer: the Bag fusion
# and DAPPM), otherwise as PIDNet-S. ImageNet weights: pidnet-l_imagenet1k_20230306-67889109.pth
# from the same place (see the PIDNet-S config).
_base_ = "./pidnet-s_2xb6-120k_1024x1024-cityscapes.py"
model = dict(
    backbone=dict(channels=64, ppm_channels=112, num_stem_blocks=3, num_branch_blocks=4),
    decode_head=dict(in_channels=256, channels=256),
)
