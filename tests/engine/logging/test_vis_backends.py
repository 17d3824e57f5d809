"""Scalars reach TensorBoard, MLflow and W&B, read back with each tool's own reader."""

from __future__ import annotations

import json
import time

import pytest

from segwright.config import Config
from segwright.engine.runner import Runner
from segwright.testing import toy_config
from segwright.utils.errors import ConfigError


def _train(tmp_path, backends):
    cfg = toy_config(tmp_path, max_iters=2, val_interval=2, visualizer=dict(vis_backends=backends))
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    runner.close()
    return runner


def test_local_backend_writes_json_lines_and_config(tmp_path):
    runner = _train(tmp_path, [dict(type="LocalVisBackend")])
    vis = runner.log_dir / "vis_data"
    records = [json.loads(line) for line in (vis / "scalars.json").read_text().splitlines()]
    assert records[0]["step"] == 1 and "decode.loss_ce" in records[0]
    assert "model = dict(type='ToySegModel'" in (vis / "config.py").read_text()


def test_local_backend_lines_are_in_the_file_at_once_and_it_reopens_after_close(tmp_path):
    from segwright.engine.logging.backends import LocalVisBackend

    backend = LocalVisBackend(save_dir=tmp_path / "vis_data")
    path = tmp_path / "vis_data" / "scalars.json"
    backend.add_scalars({"loss": 0.5}, step=1)
    assert json.loads(path.read_text()) == {"loss": 0.5, "step": 1}  # flushed, not buffered
    backend.close()
    backend.add_scalars({"loss": 0.25}, step=2)  # e.g. Runner.val() after train() closed it
    backend.close()
    backend.close()  # closing twice is harmless
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [{"loss": 0.5, "step": 1}, {"loss": 0.25, "step": 2}]


def test_tensorboard_event_files_hold_the_scalars(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runner = _train(tmp_path, [dict(type="TensorboardVisBackend")])
    events = EventAccumulator(str(runner.log_dir / "vis_data"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"loss", "decode.loss_ce", "lr", "val/mIoU"} <= set(tags)
    assert [e.step for e in events.Scalars("loss")] == [1, 2]


def test_mlflow_local_store_holds_params_and_metrics(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    # MLflow 3 keeps the file store behind an opt-in (sqlite needs the full mlflow package).
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    uri = (tmp_path / "mlruns").as_uri()
    backend = dict(
        type="MLflowVisBackend",
        exp_name="toy",
        tracking_uri=uri,
        params=dict(lr=0.1),
        tags=dict(k="v"),
    )
    _train(tmp_path / "run", [backend])
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("toy")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.params["lr"] == "0.1" and run.data.tags["k"] == "v"
    history = client.get_metric_history(run.info.run_id, "decode.loss_ce")
    assert [m.step for m in history] == [1, 2]
    assert "val_mIoU" in run.data.metrics


def _wandb_records(raw: bytes):
    """Records of a .wandb file: LevelDB log blocks after W&B's 7-byte file header."""
    import struct

    pos, buf, block = 7, b"", 32768
    while pos + 7 <= len(raw):
        if block - pos % block < 7:
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", raw[pos : pos + 7])
        pos += 7
        buf += raw[pos : pos + length]
        pos += length
        if kind in (1, 4):  # a full record, or the last fragment of one
            yield buf
            buf = b""


def test_wandb_offline_run_records_the_scalars(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="the wandb extra is not installed")
    from wandb.proto import wandb_internal_pb2

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    backend = dict(type="WandbVisBackend", init_kwargs=dict(project="toy", dir=str(tmp_path)))
    _train(tmp_path / "run", [backend])
    (run_file,) = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")

    def history_records() -> list[dict]:
        found = []
        for data in _wandb_records(run_file.read_bytes()):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(data)
            if record.WhichOneof("record_type") == "history":
                items = record.history.item
                found.append(
                    {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}
                )
        return found

    # wandb's background writer may still be flushing the run file when finish() returns.
    deadline = time.monotonic() + 15
    history = history_records()
    while not any("val/mIoU" in h for h in history) and time.monotonic() < deadline:
        time.sleep(0.2)
        history = history_records()
    train = [h for h in history if "decode.loss_ce" in h]
    assert [h["iter"] for h in train] == [1, 2]
    assert any("val/mIoU" in h for h in history)


def test_missing_backend_package_is_a_config_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name == "tensorboard":
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda name: no_tensorboard(name))
    with pytest.raises(ConfigError, match=r"segwright\[tensorboard\]"):
        _train(tmp_path, [dict(type="TensorboardVisBackend")])
