"""Building objects from config dicts and the errors that help fix a config (SPEC §2.2)."""

from __future__ import annotations

import pytest

from segwright.config import Config, ConfigDict
from segwright.registry import (
    Registry,
    build_from_cfg,
    build_if_dict,
    build_path,
    current_build_path,
    join_path,
)
from segwright.utils.errors import ConfigError, RegistryError

REG = Registry("part")


@REG.register_module(name="RegTestLoss")
class Loss:
    def __init__(self, loss_weight: float = 1.0, use_sigmoid: bool = False) -> None:
        self.loss_weight = loss_weight
        self.use_sigmoid = use_sigmoid


@REG.register_module(name="RegTestHead")
class Head:
    def __init__(self, num_classes: int, channels: int = 16, loss_decode=None) -> None:
        self.num_classes = num_classes
        self.channels = channels
        losses = (
            loss_decode
            if isinstance(loss_decode, list)
            else [loss_decode or {"type": "RegTestLoss"}]
        )
        self.losses = [REG.build(cfg, key=f"loss_decode[{i}]") for i, cfg in enumerate(losses)]


@REG.register_module(name="RegTestSegmentor")
class Segmentor:
    def __init__(self, decode_head, backbone=None) -> None:
        self.decode_head = build_if_dict(decode_head, REG, key="decode_head")
        self.backbone = backbone


@REG.register_module(name="RegTestKw")
class TakesKwargs:
    def __init__(self, a, **kwargs) -> None:
        self.a = a
        self.kwargs = kwargs


def test_build_by_name_and_defaults():
    loss = REG.build({"type": "RegTestLoss", "loss_weight": 0.4})
    assert isinstance(loss, Loss) and loss.loss_weight == 0.4 and loss.use_sigmoid is False


def test_build_from_config_dict_and_class_type():
    loss = REG.build(ConfigDict(type=Loss, use_sigmoid=True))
    assert isinstance(loss, Loss) and loss.use_sigmoid is True


@pytest.mark.parametrize("scope", ["mmseg", "mmengine", "mmcv", "mmdet", "mmpretrain"])
def test_build_scoped_names(scope):
    assert isinstance(REG.build({"type": f"{scope}.RegTestLoss"}), Loss)


def test_build_does_not_modify_the_config():
    cfg = {"type": "RegTestLoss", "loss_weight": 2.0}
    REG.build(cfg, default_args={"use_sigmoid": True})
    assert cfg == {"type": "RegTestLoss", "loss_weight": 2.0}


def test_default_args_use_setdefault_semantics():
    loss = REG.build(
        {"type": "RegTestLoss", "loss_weight": 2.0},
        default_args={"loss_weight": 9.0, "use_sigmoid": True},
    )
    assert loss.loss_weight == 2.0  # the config wins
    assert loss.use_sigmoid is True  # the default fills a gap


def test_type_from_default_args():
    loss = REG.build({"loss_weight": 3.0}, default_args={"type": "RegTestLoss"})
    assert isinstance(loss, Loss) and loss.loss_weight == 3.0


def test_default_args_must_be_a_mapping():
    with pytest.raises(TypeError, match="default_args"):
        REG.build({"type": "RegTestLoss"}, default_args=[("loss_weight", 1)])


def test_scope_key_is_dropped():
    loss = REG.build({"type": "RegTestLoss", "_scope_": "mmseg"})
    assert isinstance(loss, Loss)


def test_nested_builds():
    seg = REG.build(
        {
            "type": "RegTestSegmentor",
            "decode_head": {
                "type": "RegTestHead",
                "num_classes": 3,
                "loss_decode": [
                    {"type": "RegTestLoss"},
                    {"type": "RegTestLoss", "loss_weight": 0.5},
                ],
            },
        }
    )
    assert seg.decode_head.num_classes == 3
    assert [loss.loss_weight for loss in seg.decode_head.losses] == [1.0, 0.5]


def test_build_if_dict_passes_built_objects_through():
    head = Head(num_classes=2)
    assert build_if_dict(head, REG) is head
    assert build_if_dict(None, REG) is None
    built = build_if_dict({"type": "RegTestHead"}, REG, num_classes=4)
    assert built.num_classes == 4


