# The DRIVE UNet trained with cross-entropy plus Dice loss at 1:3 on the decode head, which helps
# the thin, rare vessel class (the auxiliary head keeps its CE, as in MMSeg). Each loss is logged
# under its loss_name (decode.loss_ce, decode.loss_dice).
_base_ = "./unet-s5-d16_fcn_4xb4-40k_drive-64x64.py"
model = dict(
    decode_head=dict(
        loss_decode=[
            dict(type="CrossEntropyLoss", loss_name="loss_ce", loss_weight=1.0),
            dict(type="DiceLoss", loss_name="loss_dice", loss_weight=3.0),
        ]
    ),
)
