"""The ``Config`` object: access, copies, ``merge_from_dict`` and ``merge_from_options`` (SPEC §1.1, §1.7)."""

from __future__ import annotations

import copy
import pickle
import textwrap
from pathlib import Path

import pytest

from segwright.config import Config, ConfigDict
from segwright.utils.errors import ConfigError

BASE = """
model = dict(
    type='EncoderDecoder',
    backbone=dict(type='ResNetV1c', depth=50, strides=(1, 2, 1, 1)),
    decode_head=dict(
        type='PSPHead',
        num_classes=19,
        loss_decode=[
            dict(type='CrossEntropyLoss', loss_weight=1.0),
            dict(type='DiceLoss', loss_weight=3.0),
        ]),
    neck=None)
train_pipeline = [dict(type='Load'), dict(type='RandomCrop', crop_size=(512, 512))]
ids = [1, 2]
grid = [(1, 2), (3, 4)]
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return Config.fromfile(write(tmp_path, "cfg.py", BASE))


# -- access ----------------------------------------------------------------------------------


def test_attribute_and_item_access(cfg):
    assert cfg.model.decode_head.num_classes == 19
    assert cfg["model"]["decode_head"]["num_classes"] == 19
    assert cfg.model["backbone"].depth == 50
    assert isinstance(cfg.model, ConfigDict)
    assert isinstance(cfg.model.decode_head.loss_decode[1], ConfigDict)


def test_missing_attribute_and_item(cfg):
    with pytest.raises(AttributeError, match="Did you mean 'model'"):
        _ = cfg.modle
    with pytest.raises(AttributeError, match="decode_head"):
        _ = cfg.model.decode_haed
    with pytest.raises(KeyError):
        _ = cfg["nope"]
    assert not hasattr(cfg, "nope")
    assert cfg.get("nope") is None
    assert cfg.get("nope", 3) == 3
    assert cfg.get("ids") == [1, 2]
    assert cfg.model.get("neck", "x") is None


def test_iteration_membership_and_length(cfg):
    assert list(cfg) == ["model", "train_pipeline", "ids", "grid"]
    assert list(cfg.keys()) == list(cfg)
    assert dict(cfg.items())["ids"] == [1, 2]
    assert len(cfg) == 4
    assert "model" in cfg and "nope" not in cfg


def test_setting_values_wraps_dicts(cfg):
    cfg.new = {"a": {"b": 1}}
    cfg["other"] = [{"c": 2}]
    cfg.model.neck = dict(type="FPN")
    assert cfg.new.a.b == 1
    assert cfg.other[0].c == 2
    assert cfg.model.neck.type == "FPN"
    del cfg.new
    del cfg["other"]
    assert "new" not in cfg and "other" not in cfg


def test_to_dict_is_plain_and_independent(cfg):
    plain = cfg.to_dict()
    assert type(plain) is dict
    assert type(plain["model"]["decode_head"]["loss_decode"][0]) is dict
    assert plain["model"]["backbone"]["strides"] == (1, 2, 1, 1)
    plain["model"]["decode_head"]["num_classes"] = 3
    assert cfg.model.decode_head.num_classes == 19


def test_deepcopy_is_independent(cfg):
    clone = copy.deepcopy(cfg)
    clone.model.decode_head.loss_decode[0].loss_weight = 5.0
    clone.ids.append(3)
    clone.merge_from_dict({"model.backbone.depth": 101})
    assert cfg.model.decode_head.loss_decode[0].loss_weight == 1.0
    assert cfg.ids == [1, 2]
    assert cfg.model.backbone.depth == 50
    assert clone.filename == cfg.filename
    assert cfg.copy() == cfg and cfg.copy() is not cfg


def test_pickle_round_trip(cfg):
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg
    assert again.filename == cfg.filename
    assert again.model.backbone.depth == 50


def test_filename_and_text(cfg, tmp_path):
    assert cfg.filename == str((tmp_path / "cfg.py").resolve())
    assert "type='ResNetV1c'" in cfg.text
    assert str(tmp_path / "cfg.py") in cfg.text


def test_config_from_a_dict_and_from_string():
    cfg = Config({"a": {"b": 1}})
    assert cfg.a.b == 1 and cfg.filename is None
    assert cfg == {"a": {"b": 1}}
    text_cfg = Config.fromstring("a = dict(b=1)\n")
    assert text_cfg == cfg and text_cfg.filename is None
    assert Config.fromstring("a:\n  b: 1\n", ".yaml") == cfg


def test_fromstring_resolves_bases_against_the_cwd(tmp_path, monkeypatch):
    write(tmp_path, "base.py", "a = 1\nb = 2\n")
    monkeypatch.chdir(tmp_path)
    assert Config.fromstring("_base_ = 'base.py'\nb = 3\n").to_dict() == {"a": 1, "b": 3}


# -- merge_from_dict -------------------------------------------------------------------------


def test_merge_from_dict_dotted_keys(cfg):
    cfg.merge_from_dict({"model.backbone.depth": 101, "model.decode_head.new_key": "x"})
    assert cfg.model.backbone.depth == 101
    assert cfg.model.backbone.type == "ResNetV1c"
    assert cfg.model.decode_head.new_key == "x"


def test_merge_from_dict_nested_dict_value(cfg):
    cfg.merge_from_dict({"model": {"backbone": {"depth": 18}}, "new": {"a": 1}})
    assert cfg.model.backbone == {"type": "ResNetV1c", "depth": 18, "strides": (1, 2, 1, 1)}
    assert cfg.new == {"a": 1}


def test_merge_from_dict_list_index(cfg):
    cfg.merge_from_dict({"model.decode_head.loss_decode.1.loss_weight": 0.5})
    assert cfg.model.decode_head.loss_decode[1] == {"type": "DiceLoss", "loss_weight": 0.5}
    assert cfg.model.decode_head.loss_decode[0].loss_weight == 1.0


def test_merge_from_dict_sets_list_and_tuple_elements(cfg):
    # MMEngine crashes on a scalar list element (SPEC §1.7); segwright sets it.
    cfg.merge_from_dict({"ids.0": 5, "model.backbone.strides.1": 1, "grid.1.0": 9})
    assert cfg.ids == [5, 2]
    assert cfg.model.backbone.strides == (1, 1, 1, 1)
    assert cfg.grid == [(1, 2), (9, 4)]


def test_merge_from_dict_delete_in_a_list_element(cfg):
    cfg.merge_from_dict({"train_pipeline.1": {"_delete_": True, "type": "Resize", "scale": (1, 1)}})
    assert cfg.train_pipeline[1] == {"type": "Resize", "scale": (1, 1)}


def test_merge_from_dict_replaces_a_list_wholesale(cfg):
    cfg.merge_from_dict({"model.decode_head.loss_decode": [{"type": "FocalLoss"}]})
    assert cfg.model.decode_head.loss_decode == [{"type": "FocalLoss"}]


def test_merge_from_dict_without_list_keys_keeps_lists(cfg):
    with pytest.raises(ConfigError, match="ids"):
        cfg.merge_from_dict({"ids": {"0": 5}}, allow_list_keys=False)


def test_merge_from_dict_index_out_of_range(cfg):
    with pytest.raises(ConfigError) as info:
        cfg.merge_from_dict({"model.decode_head.loss_decode.2.loss_weight": 1.0})
    message = str(info.value)
    assert "model.decode_head.loss_decode" in message and "2" in message and "0..1" in message


def test_merge_from_dict_non_index_on_a_list(cfg):
    with pytest.raises(ConfigError, match="'first' is not an index"):
        cfg.merge_from_dict({"train_pipeline.first.type": "X"})


def test_merge_from_dict_missing_intermediate_key(cfg):
    with pytest.raises(ConfigError) as info:
        cfg.merge_from_dict({"model.decod_head.num_classes": 3})
    message = str(info.value)
    assert "'decod_head' does not exist at model" in message
    assert "Did you mean 'decode_head'" in message
    assert "model.decod_head={" in message  # how to add a new section instead


def test_merge_from_dict_missing_top_level_section(cfg):
    with pytest.raises(ConfigError, match="'optim_wrapper' does not exist at the top level"):
        cfg.merge_from_dict({"optim_wrapper.optimizer.lr": 0.1})


def test_merge_from_dict_key_below_a_scalar(cfg):
    with pytest.raises(ConfigError, match=r"'model.backbone.depth' is 50 \(int\)"):
        cfg.merge_from_dict({"model.backbone.depth.x": 1})
    with pytest.raises(ConfigError, match="NoneType"):
        cfg.merge_from_dict({"model.neck.type": "FPN"})


def test_merge_from_dict_dict_over_none_needs_delete(cfg):
    with pytest.raises(ConfigError, match="model.neck.*_delete_=True"):
        cfg.merge_from_dict({"model.neck": {"type": "FPN"}})
    cfg.merge_from_dict({"model.neck": {"_delete_": True, "type": "FPN"}})
    assert cfg.model.neck == {"type": "FPN"}


def test_merge_from_dict_leaves_config_unchanged_on_error(cfg):
    before = cfg.to_dict()
    with pytest.raises(ConfigError):
        cfg.merge_from_dict({"model.backbone.depth": 101, "model.nope.x": 1})
    assert cfg.to_dict() == before


# -- merge_from_options ----------------------------------------------------------------------


def test_merge_from_options(cfg):
    cfg.merge_from_options(
        [
            "model.decode_head.num_classes=150",
            "model.decode_head.loss_decode.1.loss_weight=0.4",
            "train_pipeline.1.crop_size=(256,256)",
            "model.neck={'_delete_': True, 'type': 'FPN', 'in_channels': [256, 512]}",
            "model.decode_head.sampler={'type': 'OHEMPixelSampler', 'thresh': 0.7}",
            "ids=[]",
            "work_dir=work_dirs/my run",
            "flag=false",
            "nothing=None",
            "word=none",
            "max_iters=1e3",
        ]
    )
    assert cfg.model.decode_head.num_classes == 150
    assert cfg.model.decode_head.loss_decode[1].loss_weight == 0.4
    assert cfg.train_pipeline[1].crop_size == (256, 256)
    assert cfg.model.neck == {"type": "FPN", "in_channels": [256, 512]}
    assert cfg.model.decode_head.sampler == {"type": "OHEMPixelSampler", "thresh": 0.7}
    assert cfg.ids == []
    assert cfg.work_dir == "work_dirs/my run"
    assert cfg.flag is False
    assert cfg.nothing is None
    assert cfg.word == "none"
    assert cfg.max_iters == 1000.0 and isinstance(cfg.max_iters, float)


def test_merge_from_options_later_duplicate_wins(cfg):
    cfg.merge_from_options(["model.backbone.depth=101", "model.backbone.depth=18"])
    assert cfg.model.backbone.depth == 18


def test_merge_from_options_errors(cfg):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        cfg.merge_from_options(["model.backbone.depth"])
    with pytest.raises(ConfigError, match="'backbon' does not exist.*Did you mean 'backbone'"):
        cfg.merge_from_options(["model.backbon.depth=101"])


def test_fromfile_applies_options_then_custom_imports(tmp_path):
    path = write(tmp_path, "a.py", "a = dict(b=1)\n")
    cfg = Config.fromfile(path, cfg_options={"a.b": 2, "a.c": [1]})
    assert cfg.a == {"b": 2, "c": [1]}


# -- ConfigDict ------------------------------------------------------------------------------


def test_config_dict_wraps_nested_values_on_every_write():
    d = ConfigDict(a={"b": 1}, l=[{"c": 2}, ({"d": 3},)])
    assert isinstance(d.a, ConfigDict) and isinstance(d.l[0], ConfigDict)
    assert isinstance(d.l[1][0], ConfigDict)
    d.update(e={"f": 4})
    d.setdefault("g", {"h": 5})
    assert isinstance(d.e, ConfigDict) and isinstance(d.g, ConfigDict)
    assert d.setdefault("g", None) == {"h": 5}


def test_config_dict_copies():
    d = ConfigDict(a={"b": [1]})
    shallow = copy.copy(d)
    deep = copy.deepcopy(d)
    assert isinstance(shallow, ConfigDict) and isinstance(deep.a, ConfigDict)
    deep.a.b.append(2)
    assert d.a.b == [1]
    shallow.a.b.append(3)
    assert d.a.b == [1, 3]  # a shallow copy shares nested values
    assert pickle.loads(pickle.dumps(d)) == d


def test_config_dict_attribute_delete():
    d = ConfigDict(a=1)
    del d.a
    with pytest.raises(AttributeError):
        del d.a
