"""Which OpenMMLab import paths ``segwright.compat`` provides, and what each name stands for.

Plain strings only (``'segwright.module:attr'``), so reading the table imports nothing; a name
is imported the first time a user module asks for it. docs/migration.md lists the same table
(a test keeps the two equal).
"""

from __future__ import annotations

#: The top-level packages the shims stand in for (only while none of them is installed).
ROOTS = ("mmcv", "mmengine", "mmseg", "mmdet", "mmpretrain")

_REG = "segwright.registry"
_COMPAT_REG = "segwright.compat.registries"
_MMCV = "segwright.compat.mmcv_runner"
_MMSEG = "segwright.compat.mmseg_parts"
_LOG = "segwright.compat.logging_parts"

_ENGINE_REGISTRIES = {
    name: f"{_REG}:{name}"
    for name in (
        "MODELS",
        "DATASETS",
        "TRANSFORMS",
        "DATA_SAMPLERS",
        "FUNCTIONS",
        "OPTIMIZERS",
        "OPTIM_WRAPPERS",
        "OPTIM_WRAPPER_CONSTRUCTORS",
        "PARAM_SCHEDULERS",
        "HOOKS",
        "LOOPS",
        "METRICS",
        "TASK_UTILS",
        "VISBACKENDS",
        "LOG_PROCESSORS",
    )
} | {"EVALUATOR": f"{_REG}:EVALUATORS"}

_REGISTRY_TOOLS = {
    "Registry": f"{_COMPAT_REG}:Registry",
    "build_from_cfg": f"{_COMPAT_REG}:build_from_cfg",
}
_CONFIG = {"Config": "segwright.config:Config", "ConfigDict": "segwright.config:ConfigDict"}

_BASE_MODULES = {
    name: f"segwright.models.utils:{name}" for name in ("BaseModule", "ModuleList", "Sequential")
}
_WEIGHT_INIT = {
    name: f"segwright.models.utils:{name}"
    for name in (
        "bias_init_with_prob",
        "caffe2_xavier_init",
        "constant_init",
        "kaiming_init",
        "normal_init",
        "trunc_normal_init",
        "uniform_init",
        "xavier_init",
    )
}

# -- MMCV 1.x (mmcv.runner, mmcv.cnn, mmcv.utils) and MMCV 2.x (mmcv.cnn, mmcv.transforms) --------

_MMCV_OPTIM = {
    "OPTIMIZERS": f"{_REG}:OPTIMIZERS",
    "OPTIMIZER_BUILDERS": f"{_REG}:OPTIM_WRAPPER_CONSTRUCTORS",
    "DefaultOptimizerConstructor": f"{_MMCV}:DefaultOptimizerConstructor",
    "build_optimizer": f"{_MMCV}:build_optimizer",
    "build_optimizer_constructor": f"{_MMCV}:build_optimizer_constructor",
}
_MMCV_HOOKS = {"HOOKS": f"{_REG}:HOOKS", "Hook": f"{_MMCV}:Hook"}
_MMCV_FP16 = {"auto_fp16": f"{_MMCV}:auto_fp16", "force_fp32": f"{_MMCV}:force_fp32"}
_MMCV_DIST = {"get_dist_info": f"{_MMCV}:get_dist_info", "master_only": f"{_MMCV}:master_only"}
_LAYER_REGISTRIES = {
    name: f"{_REG}:MODELS"
    for name in (
        "CONV_LAYERS",
        "NORM_LAYERS",
        "ACTIVATION_LAYERS",
        "PADDING_LAYERS",
        "PLUGIN_LAYERS",
        "UPSAMPLE_LAYERS",
    )
}
_CNN = {
    name: f"segwright.models.layers:{name}"
    for name in (
        "ConvModule",
        "DepthwiseSeparableConvModule",
        "build_activation_layer",
        "build_conv_layer",
        "build_norm_layer",
        "build_padding_layer",
    )
}
_TRANSFORM_BASE = {"BaseTransform": "segwright.datasets.transforms.base:BaseTransform"}

_MMCV_RUNNER = _BASE_MODULES | _MMCV_OPTIM | _MMCV_HOOKS | _MMCV_FP16 | _MMCV_DIST

