"""Optimizers, optimizer wrappers, the parameter-group constructor and parameter schedulers.

Importing this package registers every ``torch.optim`` optimizer and the built-ins below.
"""

from segwright.engine.optim import (  # noqa: F401
    constructor,
    layer_decay_constructor,
    optimizers,
    schedulers,
    wrapper,
)
