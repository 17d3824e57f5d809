"""Exception types that speak to the user.

Each subclasses :class:`SegwrightError` *and* the builtin a caller would naturally catch,
so ``except ValueError`` keeps working while the CLI can tell user errors from bugs.
"""

from __future__ import annotations


class SegwrightError(Exception):
    """Base class of every error caused by the user's input (config, data, flags, files)."""


class ConfigError(SegwrightError, ValueError):
    """A config file, a config key or a ``--cfg-options`` entry is wrong."""


class RegistryError(ConfigError, KeyError):
    """A ``type`` name is unknown or registered twice."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class DatasetError(SegwrightError, ValueError):
    """A dataset folder, file or label value is wrong."""


class CheckpointError(SegwrightError, ValueError):
    """A checkpoint cannot be read or does not fit the model."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint leaves part of the model without weights (keys missing or shaped differently).

    ``report`` is the :class:`~segwright.engine.checkpoint.LoadReport` of the load and ``source``
    the checkpoint's name, so a caller can restate the message with its own advice.
    """

    def __init__(self, message: str, report: object = None, source: str | None = None) -> None:
        super().__init__(message)
        self.report = report
        self.source = source


class TrainingError(SegwrightError, RuntimeError):
    """Training cannot go on (e.g. the loss or the weights became NaN)."""


class ConfigTypeError(ConfigError, TypeError):
    """A config value has the wrong type (still caught by ``except TypeError``)."""


class ConfigIndexError(ConfigError, IndexError):
    """A config value indexes past the end of something (``in_index``, ``out_indices``)."""


def config_error_like(exc: BaseException) -> type[ConfigError]:
    """The :class:`ConfigError` class that keeps ``exc``'s builtin class catchable."""
    if isinstance(exc, TypeError):
        return ConfigTypeError
    if isinstance(exc, IndexError):
        return ConfigIndexError
    return ConfigError
