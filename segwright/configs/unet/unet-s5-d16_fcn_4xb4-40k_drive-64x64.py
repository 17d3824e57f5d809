# UNet (5 stages) with an FCN head on DRIVE retinal vessels: 64x64 crops, 40k iterations,
# batch 4 per GPU on 4 GPUs; predicted in 64x64 sliding windows with stride 42.
_base_ = [
    "../_base_/models/fcn_unet_s5-d16.py",
    "../_base_/datasets/drive.py",
    "../_base_/default_runtime.py",
    "../_base_/schedules/schedule_40k.py",
]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    test_cfg=dict(crop_size=(64, 64), stride=(42, 42)),
)
