# The toy run: a two-layer segmenter on synthetic rectangles, a few iterations on the CPU.
model = dict(type="ToySegModel", channels=4, num_classes=2)
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="ToySegDataset", num_samples=16, size=(32, 32)),
)
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="ToySegDataset", num_samples=8, size=(32, 32), seed=1),
)
test_dataloader = val_dataloader
val_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU", "mDice"])
test_evaluator = val_evaluator
train_cfg = dict(type="IterBasedTrainLoop", max_iters=60, val_interval=30)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
optim_wrapper = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.05, momentum=0.9))
param_scheduler = [dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=60, by_epoch=False)]
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=30, save_best="mIoU"),
)
randomness = dict(seed=0)
