# FastFCN (JPU + PSP head) on ResNet-50, ADE20K (150 classes): 512x512 crops, 80k iterations,
# batch 4 per GPU on 4 GPUs.
_base_ = [
    "../_base_/models/fastfcn_r50-d32_jpu_psp.py",
    "../_base_/datasets/ade20k.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_80k.py",
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
)
