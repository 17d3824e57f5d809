"""Capturing and restoring every random-number generator a run uses.

Checkpoints carry these states so a resumed run continues exactly like an uninterrupted
one; validation runs inside :func:`preserved_rng` so it never shifts training randomness.
States are stored as tensors and plain Python values, which ``torch.load(weights_only=True)``
accepts. Data augmentation does not draw from these streams: :func:`sample_seed` and
:func:`seeded_rng` give every training sample generators of its own (see ``engine/data.py``).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy, torch CPU and (when present) CUDA generator states."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`capture_rng_state` returned."""
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "numpy" in state:
        np_state = state["numpy"]
        keys = np.asarray(np_state["keys"].numpy(), dtype=np.uint32)
        np.random.set_state(
            (
                np_state["kind"],
                keys,
                np_state["pos"],
                np_state["has_gauss"],
                np_state["cached_gaussian"],
            )
        )
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Run a block without changing any generator's state as seen from outside it."""
    state = capture_rng_state()
    try:
        yield
    finally:
        restore_rng_state(state)


def sample_seed(seed: int, *key: int) -> np.ndarray:
    """Four 32-bit words that seed one sample's generators: the ``key`` child of ``seed``.

    ``key`` is e.g. ``(rank, position)``; NumPy's ``SeedSequence`` mixes it so that
    neighbouring positions get unrelated streams.
    """
    spawn_key = tuple(int(k) for k in key)
    return np.random.SeedSequence(int(seed) % 2**64, spawn_key=spawn_key).generate_state(4)


@contextlib.contextmanager
def seeded_rng(words: np.ndarray, restore: bool = True) -> Iterator[None]:
    """Run a block with Python's, NumPy's and torch's CPU generators seeded from ``words``.

    Args:
        words: Seed words from :func:`sample_seed`.
        restore: Put the previous states back afterwards, so the training process's own
            streams (dropout, hooks) do not depend on the data. A data-loading worker skips it:
            saving and restoring NumPy's state costs ~0.2 ms, and its streams serve only data.
    """
    saved = None
    if restore:
        saved = (random.getstate(), np.random.get_state(), torch.default_generator.get_state())
    random.seed(int.from_bytes(words.astype("<u4").tobytes(), "little"))
    np.random.seed(words)
    # The CPU generator alone: torch.manual_seed would also reseed CUDA's generators.
    torch.default_generator.manual_seed(int(words[0]) | int(words[1]) << 32)
    try:
        yield
    finally:
        if saved is not None:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.default_generator.set_state(saved[2])
