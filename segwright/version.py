"""The package version, in a module that imports nothing.

Low floors (the engine writes it into checkpoints) read it from here instead of from the
``segwright`` package face, which re-exports it as ``segwright.__version__``. Keep it equal
to ``version`` in ``pyproject.toml`` (a test checks).
"""

__version__ = "0.1.0"
