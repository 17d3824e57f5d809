"""segwright: config-driven semantic segmentation on PyTorch that runs MMSegmentation configs.

Importing ``segwright`` is cheap: it does not import torch. Built-in models, datasets, hooks
and so on register themselves the first time a registry is asked for a name.
"""

from segwright.config import Config, ConfigDict
from segwright.registry import (
    DATA_SAMPLERS,
    DATASETS,
    EVALUATORS,
    FUNCTIONS,
    HOOKS,
    LOG_PROCESSORS,
    LOOPS,
    METRICS,
    MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS,
    OPTIMIZERS,
    PARAM_SCHEDULERS,
    TASK_UTILS,
    TRANSFORMS,
    VISBACKENDS,
    Registry,
)
from segwright.utils.errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    RegistryError,
    SegwrightError,
)
from segwright.version import __version__

# isort: split
# MMCV/MMEngine/MMSeg import paths for the user modules a config's custom_imports names.
from segwright import compat as _compat  # noqa: E402

_compat.install()

# Heavy parts (torch) load on first use, so `import segwright` and `segwright --help` stay fast.
_LAZY = {
    "init_model": "segwright.apis.inference",
    "inference_model": "segwright.apis.inference",
    "show_result": "segwright.apis.inference",
    "train": "segwright.apis.train",
    "Runner": "segwright.engine.runner",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'segwright' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DATASETS",
    "DATA_SAMPLERS",
    "EVALUATORS",
    "FUNCTIONS",
    "HOOKS",
    "LOG_PROCESSORS",
    "LOOPS",
    "METRICS",
    "MODELS",
    "OPTIMIZERS",
    "OPTIM_WRAPPERS",
    "OPTIM_WRAPPER_CONSTRUCTORS",
    "PARAM_SCHEDULERS",
    "TASK_UTILS",
    "TRANSFORMS",
    "VISBACKENDS",
    "CheckpointError",
    "Config",
    "ConfigDict",
    "ConfigError",
    "DatasetError",
    "Registry",
    "RegistryError",
    "Runner",
    "SegwrightError",
    "__version__",
    "inference_model",
    "init_model",
    "show_result",
    "train",
]
