"""A tiny model, dataset and config that tests and users share (like Lightning's BoringModel).

``ToySegModel`` and ``ToySegDataset`` register themselves, so a config can name them:
``model=dict(type='ToySegModel')``, ``dataset=dict(type='ToySegDataset', num_samples=8)``.
"""

from segwright.testing.toy_config import TOY_CONFIG_PATH, toy_config
from segwright.testing.toy_dataset import ToySegDataset
from segwright.testing.toy_model import ToySegModel

__all__ = ["TOY_CONFIG_PATH", "ToySegDataset", "ToySegModel", "toy_config"]
