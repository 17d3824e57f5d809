# Semantic FPN on Twins-PCPVT-S, ADE20K: 512x512 crops, 80k iterations, batch 4 per GPU on 8
# GPUs. AdamW (lr 1e-4, weight decay 1e-4), the schedule's polynomial decay.
# MMSeg starts the backbone from ImageNet PCPVT-S weights (pcpvt_small_20220308-e638c41c.pth from
# its model zoo); to use them set
#   model = dict(backbone=dict(init_cfg=dict(type="Pretrained", checkpoint="path/to/pcpvt_s.pth")))
_base_ = [
    "../_base_/models/twins_pcpvt-s_fpn.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=0.0001, weight_decay=0.0001),
    clip_grad=None,
)
