"""Run logging: the text logger, the scalar store and the scalar backends."""

from segwright.engine.logging import backends  # noqa: F401  (registers the vis backends)
from segwright.engine.logging.logger import get_logger
from segwright.engine.logging.store import LogStore

__all__ = ["LogStore", "get_logger"]
