"""Optimizers, optimizer wrappers, the parameter-group constructor and parameter schedulers.

Importing this package registers every ``torch.optim`` optimizer and the built-ins below.
"""

from segwright.engine.optim import constructor, optimizers, schedulers, wrapper  # noqa: F401
