# Recipe: cross-entropy plus Dice loss on the decode head.
#
# What: loss_decode is a list; each loss is computed and logged on its own under its loss_name
# (decode.loss_ce, decode.loss_dice) and their sum is trained. Here CE weighs 1.0 and Dice 3.0.
# Why: Dice scores the overlap of each class as a whole, so small structures are not outweighed
# by large ones; CE keeps per-pixel gradients stable early on. A loss_name must start with
# "loss_" to count towards the total.
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
model = dict(
    decode_head=dict(
        loss_decode=[
            dict(type="CrossEntropyLoss", loss_name="loss_ce", loss_weight=1.0),
            dict(type="DiceLoss", loss_name="loss_dice", loss_weight=3.0),
        ]
    )
)
