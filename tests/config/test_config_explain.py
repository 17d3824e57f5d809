"""``Config.explain()``: which file:line or ``--cfg-options`` entry set each leaf last."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from segwright.config import Config
from segwright.config.loader import display_path

TREE = Path(__file__).parent / "fixtures" / "mmseg_tree" / "configs"
MAIN = TREE / "pspnet" / "pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def origins(cfg: Config) -> dict[str, tuple[object, str]]:
    return {o.key: (o.value, o.source) for o in cfg.explain()}


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_every_leaf_is_explained_once():
    cfg = Config.fromfile(MAIN)
    keys = [o.key for o in cfg.explain()]
    assert len(keys) == len(set(keys))
    assert "model.backbone.depth" in keys
    assert "train_pipeline.3.crop_size.0" in keys
    assert "model.train_cfg" in keys  # an empty dict is a leaf


def test_base_chain_lines():
    cfg = Config.fromfile(MAIN)
    table = origins(cfg)
    model_base = TREE / "_base_" / "models" / "pspnet_r50-d8.py"
    schedule = TREE / "_base_" / "schedules" / "schedule_40k.py"
    assert table["model.backbone.depth"] == (
        50,
        f"{display_path(model_base)}:{line_of(model_base, 'depth=50')}",
    )
    assert table["optim_wrapper.optimizer.momentum"][1].startswith(display_path(schedule))
    # size was added by the child, the rest of data_preprocessor comes from the model base
    assert table["model.data_preprocessor.size.0"] == (
        512,
        f"{display_path(MAIN)}:{line_of(MAIN, 'model = dict(data_preprocessor')}",
    )
    assert table["model.data_preprocessor.type"][1].startswith(display_path(model_base))


def test_values_are_the_final_ones():
    cfg = Config.fromfile(MAIN)
    for origin in cfg.explain():
        node = cfg.to_dict()
        for part in origin.key.split("."):
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        assert node == origin.value or origin.value != origin.value


def test_child_and_delete_lines():
    child = TREE / "pspnet" / "pspnet_r50-d8_adamw-40k_cityscapes-512x1024.py"
    table = origins(Config.fromfile(child))
    assert table["optim_wrapper.optimizer.type"] == (
        "AdamW",
        f"{display_path(child)}:{line_of(child, 'type=' + repr('AdamW'))}",
    )
    assert table["optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult"] == (
        10.0,
        f"{display_path(child)}:{line_of(child, 'custom_keys')}",
    )
    assert "optim_wrapper.optimizer.momentum" not in table
    assert "optim_wrapper._delete_" not in table


def test_after_overrides():
    cfg = Config.fromfile(MAIN, cfg_options={"model.decode_head.num_classes": 150})
    cfg.merge_from_options(
        ["model.decode_head.loss_decode.loss_weight=0.5", "train_pipeline.3.crop_size=(256,256)"]
    )
    table = origins(cfg)
    assert table["model.decode_head.num_classes"] == (
        150,
        "--cfg-options model.decode_head.num_classes=150",
    )
    assert table["model.decode_head.loss_decode.loss_weight"] == (
        0.5,
        "--cfg-options model.decode_head.loss_decode.loss_weight=0.5",
    )
    assert table["train_pipeline.3.crop_size.1"] == (
        256,
        "--cfg-options train_pipeline.3.crop_size=(256,256)",
    )
    # untouched siblings keep their file
    assert table["train_pipeline.3.cat_max_ratio"][1].startswith(
        display_path(TREE / "_base_" / "datasets" / "cityscapes.py")
    )
    assert table["model.decode_head.channels"][1].startswith(
        display_path(TREE / "_base_" / "models" / "pspnet_r50-d8.py")
    )


def test_later_override_wins(tmp_path):
    path = write(tmp_path, "a.py", "a = dict(b=1)\n")
    cfg = Config.fromfile(path)
    cfg.merge_from_options(["a.b=2"])
    cfg.merge_from_dict({"a.b": 3})
    assert origins(cfg)["a.b"] == (3, "--cfg-options a.b=3")


def test_yaml_and_json_lines(tmp_path):
    write(tmp_path, "base.yaml", "model:\n  depth: 50\n  head:\n    nc: 19\n")
    child = tmp_path / "child.json"
    child.write_text('{\n  "_base_": "base.yaml",\n  "model": {\n    "depth": 101\n  }\n}\n')
    table = origins(Config.fromfile(child))
    assert table["model.depth"] == (101, f"{display_path(child)}:4")
    assert table["model.head.nc"] == (19, f"{display_path(tmp_path / 'base.yaml')}:4")


def test_in_place_edit_through_base_is_credited_to_the_editing_file(tmp_path):
    base = write(tmp_path, "base.py", "model = dict(head=dict(nc=19, ch=512))\nlst = [dict(x=1)]\n")
    child = write(
        tmp_path,
        "child.py",
        """
        _base_ = 'base.py'
        _base_.model.head.nc = 150
        _base_.lst[0].x = 2
        """,
    )
    table = origins(Config.fromfile(child))
    assert table["model.head.nc"] == (150, f"{display_path(child)}:2")
    assert table["lst.0.x"] == (2, f"{display_path(child)}:3")
    assert table["model.head.ch"] == (512, f"{display_path(base)}:1")


def test_config_built_in_code():
    cfg = Config({"a": {"b": 1}})
    cfg.merge_from_dict({"c": 2})
    assert origins(cfg) == {"a.b": (1, "(set in code)"), "c": (2, "--cfg-options c=2")}


@pytest.mark.parametrize("value", [[], {}, None])
def test_empty_containers_and_none_are_leaves(tmp_path, value):
    path = write(tmp_path, "a.py", f"x = {value!r}\n")
    assert origins(Config.fromfile(path)) == {"x": (value, f"{display_path(path)}:1")}
