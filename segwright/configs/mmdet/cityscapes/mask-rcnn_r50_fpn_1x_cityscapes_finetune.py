# The config of MMDetection 3.x's fine-tuning guide, as the guide prints it: a COCO Mask R-CNN
# fine-tuned on Cityscapes' 8 instance classes. Two things in it are kept on purpose, because
# users copy them: the 2.x base name ``mask_rcnn_r50_fpn.py`` (3.x spells it with a hyphen;
# segwright finds the renamed file) and the trailing comma after ``default_hooks`` (a 1-tuple;
# segwright reads the dict inside and warns).
# fmt: off
_base_ = [
    '../_base_/models/mask_rcnn_r50_fpn.py',
    '../_base_/datasets/cityscapes_instance.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_1x.py'
]
model = dict(roi_head=dict(
    bbox_head=dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7, num_classes=8,
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2]),
                   reg_class_agnostic=False,
                   loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                   loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)),
    mask_head=dict(type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256, num_classes=8,
                   loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))))
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=8, by_epoch=True, milestones=[7], gamma=0.1)]
train_cfg = dict(max_epochs=8)
default_hooks = dict(logger=dict(interval=100)),
load_from = 'https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/mask_rcnn_r50_caffe_fpn_mstrain-poly_3x_coco/mask_rcnn_r50_caffe_fpn_mstrain-poly_3x_coco_bbox_mAP-0.408__segm_mAP-0.37_20200504_163245-42aa3d00.pth'