# -- MMEngine -----------------------------------------------------------------------------------

_ENGINE_HOOKS = {
    name: f"segwright.engine.hooks:{name}"
    for name in (
        "Hook",
        "CheckpointHook",
        "DistSamplerSeedHook",
        "EMAHook",
        "EmptyCacheHook",
        "IterTimerHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "RuntimeInfoHook",
    )
}
_ENGINE_OPTIM = {
    "DefaultOptimWrapperConstructor": "segwright.engine.optim.constructor:"
    "DefaultOptimWrapperConstructor",
    "build_optim_wrapper": "segwright.engine.optim.constructor:build_optim_wrapper",
    "OptimWrapper": "segwright.engine.optim.wrapper:OptimWrapper",
    "AmpOptimWrapper": "segwright.engine.optim.wrapper:AmpOptimWrapper",
}
_ENGINE_DIST = {
    name: f"segwright.utils.dist:{name}"
    for name in (
        "get_rank",
        "get_world_size",
        "is_main_process",
        "is_distributed",
        "barrier",
        "all_gather_object",
        "broadcast_object",
        "collect_results",
    )
} | {"get_dist_info": f"{_MMCV}:get_dist_info", "master_only": f"{_MMCV}:master_only"}
_ENGINE_STRUCTURES = {
    name: f"segwright.structures:{name}"
    for name in ("BaseDataElement", "InstanceData", "PixelData")
}
_ENGINE_MODEL = (
    _BASE_MODULES
    | _WEIGHT_INIT
    | {
        "BaseModel": "segwright.engine.model:BaseModel",
        "BaseDataPreprocessor": "segwright.engine.model:BaseDataPreprocessor",
    }
)

# -- MMSegmentation (1.x paths, and the 0.x ones that differ) -----------------------------------

_SEG_BUILDER = {
    name: f"{_REG}:MODELS"
    for name in ("MODELS", "BACKBONES", "NECKS", "HEADS", "LOSSES", "SEGMENTORS")
} | {
    name: f"{_MMSEG}:{name}"
    for name in ("build_backbone", "build_neck", "build_head", "build_loss", "build_segmentor")
}
_SEG_HEADS = {
    name: f"segwright.models.heads:{name}"
    for name in (
        "BaseDecodeHead",
        "ASPPHead",
        "DepthwiseSeparableASPPHead",
        "FCNHead",
        "PSPHead",
        "SegformerHead",
        "UPerHead",
    )
}
_SEG_LOSS_UTILS = {
    name: f"segwright.models.losses:{name}"
    for name in ("get_class_weight", "reduce_loss", "weight_reduce_loss")
}
_SEG_LOSSES = _SEG_LOSS_UTILS | {
    name: f"segwright.models.losses:{name}"
    for name in (
        "Accuracy",
        "accuracy",
        "CrossEntropyLoss",
        "cross_entropy",
        "binary_cross_entropy",
        "mask_cross_entropy",
        "DiceLoss",
        "FocalLoss",
        "LovaszLoss",
        "TverskyLoss",
    )
}
_SEG_SEGMENTORS = {
    name: f"segwright.models.segmentors:{name}"
    for name in ("BaseSegmentor", "EncoderDecoder", "CascadeEncoderDecoder")
}
_SEG_DATASET_REGISTRIES = {
    "DATASETS": f"{_REG}:DATASETS",
    "TRANSFORMS": f"{_REG}:TRANSFORMS",
    "PIPELINES": f"{_REG}:TRANSFORMS",
}
_SEG_DATASETS = (
    _SEG_DATASET_REGISTRIES
    | {"CustomDataset": f"{_MMSEG}:CustomDataset"}
    | {
        name: f"segwright.datasets:{name}"
        for name in (
            "BaseSegDataset",
            "ADE20KDataset",
            "CityscapesDataset",
            "PascalVOCDataset",
            "ConcatDataset",
            "RepeatDataset",
        )
    }
)
_SEG_UTILS = {
    name: f"{_MMSEG}:{name}"
    for name in (
        "ConfigType",
        "OptConfigType",
        "MultiConfig",
        "OptMultiConfig",
        "SampleList",
        "OptSampleList",
        "TensorDict",
        "TensorList",
        "ForwardResults",
    )
} | {
    "add_prefix": "segwright.models.segmentors:add_prefix",
    "get_root_logger": f"{_LOG}:get_root_logger",
}
_RESIZE = {"resize": "segwright.models.layers:resize"}

