"""Floor 3: the training engine (runner, loops, hooks, optimizers, schedules, checkpoints).

The engine knows nothing about segmentation.
"""
