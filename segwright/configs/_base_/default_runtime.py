# Runtime settings every experiment shares: environment, visualisation backends, logging and
# loading. A run's own config overrides any of them.
default_scope = "mmseg"
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method="fork", opencv_num_threads=0),
    dist_cfg=dict(backend="nccl"),
)
# scalars (losses, lr, metrics) go to <work_dir>/<timestamp>/vis_data; add
# dict(type="TensorboardVisBackend") to the list for TensorBoard
vis_backends = [dict(type="LocalVisBackend")]
visualizer = dict(type="SegLocalVisualizer", vis_backends=vis_backends, name="visualizer")
log_processor = dict(by_epoch=False)
log_level = "INFO"
load_from = None
resume = False
tta_model = dict(type="SegTTAModel")