def test_build_from_a_loaded_config(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text("model = dict(type='mmseg.RegTestHead', num_classes=5, channels=8)\n")
    head = REG.build(Config.fromfile(path).model)
    assert (head.num_classes, head.channels) == (5, 8)


# -- errors ----------------------------------------------------------------------------------


def test_unknown_type_names_registry_path_and_close_matches():
    cfg = {
        "type": "RegTestSegmentor",
        "decode_head": {
            "type": "RegTestHead",
            "num_classes": 3,
            "loss_decode": [{"type": "RegTestLoss"}, {"type": "RegTestLos", "loss_weight": 0.4}],
        },
    }
    with build_path("model"):
        with pytest.raises(RegistryError) as info:
            REG.build(cfg)
    message = str(info.value)
    assert "Unknown part type 'RegTestLos'" in message
    assert "model.decode_head.loss_decode[1]" in message
    assert "Did you mean 'RegTestLoss'" in message
    assert "custom_imports" in message
    assert current_build_path() == ""


def test_unknown_type_is_a_key_error_and_a_config_error():
    with pytest.raises(KeyError):
        REG.build({"type": "NoSuchThing"})
    with pytest.raises(ConfigError):
        REG.build({"type": "NoSuchThing"})


def test_unknown_scoped_type_suggests_the_bare_name():
    with pytest.raises(RegistryError, match="Did you mean 'RegTestHead'"):
        REG.build({"type": "mmseg.RegTestHaed"}, key="decode_head")


def test_bad_argument_names_class_argument_and_accepted_ones():
    with build_path("model"), pytest.raises(ConfigError) as info:
        REG.build({"type": "RegTestHead", "num_classes": 3, "channel": 8}, key="decode_head")
    message = str(info.value)
    assert message.startswith("Head at config key 'model.decode_head' got unexpected argument")
    assert "'channel'" in message
    assert "model.decode_head" in message
    assert "Did you mean 'channels'" in message
    assert "Accepted arguments: num_classes, channels, loss_decode" in message


def test_missing_required_argument():
    with pytest.raises(ConfigError) as info:
        REG.build({"type": "RegTestHead"}, key="decode_head")
    message = str(info.value)
    assert "missing required argument" in message and "'num_classes'" in message
    assert "decode_head" in message


def test_kwargs_accept_anything_but_required_still_checked():
    built = REG.build({"type": "RegTestKw", "a": 1, "anything": 2})
    assert built.kwargs == {"anything": 2}
    with pytest.raises(ConfigError, match="'a'"):
        REG.build({"type": "RegTestKw"})


def test_missing_type():
    with pytest.raises(ConfigError, match="has no 'type' key") as info:
        REG.build({"num_classes": 3}, key="decode_head")
    assert "decode_head" in str(info.value)


def test_type_of_the_wrong_kind():
    with pytest.raises(ConfigError, match="must be a name or a class"):
        REG.build({"type": 3})


def test_non_dict_config():
    with pytest.raises(ConfigError, match="Expected a dict"):
        REG.build(["RegTestLoss"], key="loss")


def test_build_path_joining():
    assert join_path("", "model") == "model"
    assert join_path("model", "") == "model"
    assert join_path("model", "decode_head") == "model.decode_head"
    assert join_path("model.decode_head", "[1]") == "model.decode_head[1]"
    with build_path("model") as outer:
        assert outer == "model"
        with build_path("loss_decode[0]") as inner:
            assert inner == "model.loss_decode[0]"
            assert current_build_path() == inner
        assert current_build_path() == "model"
    assert current_build_path() == ""


def test_custom_build_func():
    calls = []

    def build_list(cfg, registry, default_args):
        calls.append((cfg, registry.name, default_args))
        if isinstance(cfg, list):
            return [registry.build(c) for c in cfg]
        return build_from_cfg(cfg, registry, default_args)

    reg = Registry("custom", build_func=build_list)
    reg.register_module(name="One", module=lambda: 1)
    assert reg.build([{"type": "One"}, {"type": "One"}], default_args={"x": 1}) == [1, 1]
    assert calls[0] == ([{"type": "One"}, {"type": "One"}], "custom", {"x": 1})
    assert len(calls) == 3  # the list, then each element


def test_product_class_forwarding_kwargs_is_checked_against_its_bases():
    """A misspelt key given to a head that forwards ``**kwargs`` names the key, not a TypeError."""
    from segwright.registry import MODELS

    with build_path("model"), pytest.raises(ConfigError) as info:
        MODELS.build(
            dict(type="PSPHead", in_channels=8, channels=4, num_clases=3), key="decode_head"
        )
    message = str(info.value)
    assert "PSPHead at config key 'model.decode_head'" in message
    assert "'num_clases'" in message and "Did you mean 'num_classes'" in message
    assert "pool_scales" in message and "in_index" in message  # its own keys and its base's
    with pytest.raises(ConfigError, match="missing required argument.*'num_classes'"):
        MODELS.build(dict(type="PSPHead", in_channels=8, channels=4))


def test_a_differently_named_catch_all_is_left_to_the_class():
    """``**resize_kwargs`` is consumed by the class itself, so the registry does not refuse it."""
    from segwright.registry import TRANSFORMS

    built = TRANSFORMS.build(
        dict(type="RandomResize", scale=(8, 8), ratio_range=(1.0, 1.0), keep_ratio=True)
    )
    assert built.resize_kwargs == {"keep_ratio": True}
