"""Hook values in default_hooks/custom_hooks are checked when the config loads, with file:line."""

from __future__ import annotations

import pytest

from segwright.config import load_config
from segwright.config.hook_checks import check_hook_values
from segwright.utils.errors import ConfigError

#: (hook entry as written, the bad argument and value, a good value of the same argument)
CASES = [
    ("checkpoint=dict(type='CheckpointHook', {})", "interval", "0", "-1"),
    ("checkpoint=dict(type='CheckpointHook', {})", "interval", "2.5", "4"),
    ("logger=dict(type='LoggerHook', {})", "interval", "-1", "1"),
    ("logger=dict(type='LoggerHook', {})", "interval", "True", "50"),
    ("checkpoint=dict(type='CheckpointHook', {})", "max_keep_ckpts", "0", "-1"),
    ("checkpoint=dict(type='CheckpointHook', {})", "max_keep_ckpts", "'3'", "3"),
    ("checkpoint=dict(type='CheckpointHook', {})", "save_best", "1", "'auto'"),
    ("checkpoint=dict(type='CheckpointHook', {})", "save_best", "['mIoU', 2]", "['mIoU', 'aAcc']"),
    ("checkpoint=dict(type='CheckpointHook', {})", "rule", "'greter'", "'greater'"),
    (
        "checkpoint=dict(type='CheckpointHook', {})",
        "rule",
        "['less', 'max']",
        "['less', 'greater']",
    ),
    ("timer=dict(type='IterTimerHook', {})", "priority", "'VERY_HIHG'", "'very_high'"),
    ("timer=dict(type='IterTimerHook', {})", "priority", "101", "100"),
]


def write(tmp_path, entry: str, custom: bool) -> str:
    lines = ["_unused = 0\n"]
    if custom:
        hook = entry.split("=", 1)[1]
        lines += ["custom_hooks = [\n", "    dict(type='EMAHook'),\n", f"    {hook},\n", "]\n"]
    else:
        lines += ["default_hooks = dict(\n", f"    {entry},\n", ")\n"]
    path = tmp_path / "hooks.py"
    path.write_text("".join(lines))
    return str(path)


@pytest.mark.parametrize("custom", [False, True], ids=["default_hooks", "custom_hooks"])
@pytest.mark.parametrize(("entry", "name", "bad", "good"), CASES)
def test_a_bad_hook_value_fails_at_load_with_its_key_file_and_line(
    tmp_path, monkeypatch, entry, name, bad, good, custom
):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(write(tmp_path, entry.format(f"{name}={good}"), custom))
    assert cfg.load_report is not None  # the good value loads
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, entry.format(f"{name}={bad}"), custom))
    message = str(info.value)
    hook_name = entry.split("=", 1)[0]
    key = f"custom_hooks[1].{name}" if custom else f"default_hooks.{hook_name}.{name}"
    assert message.startswith(f"{key} (")
    assert f"got {bad}" in message
    assert f"(set at hooks.py:{4 if custom else 3})" in message


def test_a_bad_value_from_cfg_options_names_the_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "checkpoint=dict(type='CheckpointHook', interval=1)", custom=False)
    with pytest.raises(
        ConfigError, match=r"\(set at --cfg-options default_hooks.checkpoint.interval=0\)"
    ):
        load_config(path, ["default_hooks.checkpoint.interval=0"])


def test_a_0x_checkpoint_config_names_the_0x_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.py").write_text(
        "model = dict(type='ToySegModel')\n"
        "runner = dict(type='IterBasedRunner', max_iters=4)\n"
        "checkpoint_config = dict(by_epoch=False, interval=0)\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config("old.py")
    assert "default_hooks.checkpoint.interval" in str(info.value)
    assert "(set at old.py:3 (0.x checkpoint_config.interval))" in str(info.value)


def test_dicts_without_a_file_are_checked_without_a_place():
    with pytest.raises(ConfigError, match=r"must be 'greater', 'less'.*got 'max'\. Fix"):
        check_hook_values(dict(custom_hooks=[dict(type="MyHook", rule="max")]))
    check_hook_values(dict(default_hooks=dict(logger=None), custom_hooks=[dict(type="MyHook")]))
