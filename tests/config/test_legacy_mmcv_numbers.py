"""MMSeg 0.x translation of what keeps 0.30's numbers and MMCV's hook order (issue 16)."""

from __future__ import annotations

from test_legacy_translate import noted, translate


def test_class_weighted_cross_entropy_divides_by_the_pixel_count_as_030():
    weighted = dict(type="CrossEntropyLoss", class_weight=[1.0, 2.0])
    model = dict(
        type="EncoderDecoder",
        decode_head=dict(type="FCNHead", loss_decode=weighted),
        auxiliary_head=dict(type="FCNHead", loss_decode=dict(weighted, use_sigmoid=True)),
    )
    out, notes = translate(model=model)
    assert out["model"]["decode_head"]["loss_decode"] == dict(weighted, avg_by_class_weight=False)
    assert out["model"]["auxiliary_head"]["loss_decode"] == dict(weighted, use_sigmoid=True)
    assert noted(notes, "model.decode_head.loss_decode (CrossEntropyLoss with class_weight)")


def test_0x_hooks_get_mmcv_priorities():
    out, _ = translate(custom_hooks=[dict(type="EMAHook"), dict(type="EmptyCacheHook", priority=5)])
    assert out["default_hook_priorities"] == dict(
        param_scheduler="VERY_HIGH", checkpoint="NORMAL", timer="LOW", logger="VERY_LOW"
    )
    # MMSeg 0.x registered a custom hook at NORMAL unless it said otherwise.
    assert out["custom_hooks"] == [
        dict(type="EMAHook", priority="NORMAL"),
        dict(type="EmptyCacheHook", priority=5),
    ]
