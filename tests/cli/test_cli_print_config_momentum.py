"""``print-config --explain`` names the user's 0.x file:line for the schedulers that
``lr_config`` and ``momentum_config`` became, each from its own 0.x key."""

from __future__ import annotations

from segwright.cli.main import main

OLD = """\
model = dict(type='ToySegModel', channels=4, num_classes=2)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9)
optimizer_config = dict()
lr_config = dict(
    policy='cyclic',
    target_ratio=(10, 1e-4),
    cyclic_times=1,
    step_ratio_up=0.4)
momentum_config = dict(
    policy='cyclic',
    target_ratio=(0.85 / 0.95, 1),
    cyclic_times=1,
    step_ratio_up=0.4)
runner = dict(type='IterBasedRunner', max_iters=100)
"""


def explained(capsys, tmp_path, monkeypatch, text: str) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.py").write_text(text)
    assert main(["print-config", "old.py", "--explain"]) == 0
    out = {}
    for line in capsys.readouterr().out.splitlines():
        if " = " in line and "  # " in line:
            key = line.split(" = ", 1)[0]
            out[key] = line.rsplit("  # ", 1)[1].strip()
    return out


def test_momentum_config_entries_name_momentum_config_lines(capsys, tmp_path, monkeypatch):
    table = explained(capsys, tmp_path, monkeypatch, OLD)
    assert table["param_scheduler.0.type"] == "old.py:4 (translated from 0.x lr_config)"
    assert table["param_scheduler.0.cyclic_times"] == "old.py:7 (0.x lr_config.cyclic_times)"
    assert table["param_scheduler.1.type"] == "old.py:9 (translated from 0.x momentum_config)"
    assert table["param_scheduler.1.by_epoch"] == "old.py:9 (translated from 0.x momentum_config)"
    # the same argument values as lr_config's: still traced to momentum_config's own lines
    assert table["param_scheduler.1.cyclic_times"] == "old.py:12 (0.x momentum_config.cyclic_times)"
    assert table["param_scheduler.1.step_ratio_up"] == (
        "old.py:13 (0.x momentum_config.step_ratio_up)"
    )
    assert table["param_scheduler.1.target_ratio.1"] == (
        "old.py:11 (0.x momentum_config.target_ratio.1)"
    )


def test_momentum_config_alone_is_named_too(capsys, tmp_path, monkeypatch):
    text = OLD.replace("lr_config = dict(\n    policy='cyclic',", "lr_config = None\n_x = dict(")
    table = explained(capsys, tmp_path, monkeypatch, text)
    assert "param_scheduler.1.type" not in table
    assert table["param_scheduler.0.type"] == "old.py:9 (translated from 0.x momentum_config)"
    assert table["param_scheduler.0.cyclic_times"] == "old.py:12 (0.x momentum_config.cyclic_times)"