_MMDET_REGISTRIES = {
    name: f"{_COMPAT_REG}:MMDET_{name}"
    for name in ("MODELS", "DATASETS", "TRANSFORMS", "METRICS", "HOOKS", "TASK_UTILS")
}

#: Virtual module -> {name: 'segwright.module:attr'}. Every virtual module is a package, so
#: ``import mmcv.runner.optimizer`` finds its parents.
MODULES: dict[str, dict[str, str]] = {
    "mmcv": _CONFIG | _REGISTRY_TOOLS,
    "mmcv.utils": _CONFIG
    | _REGISTRY_TOOLS
    | {"print_log": f"{_LOG}:print_log", "get_logger": f"{_LOG}:mmcv_get_logger"},
    "mmcv.runner": _MMCV_RUNNER,
    "mmcv.runner.base_module": _BASE_MODULES,
    "mmcv.runner.optimizer": _MMCV_OPTIM,
    "mmcv.runner.optimizer.builder": _MMCV_OPTIM,
    "mmcv.runner.hooks": _MMCV_HOOKS,
    "mmcv.runner.hooks.hook": _MMCV_HOOKS,
    "mmcv.runner.fp16_utils": _MMCV_FP16,
    "mmcv.runner.dist_utils": _MMCV_DIST,
    "mmcv.cnn": _CNN | _LAYER_REGISTRIES | _WEIGHT_INIT,
    "mmcv.cnn.bricks": _CNN | _LAYER_REGISTRIES,
    "mmcv.cnn.utils": _WEIGHT_INIT,
    "mmcv.transforms": _TRANSFORM_BASE | {"TRANSFORMS": f"{_REG}:TRANSFORMS"},
    "mmcv.transforms.base": _TRANSFORM_BASE,
    "mmengine": _CONFIG,
    "mmengine.config": _CONFIG,
    "mmengine.registry": _ENGINE_REGISTRIES | _REGISTRY_TOOLS,
    "mmengine.hooks": _ENGINE_HOOKS,
    "mmengine.hooks.hook": {"Hook": "segwright.engine.hooks:Hook"},
    "mmengine.model": _ENGINE_MODEL,
    "mmengine.model.weight_init": _WEIGHT_INIT,
    "mmengine.optim": _ENGINE_OPTIM,
    "mmengine.dist": _ENGINE_DIST,
    "mmengine.structures": _ENGINE_STRUCTURES,
    "mmengine.logging": {"print_log": f"{_LOG}:print_log", "MMLogger": f"{_LOG}:MMLogger"},
    "mmengine.evaluator": {"BaseMetric": "segwright.evaluation.metrics.base_metric:BaseMetric"},
    "mmseg": {},
    "mmseg.registry": _ENGINE_REGISTRIES,
    "mmseg.models": _SEG_BUILDER,
    "mmseg.models.builder": _SEG_BUILDER,
    "mmseg.models.decode_heads": _SEG_HEADS,
    "mmseg.models.decode_heads.decode_head": {"BaseDecodeHead": _SEG_HEADS["BaseDecodeHead"]},
    "mmseg.models.losses": _SEG_LOSSES,
    "mmseg.models.losses.utils": _SEG_LOSS_UTILS,
    "mmseg.models.segmentors": _SEG_SEGMENTORS,
    "mmseg.models.utils": _RESIZE,
    "mmseg.ops": _RESIZE,
    "mmseg.datasets": _SEG_DATASETS,
    "mmseg.datasets.builder": _SEG_DATASET_REGISTRIES,
    "mmseg.datasets.custom": {"CustomDataset": f"{_MMSEG}:CustomDataset"},
    "mmseg.datasets.basesegdataset": {"BaseSegDataset": "segwright.datasets:BaseSegDataset"},
    "mmseg.structures": {"SegDataSample": "segwright.structures:SegDataSample"},
    "mmseg.utils": _SEG_UTILS,
    "mmseg.evaluation": {"IoUMetric": "segwright.evaluation:IoUMetric"},
    "mmdet": {},
    "mmdet.registry": _MMDET_REGISTRIES,
    # MMSeg's ConvNeXt/PoolFormer configs import mmpretrain.models for its backbones
    "mmpretrain": {},
    "mmpretrain.models": {
        "ConvNeXt": "segwright.models.backbones:ConvNeXt",
        "PoolFormer": "segwright.models.backbones:PoolFormer",
    },
}

