"""docs/model-zoo.md lists exactly the method families segwright ships, with their parts.

The table between the ``zoo-table`` markers is generated from the shipped config tree and the
registry; when a family is added, regenerate it with::

    .venv/bin/python tests/docs/test_model_zoo_table.py --write
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "segwright" / "configs"
DOC = ROOT / "docs" / "model-zoo.md"
START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"

#: The method folders of MMSegmentation 1.2.2's config tree (its ``dsdl`` folder holds
#: dataset configs only).
MMSEG_FAMILIES = (
    "ann apcnet beit bisenetv1 bisenetv2 ccnet cgnet convnext danet ddrnet deeplabv3 "
    "deeplabv3plus dmnet dnlnet dpt emanet encnet erfnet fastfcn fastscnn fcn gcnet hrnet "
    "icnet isanet knet mae mask2former maskformer mobilenet_v2 mobilenet_v3 nonlocal_net "
    "ocrnet pidnet point_rend poolformer psanet pspnet resnest san segformer segmenter "
    "segnext sem_fpn setr stdc swin twins unet upernet vit vpd"
).split()
#: Families left out on purpose, and why (issue 18).
LEFT_OUT = {
    "vpd": "needs Stable Diffusion weights to build its backbone",
    "san": "needs CLIP weights to build its backbone",
}
NOT_FAMILIES = {"_base_", "mmdet", "quickstart", "recipes"}


def _types(node: Any) -> list[str]:
    if isinstance(node, (list, tuple)):
        return [t for item in node for t in _types(item)]
    if isinstance(node, dict) and "type" in node:
        return [str(node["type"])]
    return []


def shipped_families() -> dict[str, tuple[list[str], int]]:
    """Family folder -> (model part types in its configs, number of configs)."""
    from segwright.config import Config

    out: dict[str, tuple[list[str], int]] = {}
    for folder in sorted(p for p in CONFIGS.iterdir() if p.is_dir()):
        if folder.name in NOT_FAMILIES:
            continue
        parts: list[str] = []
        files = sorted(folder.glob("*.py"))
        for path in files:
            model = Config.fromfile(path).to_dict()["model"]
            for key in ("type", "backbone", "neck", "decode_head", "auxiliary_head"):
                value = model.get(key)
                found = [value] if key == "type" else _types(value)
                parts += [t for t in dict.fromkeys(found) if t not in parts]
        out[folder.name] = (parts, len(files))
    return out


def render() -> str:
    families = shipped_families()
    lines = ["| family | model parts | shipped configs |", "|---|---|---|"]
    for name, (parts, count) in families.items():
        lines.append(f"| {name} | {', '.join(f'`{p}`' for p in parts)} | {count} |")
    missing = [f for f in MMSEG_FAMILIES if f not in families and f not in LEFT_OUT]
    lines += [
        "",
        f"{len([f for f in families if f in MMSEG_FAMILIES])} of MMSegmentation 1.2.2's "
        f"{len(MMSEG_FAMILIES)} method families are supported.",
        "",
        "Not yet supported: " + (", ".join(missing) if missing else "none") + ".",
        "",
        "Left out on purpose: "
        + "; ".join(f"{name} ({why})" for name, why in LEFT_OUT.items())
        + ".",
    ]
    return "\n".join(lines)


def _replace(text: str, table: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def test_every_shipped_family_is_a_known_mmseg_family_with_registered_parts():
    from segwright.registry import MODELS, split_scope

    for name, (parts, count) in shipped_families().items():
        assert name in MMSEG_FAMILIES, f"{name} is not an MMSeg 1.2.2 family folder"
        assert count > 0
        for part in parts:
            assert MODELS.get(part) is not None or MODELS.get(split_scope(part)[1]), part


def test_docs_table_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert START in text and END in text
    assert _replace(text, render()) == text, (
        "docs/model-zoo.md is out of date: run "
        ".venv/bin/python tests/docs/test_model_zoo_table.py --write"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    table = render()
    if "--write" in sys.argv:
        DOC.write_text(_replace(DOC.read_text(encoding="utf-8"), table), encoding="utf-8")
    else:
        print(table)
