"""``class_weight='w.pkl'`` is unpickled only with --trust-checkpoint; .npy/.json/.txt need none."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.engine.safe_unpickle import pickles_trusted, trusted_pickles
from segwright.models.losses import CrossEntropyLoss, get_class_weight
from segwright.testing import ToySegModel, toy_config
from segwright.utils.errors import ConfigError


class _Payload:
    """Unpickling this writes a marker file: code from the file ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


class ToyWithClassWeightFile(ToySegModel):
    """The toy model with a loss whose class_weight comes from a file (built with the model)."""

    def __init__(self, class_weight=None, **kwargs):
        super().__init__(**kwargs)
        self.loss = CrossEntropyLoss(class_weight=class_weight, avg_non_ignore=True)


def test_a_pickle_is_refused_without_the_opt_in_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ConfigError) as info:
        get_class_weight(str(path))
    assert not marker.exists()
    message = str(info.value)
    assert "--trust-checkpoint" in message and ".npy" in message and "w.pkl" in message


def test_plain_formats_need_no_opt_in_and_npy_never_unpickles(tmp_path):
    np.save(tmp_path / "w.npy", np.asarray([1.0, 2.0], dtype=np.float32))
    (tmp_path / "w.json").write_text(json.dumps([1.0, 2.0]))
    (tmp_path / "w.txt").write_text("1.0, 2.0\n")
    for name in ("w.npy", "w.json", "w.txt"):
        assert get_class_weight(str(tmp_path / name)) == [1.0, 2.0]
    np.save(tmp_path / "obj.npy", np.asarray([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ConfigError, match="plain NumPy array"):
        get_class_weight(str(tmp_path / "obj.npy"))


def test_the_trust_checkpoint_flag_lets_the_runner_read_a_pickle(tmp_path):
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps([1.0, 3.0]))
    cfg = toy_config(tmp_path / "run")
    cfg["model"] = dict(type=ToyWithClassWeightFile, class_weight=str(path))  # not registered
    with pytest.raises(ConfigError, match="trust-checkpoint"):
        Runner.from_cfg(Config(cfg))
    cfg["trust_checkpoint"] = True  # what `segwright train --trust-checkpoint` sets
    runner = Runner.from_cfg(Config(cfg))
    runner.close()
    assert runner.model.loss.class_weight == [1.0, 3.0]
    assert not pickles_trusted()  # only while the model was built
    with trusted_pickles(False):
        assert not pickles_trusted()


def test_the_cli_flag_covers_every_command_that_has_it():
    import argparse

    from segwright.cli.main import _trust_scope

    with _trust_scope(argparse.Namespace(trust_checkpoint=True)):
        assert pickles_trusted()  # e.g. `segwright infer --trust-checkpoint` (init_model)
    with _trust_scope(argparse.Namespace(trust_checkpoint=False)):
        assert not pickles_trusted()
    with _trust_scope(argparse.Namespace()):  # commands without the flag
        assert not pickles_trusted()


def test_init_model_trusts_a_pickle_only_when_told(tmp_path):
    from segwright.apis import init_model

    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps([1.0, 3.0]))
    cfg = Config(dict(model=dict(type=ToyWithClassWeightFile, class_weight=str(path))))
    with pytest.raises(ConfigError, match="trust-checkpoint"):
        init_model(cfg, device="cpu")
    model = init_model(cfg, device="cpu", trust_checkpoint=True)
    assert model.loss.class_weight == [1.0, 3.0]
    assert not pickles_trusted()
