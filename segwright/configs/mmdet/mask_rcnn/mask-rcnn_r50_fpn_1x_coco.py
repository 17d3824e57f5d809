# Mask R-CNN, ResNet-50 + FPN, COCO instance segmentation, 12 epochs.
_base_ = [
    "../_base_/models/mask-rcnn_r50_fpn.py",
    "../_base_/datasets/coco_instance.py",
    "../_base_/schedules/schedule_1x.py",
    "../_base_/default_runtime.py",
]
