# Pascal VOC 2012 plus the SBD augmented annotations (10582 training images in all): the train
# split of VOC and the aug split of SegmentationClassAug (made by MMSeg's voc_aug converter),
# concatenated. Validation is VOC's val split, as in pascal_voc12.py.
_base_ = "./pascal_voc12.py"
dataset_type = "PascalVOCDataset"
data_root = "data/VOCdevkit/VOC2012"
crop_size = (512, 512)
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="PackSegInputs"),
]
dataset_train = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClass"),
    ann_file="ImageSets/Segmentation/train.txt",
    pipeline=train_pipeline,
)
dataset_aug = dict(
    type=dataset_type,
    data_root=data_root,
    data_prefix=dict(img_path="JPEGImages", seg_map_path="SegmentationClassAug"),
    ann_file="ImageSets/Segmentation/aug.txt",
    pipeline=train_pipeline,
)
# _delete_ drops the base's single-dataset keys (data_root, ann_file...) from the wrapper
train_dataloader = dict(
    dataset=dict(_delete_=True, type="ConcatDataset", datasets=[dataset_train, dataset_aug])
)
