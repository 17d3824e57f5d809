"""What the MMSeg parity tests (``test_zoo_*_parity.py``) share: one thread, one error measure."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine more threads only contend (speed only;
    the tolerances do not depend on it). Import it into a test module to use it there."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def relative_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """Largest absolute difference over the largest magnitude of the reference."""
    return float((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-12))
