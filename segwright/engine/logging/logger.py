"""The run's text logger: the console and ``<run dir>/<timestamp>.log``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from segwright.utils.dist import get_rank

LOGGER_NAME = "segwright"


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is now, so a live progress bar can redirect it."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def get_logger(log_file: str | Path | None = None, level: str | int = "INFO") -> logging.Logger:
    """The ``segwright`` logger; adds a file handler for ``log_file`` once. Rank > 0 logs errors only."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.propagate = False
    logger.setLevel(level if get_rank() == 0 else logging.ERROR)
    formatter = logging.Formatter(
        "%(asctime)s - segwright - %(levelname)s - %(message)s", "%m/%d %H:%M:%S"
    )
    if not any(getattr(h, "_segwright_console", False) for h in logger.handlers):
        console = _StdoutHandler()
        console.setFormatter(formatter)
        console._segwright_console = True  # type: ignore[attr-defined]
        logger.addHandler(console)
    if log_file is not None and get_rank() == 0:
        log_file = str(log_file)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    return logger


def close_file_handlers() -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
