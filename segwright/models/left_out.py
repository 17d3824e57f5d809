"""The MMSeg 1.2.2 model types segwright leaves out on purpose, registered only to say why.

VPD (``DepthEstimator`` + ``VPD``) builds its backbone from Stable Diffusion weights and SAN
(``MultimodalEncoderDecoder``, ``CLIPTextEncoder``, ``SideAdapterCLIPHead``) from CLIP weights;
neither architecture exists without those downloads. A config naming them stops here with the
reason, instead of a bare "Unknown model type".
"""

from __future__ import annotations

from typing import Any

from segwright.registry import MODELS
from segwright.utils.errors import ConfigError

#: Left-out type -> (family, why).
LEFT_OUT: dict[str, tuple[str, str]] = {
    "DepthEstimator": ("VPD", "Stable Diffusion weights (its backbone is the SD UNet)"),
    "VPD": ("VPD", "Stable Diffusion weights (its backbone is the SD UNet)"),
    "MultimodalEncoderDecoder": ("SAN", "CLIP weights (its encoders are CLIP's)"),
    "CLIPTextEncoder": ("SAN", "CLIP weights (its encoders are CLIP's)"),
    "SideAdapterCLIPHead": ("SAN", "CLIP weights (its encoders are CLIP's)"),
}


def _left_out(name: str) -> Any:
    family, needs = LEFT_OUT[name]

    def refuse(**kwargs: Any) -> Any:
        raise ConfigError(
            f"{name} belongs to MMSegmentation's {family} family, which segwright leaves out: "
            f"building it needs {needs}, which segwright does not download or reimplement. "
            "docs/model-zoo.md lists the supported families."
        )

    refuse.__name__ = refuse.__qualname__ = name
    refuse.left_out = True  # type: ignore[attr-defined]  (the sweep tests skip these)
    return refuse


for _name in LEFT_OUT:
    MODELS.register_module(name=_name, module=_left_out(_name))
