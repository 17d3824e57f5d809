"""OpenMMLab's logging helpers on segwright's logger (``logging.getLogger('segwright')``)."""

from __future__ import annotations

import logging
from typing import Any

from segwright.engine.logging.logger import LOGGER_NAME, get_logger


def _segwright_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def print_log(msg: Any, logger: Any = None, level: int = logging.INFO) -> None:
    """Log ``msg``: ``logger`` None prints it, ``'silent'`` drops it, ``'current'`` or
    ``'mmengine'``/``'mmseg'``/``'root'`` use segwright's logger, another name or a Logger is
    used as given."""
    if logger is None:
        print(msg)
    elif logger == "silent":
        return
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger in ("current", "root", "mmengine", "mmseg", "mmcv"):
        _segwright_logger().log(level, msg)
    elif isinstance(logger, str):
        logging.getLogger(logger).log(level, msg)
    else:
        raise TypeError(
            f"print_log: logger must be None, 'silent', 'current', a name or a logging.Logger, "
            f"got {type(logger).__name__}."
        )


class MMLogger:
    """MMEngine's ``MMLogger`` lookups, answered with segwright's logger."""

    @classmethod
    def get_current_instance(cls) -> logging.Logger:
        return _segwright_logger()

    @classmethod
    def get_instance(cls, name: str = "", **kwargs: Any) -> logging.Logger:
        return _segwright_logger()


def get_root_logger(
    log_file: str | None = None, log_level: int | str = logging.INFO
) -> logging.Logger:
    """MMSeg 0.x ``get_root_logger``: segwright's logger (configured only when ``log_file`` is given)."""
    if log_file is None:
        return _segwright_logger()
    return get_logger(log_file, log_level)


def mmcv_get_logger(
    name: str, log_file: str | None = None, log_level: int | str = logging.INFO, **kwargs: Any
) -> logging.Logger:
    """MMCV 1.x ``get_logger(name, log_file, log_level)``: segwright's logger."""
    return get_root_logger(log_file, log_level)
