# Cityscapes instance segmentation (boxes and masks), 8 instance classes, from the COCO-format json files
# that MMDetection's cityscapes converter writes; images rescaled to 2048 x 800..1024.
dataset_type = "CityscapesDataset"
data_root = "data/cityscapes/"
backend_args = None
train_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
    dict(type="RandomResize", scale=[(2048, 800), (2048, 1024)], keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackDetInputs"),
]
test_pipeline = [
    dict(type="LoadImageFromFile", backend_args=backend_args),
    dict(type="Resize", scale=(2048, 1024), keep_ratio=True),
    dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor"),
    ),
]
train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=True),
    batch_sampler=dict(type="AspectRatioBatchSampler"),
    dataset=dict(
        type="RepeatDataset",
        times=8,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file="annotations/instancesonly_filtered_gtFine_train.json",
            data_prefix=dict(img="leftImg8bit/train/"),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=train_pipeline,
            backend_args=backend_args,
        ),
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file="annotations/instancesonly_filtered_gtFine_val.json",
        data_prefix=dict(img="leftImg8bit/val/"),
        test_mode=True,
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(
        type="CocoMetric",
        ann_file=data_root + "annotations/instancesonly_filtered_gtFine_val.json",
        metric=["bbox", "segm"],
        backend_args=backend_args,
    ),
    dict(
        type="CityScapesMetric",
        seg_prefix=data_root + "gtFine/val",
        outfile_prefix="./work_dirs/cityscapes_metric/instance",
        backend_args=backend_args,
    ),
]
test_evaluator = val_evaluator
