"""A mixin that pins ``param_name`` of a generic scheduler (``LinearLR`` = Linear on ``lr``)."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from segwright.engine.optim.schedulers.base import ParamScheduler


def _generic_init_owner(cls: type) -> type | None:
    """The first scheduler class in the MRO, past the mixins, that defines ``__init__``."""
    for klass in cls.__mro__:
        if (
            issubclass(klass, ParamScheduler)
            and not issubclass(klass, FixedParamMixin)
            and "__init__" in klass.__dict__
        ):
            return klass
    return None


class FixedParamMixin:
    """Pass a fixed ``param_name`` to the generic scheduler that follows in the MRO.

    The class signature is the generic one without ``param_name``, so config checks report
    unknown or missing arguments by name.
    """

    fixed_param_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__signature__ = None  # type: ignore[attr-defined]  # let inspect read __init__
            return
        generic = _generic_init_owner(cls)
        if generic is None:
            return
        signature = inspect.signature(generic.__init__)
        params = [p for n, p in signature.parameters.items() if n not in ("self", "param_name")]
        cls.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=params, return_annotation=inspect.Signature.empty
        )

    def __init__(self, optimizer: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, self.fixed_param_name, *args, **kwargs)  # type: ignore[call-arg]
