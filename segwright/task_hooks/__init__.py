"""Floor 5: the hooks that know the task (segmentation, detection) and watch runs of it.

The engine's hooks (``segwright/engine/hooks/``) are generic: timing, logging, checkpoints,
schedules. The hooks here read segmentation and detection data (heads' ``num_classes``,
label maps, ``pred_sem_seg``/``pred_instances``) and paint with ``segwright.visualization``, so
they live above models/datasets/evaluation/visualization and beside the user API (``apis``),
which they are not part of:

- ``preflight``: ``SegPreflightHook``, the checks before iteration 0 (STYLE point 5); registered
  as a default hook of every run (``default_hooks.preflight=None`` in a config turns it off).
- ``test_outputs``: ``SegTestOutputHook``, the pictures and confusion matrix of ``segwright test``.
- ``visualization_hook``: MMSeg 1.x's ``SegVisualizationHook``.
- ``det_visualization_hook``: MMDetection 3.x's ``DetVisualizationHook``.

The HOOKS registry imports these modules on its first lookup, so configs name the hooks without
importing anything.
"""
