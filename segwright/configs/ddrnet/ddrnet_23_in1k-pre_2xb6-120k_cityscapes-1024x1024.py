# DDRNet-23 (base width 64, head width 128), otherwise as the slim config. ImageNet weights:
# ddrnet23-in1kpre_3rdparty-9ca29f62.pth from the same place (see the slim config).
_base_ = "./ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py"
model = dict(
    backbone=dict(channels=64),
    decode_head=dict(in_channels=64 * 4, channels=128),
)
