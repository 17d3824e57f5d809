"""A misspelt top-level run key is reported; a config's own helper variables are not."""

from __future__ import annotations

from segwright.config import Config
from segwright.config.load import load_config
from segwright.testing import toy_config


def _warnings(cfg: Config) -> list[str]:
    return [text for level, text in cfg.load_report.messages() if level == "warning"]


def test_a_near_miss_of_a_run_key_is_warned(tmp_path):
    values = toy_config(tmp_path)
    values["val_evaluater"] = values.pop("val_evaluator")
    found = _warnings(load_config(Config(values)))
    assert any("'val_evaluater'" in w and "did you mean 'val_evaluator'" in w for w in found)


def test_helper_variables_and_present_keys_are_left_alone(tmp_path):
    values = toy_config(tmp_path)
    values.update(
        crop_size=(16, 16), train_pipeline=[], test_pipeline=[], val_pipeline=[],
        data_root="data/", dataset_type="ToySegDataset", norm_cfg=dict(type="BN"),
        img_norm_cfg=dict(mean=[0.0] * 3), evaluation=None,
    )  # fmt: skip
    assert not [w for w in _warnings(load_config(Config(values))) if "read by nothing" in w]
