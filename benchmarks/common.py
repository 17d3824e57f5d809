"""What the benchmarks share: the repository on sys.path, fake data trees, and the summary lines.

Every benchmark runs both sides in one process, interleaved (A B, B A, A B ...) so drift in the
machine's speed hits both, and ends with one line: ``ratio (A / B): median X.XXX (min Y.YYY,
max Z.ZZZ) over N paired runs``. A paired ratio divides the two sides' times of one round.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine_line() -> str:
    """Device, threads and versions, for the top of a benchmark's output."""
    import torch

    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "unknown"
    return (
        f"machine: {cpu}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {gpu}; commit {commit or 'unknown'}"
    )


#: MMSeg 1.2.2 + MMEngine + MMCV + MMDet, built outside the repository by SETUP
DEFAULT_REFERENCE_VENV = "/tmp/mmseg-ref-venv"
REFERENCE_SETUP = "../shared/tools/mmseg-reference/setup.sh"


def reference_venv() -> str:
    """``$MMSEG_REFERENCE_VENV`` (or ``$MMSEG_REF_VENV``), else the default folder."""
    return (
        os.environ.get("MMSEG_REFERENCE_VENV")
        or os.environ.get("MMSEG_REF_VENV")
        or DEFAULT_REFERENCE_VENV
    )


def reference_python() -> Path | None:
    """The reference venv's python, or None when it is not built."""
    python = Path(reference_venv()) / "bin" / "python"
    return python if python.exists() else None


def require_reference_python(without: str = "") -> Path:
    """The reference venv's python; without one, say how to build it and exit with status 2.

    ``without``: what runs without the venv (an option), added to the message.
    """
    python = reference_python()
    if python is None:
        venv = reference_venv()
        print(
            f"MMSeg reference venv not found: {venv}/bin/python does not exist.\n"
            f"Build it (about 8 minutes, idempotent): MMSEG_REF_VENV={venv} bash "
            f"{REFERENCE_SETUP}\nor point MMSEG_REFERENCE_VENV at an existing one"
            + (f"; {without}." if without else "."),
            file=sys.stderr,
        )
        raise SystemExit(2)
    return python


def sync(device: Any) -> None:
    """Wait for queued CUDA work, so a clock read after it sees finished work."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def write_fake_tree(
    root: Path, count: int, size: tuple[int, int], num_classes: int, img_suffix: str = ".jpg"
) -> None:
    """``count`` smooth photo-like images with blocky label maps, in an ADE20K-style tree."""
    rng = np.random.default_rng(0)
    height, width = size
    for split in ("training", "validation"):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "annotations" / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            coarse = rng.integers(0, 256, size=(height // 16, width // 16, 3), dtype=np.uint8)
            image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
            blocks = rng.integers(0, num_classes + 1, size=(height // 32, width // 32))
            label = cv2.resize(
                blocks.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
            )
            cv2.imwrite(str(root / "images" / split / f"img{index:04d}{img_suffix}"), image)
            cv2.imwrite(str(root / "annotations" / split / f"img{index:04d}.png"), label)


def summary(name: str, seconds: Sequence[float], unit: str = "ms", scale: float = 1000) -> str:
    values = [s * scale for s in seconds]
    return (
        f"{name:>12}: median {statistics.median(values):9.3f} {unit}  "
        f"min {min(values):9.3f}  max {max(values):9.3f}  (n={len(values)})"
    )


def ratio_line(label: str, ours: Sequence[float], reference: Sequence[float]) -> str:
    """The last line: median (min, max) of the per-round ratios ours[i] / reference[i]."""
    ratios = sorted(a / b for a, b in zip(ours, reference, strict=True))
    return (
        f"ratio ({label}): median {statistics.median(ratios):.3f} "
        f"(min {ratios[0]:.3f}, max {ratios[-1]:.3f}) over {len(ratios)} paired runs"
    )
