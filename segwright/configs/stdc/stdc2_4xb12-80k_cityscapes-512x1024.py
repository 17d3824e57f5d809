# STDC2 (deeper stages: 4, 5 and 3 modules), otherwise as STDC1. ImageNet weights:
# stdc2_20220308-7dbd9127.pth from the same place (see the STDC1 config).
_base_ = "./stdc1_4xb12-80k_cityscapes-512x1024.py"
model = dict(backbone=dict(backbone_cfg=dict(stdc_type="STDCNet2")))
