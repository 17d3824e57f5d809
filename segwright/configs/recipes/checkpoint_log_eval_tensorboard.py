# Recipe: checkpoint, logging and evaluation settings, with TensorBoard.
#
# What: log every 10 iterations; validate every 2000 iterations with mIoU, mDice and mFscore;
# save a checkpoint every 2000 iterations, keep only the 3 newest, and keep the best by mIoU
# (best_mIoU_iter_N.pth); scalars go to TensorBoard as well as to the local JSON file.
# Why: frequent validation shows over-fitting early; max_keep_ckpts bounds disk use while
# save_best keeps the checkpoint you want. Run `tensorboard --logdir work_dirs/` to watch.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
train_cfg = dict(val_interval=2000)
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=10, log_metric_by_epoch=False),
    checkpoint=dict(
        type="CheckpointHook", by_epoch=False, interval=2000, max_keep_ckpts=3, save_best="mIoU"
    ),
)
val_evaluator = dict(type="IoUMetric", iou_metrics=["mIoU", "mDice", "mFscore"])
test_evaluator = val_evaluator
vis_backends = [dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")]
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends, name="visualizer")
