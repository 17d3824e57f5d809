"""Multi-scale deformable attention (grid_sample) against the loop reference written from its
definition: float64 forward and backward within 1e-5 relative, samples on and off the maps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from segwright.ops import multi_scale_deformable_attn
from segwright.ops._reference_ms_deform_attn import multi_scale_deformable_attn_reference

# Both sides add the same few products in float64 (grid_sample in another order): they agree
# to ~1e-15; 1e-5 relative is the bound the issue sets.
RTOL = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _inputs() -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[4, 5], [2, 3], [1, 1]])
    keys = int((shapes[:, 0] * shapes[:, 1]).sum())
    value = torch.randn(2, keys, 2, 3, generator=gen, dtype=torch.float64)
    # a margin beyond [0, 1], so that some taps (and whole samples) fall off the map
    locations = torch.rand(2, 3, 2, 3, 4, 2, generator=gen, dtype=torch.float64) * 1.4 - 0.2
    weights = torch.rand(2, 3, 2, 3, 4, generator=gen, dtype=torch.float64)
    return value, shapes, locations, weights


def _relative(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-300))


def test_forward_and_backward_match_the_definition() -> None:
    value, shapes, locations, weights = _inputs()
    grads = []
    outs = []
    for fn in (multi_scale_deformable_attn, multi_scale_deformable_attn_reference):
        leaves = [t.clone().requires_grad_(True) for t in (value, locations, weights)]
        out = fn(leaves[0], shapes, leaves[1], leaves[2])
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([t.grad for t in leaves])
    assert outs[0].shape == (2, 3, 6)
    assert _relative(outs[0], outs[1]) <= RTOL
    for ours, ref in zip(*grads):
        assert _relative(ours, ref) <= RTOL


def test_a_sample_at_a_pixel_centre_reads_that_pixel() -> None:
    value = torch.arange(12, dtype=torch.float64).view(1, 12, 1, 1)  # one 3x4 level
    shapes = torch.tensor([[3, 4]])
    loc = torch.tensor([(2 + 0.5) / 4, (1 + 0.5) / 3], dtype=torch.float64)  # x=2, y=1
    out = multi_scale_deformable_attn(
        value, shapes, loc.view(1, 1, 1, 1, 1, 2), torch.ones(1, 1, 1, 1, 1, dtype=torch.float64)
    )
    assert float(out) == 1 * 4 + 2


def test_shapes_that_do_not_add_up_are_refused() -> None:
    value, shapes, locations, weights = _inputs()
    with pytest.raises(ValueError, match="add up"):
        multi_scale_deformable_attn(value[:, 1:], shapes, locations, weights)
