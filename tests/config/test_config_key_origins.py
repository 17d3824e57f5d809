"""Build errors name the file and line that set the offending key (``Config.origin_of`` +
``segwright.utils.key_origins``), for 1.x files, ``--cfg-options`` and translated 0.x keys."""

from __future__ import annotations

import textwrap

import pytest

from segwright.config import Config, load_config
from segwright.config.provenance import parse_key
from segwright.registry import DATASETS, MODELS
from segwright.utils.errors import ConfigError
from segwright.utils.key_origins import key_origins

TYPO = """\
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='ResNetV1c', depth=18),
    decode_head=dict(
        type='FCNHead',
        in_channels=512,
        channels=16,
        num_clases=2,
    ),
)
"""

OLD = """\
model = dict(type='ToySegModel', channels=4, num_classes=2)
data = dict(
    samples_per_gpu=2,
    workers_per_gpu=0,
    train=dict(type='ToySegDataset', num_sample=8, size=(16, 16)),
)
optimizer = dict(type='SGD', lr=0.01)
runner = dict(type='IterBasedRunner', max_iters=3)
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # sources are shown relative to the working directory


def write(name: str, text: str) -> str:
    with open(name, "w", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(text))
    return name


def test_parse_key_reads_brackets_and_dotted_indices():
    assert parse_key("model.loss_decode[1].loss_weight") == (
        "model",
        "loss_decode",
        1,
        "loss_weight",
    )
    assert parse_key("a.pipeline.2") == ("a", "pipeline", 2)
    assert parse_key("custom_hooks[0]") == ("custom_hooks", 0)


def test_origin_of_names_the_line_of_the_key_and_falls_back_to_its_parent():
    cfg = load_config(write("typo.py", TYPO))
    assert cfg.origin_of("model.decode_head.num_clases") == "typo.py:8"
    assert cfg.origin_of("model.decode_head") == "typo.py:4"
    assert cfg.origin_of("model.decode_head.type") == "typo.py:5"
    assert cfg.origin_of("model.decode_head.not_written") == "typo.py:4"
    assert cfg.origin_of("nothing.here") is None
    assert Config(dict(model=dict(type="X"))).origin_of("model.type") is None  # set in code


def test_a_misspelt_argument_names_key_file_and_line_inside_key_origins():
    cfg = load_config(write("typo.py", TYPO))
    with key_origins(cfg.origin_of), pytest.raises(ConfigError) as info:
        MODELS.build(cfg.model, key="model")
    message = str(info.value)
    assert (
        "FCNHead at config key 'model.decode_head' (set at typo.py:8) got unexpected "
        "argument(s) 'num_clases'." in message
    )
    assert "did you mean 'num_classes'" in message.lower()


def test_without_key_origins_the_message_has_no_place():
    cfg = load_config(write("typo.py", TYPO))
    with pytest.raises(ConfigError) as info:
        MODELS.build(cfg.model, key="model")
    assert "set at" not in str(info.value)


def test_unknown_type_and_a_cfg_options_value_name_where_they_were_set():
    cfg = load_config(write("typo.py", TYPO), ["model.decode_head.type=FCNHaed"])
    with key_origins(cfg.origin_of), pytest.raises(ConfigError) as info:
        MODELS.build(cfg.model, key="model")
    assert "'FCNHaed' at config key 'model.decode_head' (set at --cfg-options " in str(info.value)
    assert "model.decode_head.type=FCNHaed)" in str(info.value)


def test_a_missing_argument_names_the_dict_that_lacks_it():
    text = TYPO.replace("        num_clases=2,\n", "")
    cfg = load_config(write("missing.py", text))
    with key_origins(cfg.origin_of), pytest.raises(ConfigError) as info:
        MODELS.build(cfg.model, key="model")
    assert "(set at missing.py:4) is missing required argument(s) 'num_classes'" in str(info.value)


def test_a_bad_value_raised_by_the_class_names_where_its_dict_was_set():
    text = TYPO.replace("num_clases=2", "num_classes=2, dropout_ratio=7.0")
    cfg = load_config(write("bad_value.py", text))
    with key_origins(cfg.origin_of), pytest.raises(ConfigError) as info:
        MODELS.build(cfg.model, key="model")
    assert "model.decode_head" in str(info.value)
    assert "(set at bad_value.py:4)" in str(info.value)


def test_a_translated_0x_key_names_the_users_0x_file_and_line():
    cfg = load_config(write("old.py", OLD))
    assert cfg.load_report.legacy
    origin = cfg.origin_of("train_dataloader.dataset.num_sample")
    assert origin == "old.py:5 (0.x data.train.num_sample)"
    with key_origins(cfg.origin_of), pytest.raises(ConfigError) as info:
        DATASETS.build(cfg.train_dataloader.dataset, key="train_dataloader.dataset")
    assert "(set at old.py:5 (0.x data.train.num_sample)) got unexpected" in str(info.value)
