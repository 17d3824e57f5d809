"""Rank helpers alone and in a 2-process gloo group on localhost."""

from __future__ import annotations

import json
import os
import socket

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp

from segwright.utils import dist


def test_single_process_defaults():
    assert not dist.is_distributed()
    assert dist.get_rank() == 0
    assert dist.get_world_size() == 1
    assert dist.is_main_process()
    dist.barrier()
    tensor = torch.tensor([1, 2])
    reduced = dist.all_reduce_sum(tensor)
    assert reduced.tolist() == [1, 2] and reduced is not tensor
    assert dist.collect_results([1, 2, 3], 2) == [1, 2]
    assert dist.broadcast_object({"a": 1}) == {"a": 1}
    assert dist.to_cpu({"x": [torch.ones(1)], "y": (torch.zeros(1), 3)})["y"][1] == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Three samples of the IoU fixture; the sampler pads rank 1 with sample 0 again.
PREDS = [[[0, 1, 2], [1, 1, 0]], [[2, 2, 0], [0, 1, 1]], [[1, 1, 1], [0, 0, 2]]]
GTS = [[[0, 1, 1], [1, 255, 0]], [[2, 0, 0], [0, 255, 1]], [[1, 2, 1], [0, 0, 2]]]


def _samples(indices):
    return [
        {
            "pred_sem_seg": {"data": torch.tensor([PREDS[i]])},
            "gt_sem_seg": {"data": torch.tensor([GTS[i]])},
        }
        for i in indices
    ]


def _worker(rank: int, port: int, out_dir: str) -> None:
    torch_dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2
    )
    try:
        from segwright.evaluation import IoUMetric
        from segwright.evaluation.metrics.base_metric import BaseMetric

        report = {
            "rank": dist.get_rank(),
            "world": dist.get_world_size(),
            "main": dist.is_main_process(),
            "sum": dist.all_reduce_sum(torch.tensor([rank + 1, 10])).tolist(),
            # rank 0 holds samples 0, 2, 4; rank 1 holds 1, 3 -> dataset order, trimmed
            "collected": dist.collect_results([rank, rank + 2, rank + 4][: 3 - rank], 4),
            "broadcast": dist.broadcast_object("from0" if rank == 0 else "other"),
        }
        metric = IoUMetric(iou_metrics=["mIoU", "mDice"])
        metric.dataset_meta = {"classes": ("a", "b", "c")}
        metric.process(None, _samples([0, 2] if rank == 0 else [1, 0]))
        report["iou"] = metric.evaluate(3)
        report["iou_class"] = metric.class_metrics

        class Listing(BaseMetric):
            def process(self, data_batch, data_samples):
                self.results.extend(data_samples)

            def compute_metrics(self, results):
                return {"order": results}

        listing = Listing()
        listing.process(None, [0, 2] if rank == 0 else [1, 0])
        report["listing"] = listing.evaluate(3)
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
            json.dump(report, f)
    finally:
        torch_dist.destroy_process_group()


def test_two_process_gloo_group(tmp_path):
    from segwright.evaluation import IoUMetric

    # fork: the children inherit the imported torch, so the test takes seconds, not tens.
    mp.start_processes(
        _worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True, start_method="fork"
    )
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]

    single = IoUMetric(iou_metrics=["mIoU", "mDice"])
    single.dataset_meta = {"classes": ("a", "b", "c")}
    single.process(None, _samples([0, 1, 2]))
    expected = single.evaluate(3)

    for rank, report in enumerate(reports):
        assert report["rank"] == rank and report["world"] == 2
        assert report["main"] is (rank == 0)
        assert report["sum"] == [3, 20]
        assert report["collected"] == [0, 1, 2, 3]
        assert report["broadcast"] == "from0"
        assert report["iou"] == expected  # the padded duplicate of sample 0 is dropped
        assert report["iou_class"] == single.class_metrics
        assert report["listing"] == {"order": [0, 1, 2]}
