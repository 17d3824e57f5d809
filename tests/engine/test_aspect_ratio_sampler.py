"""AspectRatioBatchSampler (MMDetection 3.3's grouping) and ``batch_sampler=`` in dataloaders."""

from __future__ import annotations

import pytest
from torch.utils.data import Dataset

from segwright.engine.data import (
    AspectRatioBatchSampler,
    DefaultSampler,
    build_dataloader,
    index_sampler,
)
from segwright.registry import DATA_SAMPLERS
from segwright.utils.errors import ConfigError

L, P = (40, 30), (20, 50)  # (width, height): landscape, portrait


class Sized(Dataset):
    """Samples of the given (width, height); ``dataset[i]`` is ``i``."""

    def __init__(self, sizes):
        self.sizes = list(sizes)

    def __len__(self):
        return len(self.sizes)

    def __getitem__(self, idx):
        return int(idx)

    def get_data_info(self, idx):
        w, h = self.sizes[idx]
        return dict(width=w, height=h)


def batches(sizes, batch_size, drop_last=False):
    sampler = DefaultSampler(Sized(sizes), shuffle=False)
    batch_sampler = AspectRatioBatchSampler(sampler, batch_size, drop_last)
    return [list(map(int, b)) for b in batch_sampler], len(batch_sampler)


def test_groups_by_orientation_and_yields_full_buckets():
    sizes = [L, P, L, L, P, P, L]
    assert batches(sizes, 2) == ([[0, 2], [1, 4], [3, 6], [5]], 4)
    assert batches(sizes, 2, drop_last=True) == ([[0, 2], [1, 4], [3, 6]], 3)


def test_leftovers_are_mixed_portrait_first_in_chunks():
    # Square images (width == height) go with the landscape ones.
    assert batches([L, P, (30, 30)], 3) == ([[1, 0, 2]], 1)
    # MMDetection drops the last leftover chunk with drop_last even when it is full.
    assert batches([L, P, (30, 30)], 3, drop_last=True) == ([], 1)
    assert batches([L, P, P, L, L], 4) == ([[1, 2, 0, 3], [4]], 2)
    assert batches([L, P, P, L, L], 4, drop_last=True) == ([[1, 2, 0, 3]], 1)


def test_registered_and_built_from_a_dataloader_config():
    assert DATA_SAMPLERS.get("AspectRatioBatchSampler") is AspectRatioBatchSampler
    loader = build_dataloader(
        dict(
            batch_size=2,
            dataset=Sized([L, P, L, P, P]),
            sampler=dict(type="DefaultSampler", shuffle=False),
            batch_sampler=dict(type="AspectRatioBatchSampler"),
        ),
        seed=0,
    )
    assert isinstance(loader.batch_sampler, AspectRatioBatchSampler)
    assert loader.batch_sampler.batch_size == 2
    assert isinstance(index_sampler(loader), DefaultSampler)
    assert len(loader) == 3
    assert [[int(i) for i in b] for b in loader] == [[0, 2], [1, 3], [4]]


def test_index_sampler_of_a_plain_loader_is_its_sampler():
    loader = build_dataloader(
        dict(batch_size=2, dataset=Sized([L, P]), sampler=dict(type="DefaultSampler")), seed=0
    )
    assert index_sampler(loader) is loader.sampler


def test_bad_settings_are_config_errors():
    sampler = DefaultSampler(Sized([L]), shuffle=False)
    with pytest.raises(ConfigError, match="batch_size must be a positive int"):
        AspectRatioBatchSampler(sampler, 0)
    with pytest.raises(ConfigError, match="get_data_info"):
        AspectRatioBatchSampler(DefaultSampler(list(range(3)), shuffle=False), 2)
    with pytest.raises(ConfigError, match="move drop_last into"):
        build_dataloader(
            dict(
                dataset=Sized([L]),
                drop_last=True,
                batch_sampler=dict(type="AspectRatioBatchSampler"),
            )
        )

    class NoSizes(Sized):
        def get_data_info(self, idx):
            return dict(img_path="x.png")

    no_sizes = AspectRatioBatchSampler(DefaultSampler(NoSizes([L]), shuffle=False), 2)
    with pytest.raises(ConfigError, match="has no 'width'/'height'"):
        list(no_sizes)