#: Where segwright keeps what a virtual module (or any module under it) holds; named in the
#: ImportError for a name or module the shims do not provide. The longest prefix wins.
EQUIVALENTS: dict[str, str] = {
    "mmcv": "segwright.config (Config) and segwright.registry (Registry, build_from_cfg)",
    "mmcv.runner": "segwright.engine (runner, hooks, optim, checkpoint) and segwright.models.utils "
    "(BaseModule)",
    "mmcv.runner.checkpoint": "segwright.engine.checkpoint (load_checkpoint, save_checkpoint)",
    "mmcv.runner.load_checkpoint": "segwright.engine.checkpoint.load_checkpoint",
    "mmcv.runner.save_checkpoint": "segwright.engine.checkpoint.save_checkpoint",
    "mmcv.runner.hooks": "segwright.engine.hooks (one hook per file)",
    "mmcv.runner.optimizer": "segwright.engine.optim",
    "mmcv.cnn": "segwright.models.layers (ConvModule, build_*_layer) and segwright.models.utils "
    "(weight init)",
    "mmcv.cnn.build_upsample_layer": "nothing of that name: build torch.nn.Upsample or "
    "torch.nn.ConvTranspose2d directly",
    "mmcv.ops": "segwright.ops (nms, roi_align in pure PyTorch); other compiled ops are not "
    "provided",
    "mmcv.transforms": "segwright.datasets.transforms",
    "mmcv.utils": "segwright.config, segwright.registry and segwright.utils",
    "mmengine": "segwright.config (Config)",
    "mmengine.runner": "segwright.engine.runner (Runner) and segwright.engine.checkpoint",
    "mmengine.hooks": "segwright.engine.hooks",
    "mmengine.model": "segwright.models.utils and segwright.engine.model",
    "mmengine.optim": "segwright.engine.optim (constructor, wrapper, schedulers)",
    "mmengine.registry": "segwright.registry",
    "mmengine.dist": "segwright.utils.dist",
    "mmengine.logging": "the standard logging module (segwright logs to logging.getLogger"
    "('segwright'))",
    "mmengine.structures": "segwright.structures",
    "mmengine.evaluator": "segwright.evaluation",
    "mmseg": "segwright.models, segwright.datasets and segwright.evaluation",
    "mmseg.apis": "segwright.apis (init_model, inference_model, show_result, train)",
    "mmseg.models": "segwright.models",
    "mmseg.models.backbones": "segwright.models.backbones",
    "mmseg.models.necks": "segwright.models.necks",
    "mmseg.models.decode_heads": "segwright.models.heads",
    "mmseg.models.losses": "segwright.models.losses",
    "mmseg.models.segmentors": "segwright.models.segmentors",
    "mmseg.datasets": "segwright.datasets (datasets) and segwright.datasets.transforms",
    "mmseg.datasets.pipelines": "segwright.datasets.transforms",
    "mmseg.datasets.transforms": "segwright.datasets.transforms",
    "mmseg.evaluation": "segwright.evaluation",
    "mmseg.structures": "segwright.structures",
    "mmseg.utils": "segwright.utils",
    "mmdet": "segwright.models (detectors, dense_heads, roi_heads, task_modules)",
    "mmpretrain": "segwright.models.backbones (ConvNeXt, PoolFormer)",
}


def equivalent(dotted: str) -> str:
    """The segwright place to look for ``dotted`` (a module, or ``module.name``)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        hit = EQUIVALENTS.get(".".join(parts[:end]))
        if hit is not None:
            return hit
    return "segwright"
