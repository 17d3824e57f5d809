"""The public API in segwright/__init__.py is exactly what __all__ says (httpx's habit)."""

from __future__ import annotations

import segwright


def test_all_names_exist_and_nothing_public_is_missing_from_all():
    for name in segwright.__all__:
        assert hasattr(segwright, name), name
    public = {n for n in dir(segwright) if not n.startswith("_")}
    modules = {n for n in public if type(vars(segwright).get(n)).__name__ == "module"}
    assert public - modules == set(segwright.__all__) - {"__version__"}
