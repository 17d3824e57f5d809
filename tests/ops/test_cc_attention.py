"""Criss-cross attention (CCNet) against its loop reference, forward and backward.

The reference (``segwright.ops._reference_cc_attention``) gathers each pixel's row and column
one pixel at a time, from the definition; in float64 the two agree to rounding, so the bound
is 1e-5 relative (measured: ~1e-16).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from segwright.models.layers.criss_cross import CrissCrossAttention
from segwright.ops._reference_cc_attention import criss_cross_attention_reference
from segwright.ops.cc_attention import criss_cross_attention
from segwright.utils.errors import ConfigError

SHAPES = [  # (N, C, C_v, H, W): square, wide, tall, a single row, a single column
    (2, 3, 4, 5, 5),
    (1, 2, 3, 3, 7),
    (2, 4, 2, 6, 2),
    (1, 2, 2, 1, 5),
    (1, 2, 2, 4, 1),
]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine more threads only contend (speed only;
    the tolerances do not depend on it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _relative(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours - ref).abs().max().detach() / ref.abs().max().detach().clamp_min(1e-300))


def _inputs(n: int, c: int, cv: int, h: int, w: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(n * 1000 + h * 10 + w)
    shapes = [(n, c, h, w), (n, c, h, w), (n, cv, h, w)]
    return [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_forward_and_backward_match_the_loop_reference(shape):
    inputs = _inputs(*shape)
    ours = criss_cross_attention(*inputs)
    ref = criss_cross_attention_reference(*inputs)
    assert ours.shape == ref.shape == (shape[0], shape[2], *shape[3:])
    assert _relative(ours, ref) <= 1e-5
    upstream = torch.randn(ours.shape, generator=torch.Generator().manual_seed(7), dtype=ours.dtype)
    grads = torch.autograd.grad(ours, inputs, upstream)
    ref_grads = torch.autograd.grad(ref, inputs, upstream)
    for name, g, r in zip(("query", "key", "value"), grads, ref_grads):
        assert _relative(g, r) <= 1e-5, name


def test_a_pixel_is_counted_once_and_weights_sum_to_one():
    # constant values: any convex combination returns them, an extra or missing weight does not
    query, key, _ = _inputs(1, 2, 1, 4, 3)
    value = torch.full((1, 3, 4, 3), 2.5, dtype=torch.float64)
    out = criss_cross_attention(query.detach(), key.detach(), value)
    torch.testing.assert_close(out, value)
    # zero energies: uniform over H - 1 + W positions; a one-hot value at the pixel itself
    zeros = torch.zeros(1, 1, 4, 3, dtype=torch.float64)
    one_hot = torch.zeros(1, 1, 4, 3, dtype=torch.float64)
    one_hot[0, 0, 1, 1] = 1.0
    out = criss_cross_attention(zeros, zeros, one_hot)
    assert float(out[0, 0, 1, 1]) == pytest.approx(1 / (4 - 1 + 3))


def test_module_keys_identity_start_and_channel_check():
    module = CrissCrossAttention(16)
    assert sorted(module.state_dict()) == [
        "gamma.scale", "key_conv.bias", "key_conv.weight", "query_conv.bias",
        "query_conv.weight", "value_conv.bias", "value_conv.weight",
    ]  # fmt: skip
    assert module.query_conv.out_channels == 2
    x = torch.randn(2, 16, 5, 4)
    torch.testing.assert_close(module(x), x)  # gamma starts at 0
    with pytest.raises(ConfigError, match="at least 8"):
        CrissCrossAttention(4)


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError, match="same"):
        criss_cross_attention(
            torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4), torch.zeros(1, 2, 3, 3)
        )
    with pytest.raises(ValueError, match="value"):
        criss_cross_attention(
            torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 3, 4)
        )
