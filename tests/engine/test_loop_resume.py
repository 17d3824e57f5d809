"""The train loops' progress (``state_dict``), where they resume, and endless samplers.

Both loops find their resume position in one place (``_resume_position``) and open each pass
of the data the same way (``_open_pass``). A sampler is endless when it is an
``InfiniteSampler`` or says so itself (``infinite = True``), as a user's sampler may.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, Sampler

from segwright.config import Config
from segwright.engine.data import DefaultSampler, InfiniteSampler
from segwright.engine.loop_checks import sampler_is_endless
from segwright.engine.loops import EpochBasedTrainLoop, IterBasedTrainLoop
from segwright.engine.runner import Runner
from segwright.registry import DATA_SAMPLERS
from segwright.testing import toy_config
from segwright.testing.toy_dataset import ToySegDataset
from segwright.utils.errors import ConfigError


class _UserEndlessSampler(Sampler[int]):
    """An endless shuffled stream, as one written for MMEngine: no set_start, no set_epoch."""

    infinite = True

    def __init__(self, dataset, seed=None, shuffle=True) -> None:
        self.dataset = dataset
        self.seed = 0 if seed is None else int(seed)

    def __iter__(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        while True:
            yield from torch.randperm(len(self.dataset), generator=generator).tolist()

    def __len__(self) -> int:
        return len(self.dataset)


class _UnmarkedEndlessSampler(_UserEndlessSampler):
    """The same stream without the ``infinite`` mark: taken for one that ends each pass."""

    infinite = None


DATA_SAMPLERS.register_module(name="_UserEndlessSampler", module=_UserEndlessSampler, force=True)
DATA_SAMPLERS.register_module(
    name="_UnmarkedEndlessSampler", module=_UnmarkedEndlessSampler, force=True
)

_DATA = ToySegDataset(num_samples=8, size=(8, 8))


def _loader(sampler) -> DataLoader:
    return DataLoader(_DATA, batch_size=2, sampler=sampler, collate_fn=lambda batch: batch)


def test_which_samplers_are_endless():
    class SubInfinite(InfiniteSampler):
        pass

    class NotReallyInfinite(InfiniteSampler):
        infinite = False

    class Claims:
        infinite = "yes"  # not a bool: no claim

    assert sampler_is_endless(InfiniteSampler(_DATA))
    assert sampler_is_endless(SubInfinite(_DATA))
    assert sampler_is_endless(_UserEndlessSampler(_DATA))
    assert not sampler_is_endless(NotReallyInfinite(_DATA))
    assert not sampler_is_endless(DefaultSampler(_DATA))
    assert not sampler_is_endless(Claims())
    assert not sampler_is_endless(None)


def test_an_epoch_loop_refuses_a_user_sampler_that_says_it_is_endless():
    with pytest.raises(ConfigError, match="_UserEndlessSampler.*endless"):
        EpochBasedTrainLoop(None, _loader(_UserEndlessSampler(_DATA)), max_epochs=1)
    IterBasedTrainLoop(None, _loader(_UserEndlessSampler(_DATA)), max_iters=1)  # fine


def test_loop_progress_round_trips_through_its_state_dict():
    loop = IterBasedTrainLoop(None, _loader(DefaultSampler(_DATA)), max_iters=10)
    assert loop.state_dict() == {"iter": 0, "epoch": 0}
    rng = {"torch": torch.get_rng_state()}
    loop.load_state_dict({"iter": 6, "epoch": 1, "rng": rng})
    assert (loop.iter, loop.epoch) == (6, 1)
    assert loop.state_dict() == {"iter": 6, "epoch": 1}
    assert loop.resume_rng_state is rng
    other = IterBasedTrainLoop(None, _loader(DefaultSampler(_DATA)), max_iters=10)
    other.load_state_dict(loop.state_dict())
    assert other.state_dict() == {"iter": 6, "epoch": 1} and other.resume_rng_state is None


@pytest.mark.parametrize(
    "loop_type, sampler, progress, expected",
    [
        # 8 samples in batches of 2: 4 batches a pass.
        (IterBasedTrainLoop, DefaultSampler, (0, 0), (0, 0)),
        (IterBasedTrainLoop, DefaultSampler, (6, 0), (1, 2)),
        (IterBasedTrainLoop, DefaultSampler, (8, 0), (2, 0)),
        (IterBasedTrainLoop, InfiniteSampler, (6, 0), (0, 6)),
        (IterBasedTrainLoop, _UserEndlessSampler, (6, 0), (0, 6)),
        (EpochBasedTrainLoop, DefaultSampler, (6, 1), (1, 2)),
        (EpochBasedTrainLoop, DefaultSampler, (4, 1), (1, 0)),
        (EpochBasedTrainLoop, DefaultSampler, (3, 1), (1, 0)),  # data grew: start the epoch
    ],
)
def test_both_loops_resume_at_the_pass_and_batch_their_progress_names(
    loop_type, sampler, progress, expected
):
    length = dict(max_iters=20) if loop_type is IterBasedTrainLoop else dict(max_epochs=5)
    loop = loop_type(None, _loader(sampler(_DATA)), **length)
    loop.load_state_dict({"iter": progress[0], "epoch": progress[1]})
    assert loop._resume_position() == expected


def _cfg(work_dir, max_iters, sampler, **kw):
    cfg = toy_config(work_dir, max_iters=max_iters, val_interval=100, **kw)
    cfg["model"]["dropout"] = 0.3
    cfg["train_dataloader"]["sampler"] = dict(type=sampler)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=6)
    cfg["param_scheduler"][0]["end"] = 10
    return cfg


def _weights(work_dir, max_iters, sampler, **kw) -> dict[str, torch.Tensor]:
    runner = Runner.from_cfg(Config(_cfg(work_dir, max_iters, sampler, **kw)))
    runner.train()
    runner.close()
    return {k: v.clone() for k, v in runner._raw_model.state_dict().items()}


@pytest.mark.parametrize("sampler", ["_UserEndlessSampler", "_UnmarkedEndlessSampler"])
def test_resuming_past_a_pass_of_a_user_endless_sampler(tmp_path, sampler):
    """10 iterations at once, or 6 and then 4 resumed: 6 is past the first 4-batch pass."""
    torch.set_num_threads(1)
    full = _weights(tmp_path / "full", 10, sampler)
    _weights(tmp_path / "half", 6, sampler)
    resumed = _weights(tmp_path / "half", 10, sampler, resume=True)
    same = all(torch.equal(full[k], resumed[k]) for k in full)
    # Marked endless, the resumed run draws where the first stopped: the same weights. Without
    # the mark it restarts the stream as a new pass and trains on other batches.
    assert same is (sampler == "_UserEndlessSampler")
