"""The seeds' MyHook: a user module named in custom_imports registers a hook a config then uses."""

from __future__ import annotations

import json

from segwright.cli.main import main
from segwright.testing import TOY_CONFIG_PATH

MY_HOOK = """
from segwright.engine.hooks import Hook
from segwright.registry import HOOKS


@HOOKS.register_module(force=True)
class MyHook(Hook):
    def __init__(self, a, b):
        self.a, self.b = a, b
        self.seen = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.seen.append(runner.iter)

    def after_run(self, runner):
        with open(runner.work_dir / "my_hook.json", "w") as f:
            json.dump(dict(a=self.a, b=self.b, seen=self.seen), f)


import json
"""


def test_custom_imports_hook_runs_from_the_cli(tmp_path, monkeypatch):
    (tmp_path / "my_hooks.py").write_text(MY_HOOK)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = tmp_path / "cfg.py"
    cfg.write_text(
        f"_base_ = {str(TOY_CONFIG_PATH)!r}\n"
        "custom_imports = dict(imports=['my_hooks'], allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='MyHook', a=1, b=2, priority='ABOVE_NORMAL')]\n"
        "train_cfg = dict(max_iters=3, val_interval=3)\n"
        "param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=3, by_epoch=False)]\n"
    )
    assert main(["train", str(cfg), "--work-dir", str(tmp_path / "w"), "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "w" / "my_hook.json").read_text()) == {
        "a": 1,
        "b": 2,
        "seen": [0, 1, 2],
    }


def test_custom_imports_failure_names_the_module(tmp_path, capsys):
    cfg = tmp_path / "cfg.py"
    cfg.write_text(
        f"_base_ = {str(TOY_CONFIG_PATH)!r}\ncustom_imports = dict(imports=['no_such_module_xyz'])\n"
    )
    assert main(["train", str(cfg), "--work-dir", str(tmp_path / "w")]) == 2
    assert "no_such_module_xyz" in capsys.readouterr().err
