"""Synthetic images with one bright rectangle each; the rectangle is class 1, the rest class 0."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from segwright.registry import DATASETS
from segwright.structures import PixelData, SegDataSample


@DATASETS.register_module(internal=True)  # a test helper: not offered in errors
class ToySegDataset(Dataset):
    """Deterministic per index: sample ``i`` is the same in every run and process.

    Args:
        num_samples: How many images.
        size: ``(height, width)`` of every image.
        seed: Changes the whole dataset.
        ignore_border: Mark a 1-pixel border with ``ignore_index`` 255 (exercises ignoring).
        random_flip: Flip horizontally with probability 0.5, drawn from NumPy's global generator
            (as augmentations do; exercises random state in tests).
    """

    METAINFO = dict(classes=("background", "square"), palette=[[0, 0, 0], [255, 200, 0]])

    def __init__(
        self,
        num_samples: int = 8,
        size: tuple[int, int] | list[int] = (32, 32),
        seed: int = 0,
        ignore_border: bool = False,
        random_flip: bool = False,
    ) -> None:
        self.num_samples = int(num_samples)
        self.size = (int(size[0]), int(size[1]))
        self.seed = seed
        self.ignore_border = ignore_border
        self.random_flip = random_flip
        self.metainfo = dict(self.METAINFO)

    def __len__(self) -> int:
        return self.num_samples

    def sample_arrays(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(image HxWx3 uint8, mask HxW uint8)`` for one index."""
        rng = np.random.default_rng(self.seed * 100_003 + index)
        height, width = self.size
        image = rng.integers(0, 60, size=(height, width, 3), dtype=np.uint8)
        mask = np.zeros((height, width), dtype=np.uint8)
        h = int(rng.integers(height // 4, height // 2 + 1))
        w = int(rng.integers(width // 4, width // 2 + 1))
        top = int(rng.integers(0, height - h + 1))
        left = int(rng.integers(0, width - w + 1))
        image[top : top + h, left : left + w] += np.uint8(150)
        mask[top : top + h, left : left + w] = 1
        if self.ignore_border:
            mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = 255
        return image, mask

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self.num_samples:
            raise IndexError(index)
        image, mask = self.sample_arrays(index)
        if self.random_flip and np.random.rand() < 0.5:
            image, mask = image[:, ::-1].copy(), mask[:, ::-1].copy()
        sample = SegDataSample(
            gt_sem_seg=PixelData(torch.from_numpy(mask.astype(np.int64))[None]),
            metainfo=dict(
                img_path=f"toy_{index}.png",
                img_shape=self.size,
                ori_shape=self.size,
                reduce_zero_label=False,
            ),
        )
        return dict(
            inputs=torch.from_numpy(image).permute(2, 0, 1).contiguous(), data_samples=sample
        )
