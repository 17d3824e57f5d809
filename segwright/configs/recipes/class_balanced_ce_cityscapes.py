# Recipe: class-balanced cross-entropy on Cityscapes with DeepLab's class weights.
#
# What: each of the 19 classes' pixel losses is multiplied by its weight (road 0.8373 ...
# bicycle 1.0507), the weights DeepLab used for Cityscapes.
# Why: frequent classes get weights below 1 and rare ones above 1, so the rare classes count
# more. `segwright class-weights` computes weights like these from your own masks. The mean
# divides the weighted pixel losses by the sum of the pixels' class weights (MMSeg 1.x), an
# ignored pixel counting 1 with avg_non_ignore=False (the default), 0 with True; so the weights
# shift the balance between classes, not the loss's scale. In a 0.x config the same loss divides
# by the number of pixels instead (MMSeg 0.30; the translation sets avg_by_class_weight=False).
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
class_weight = [
    0.8373, 0.918, 0.866, 1.0345, 1.0166, 0.9969, 0.9754, 1.0489, 0.8786, 1.0023,
    0.9539, 0.9843, 1.1116, 0.9037, 1.0865, 1.0955, 1.0865, 1.1529, 1.0507,
]  # fmt: skip
model = dict(
    decode_head=dict(
        loss_decode=dict(
            type="CrossEntropyLoss", use_sigmoid=False, loss_weight=1.0, class_weight=class_weight
        )
    ),
    auxiliary_head=dict(
        loss_decode=dict(
            type="CrossEntropyLoss", use_sigmoid=False, loss_weight=0.4, class_weight=class_weight
        )
    ),
)
