# Recipe: your own optimizer and optimizer constructor, loaded through custom_imports.
#
# What: custom_imports imports a module before anything is built, so the classes it registers
# (@OPTIMIZERS.register_module(), @OPTIM_WRAPPER_CONSTRUCTORS.register_module()) can be named
# by type= and constructor=. Here the module is segwright.testing.custom_optim: an SGD that
# always uses Nesterov momentum, and a constructor that puts the backbone at 0.1x lr.
# Why: new optimizers and parameter grouping rules need no change to segwright. For your own
# code, put the module on the Python path and name it the same way, e.g.
#   custom_imports = dict(imports=["my_project.optim"], allow_failed_imports=False)
_base_ = "../pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"
custom_imports = dict(imports=["segwright.testing.custom_optim"], allow_failed_imports=False)
optim_wrapper = dict(
    _delete_=True,
    type="OptimWrapper",
    constructor="RecipeBackboneLrConstructor",
    optimizer=dict(
        type="RecipeSGDWithNesterov", lr=0.01, momentum=0.9, weight_decay=0.0005, warm_momentum=0.5
    ),
    paramwise_cfg=dict(backbone_lr_mult=0.1),
)
