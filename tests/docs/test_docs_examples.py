"""Every example in the user docs runs: ```python blocks execute, ``segwright ...`` lines run.

Blocks of one file run in order in one namespace (later blocks use earlier names), inside a
fresh temporary working directory. Shell lines that start with ``segwright `` go through
``segwright.cli.main.main``; a trailing ``# not run`` marks commands that need real datasets,
GPUs or torchrun. A block whose first line is ``# file: PATH`` is a config file: it is written
to PATH (the working dir holds a copy of the shipped ``configs/`` tree) and loaded with
``Config.fromfile``. A python block whose first line starts with ``# not run`` is skipped (a
config-file fragment that needs files the docs do not ship, or uses ``{{ }}`` templating).
"""

from __future__ import annotations

import os
import re
import shlex
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"#\s*not run\s*$")


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    text: str


def extract_blocks(path: Path) -> list[Block]:
    """Fenced blocks of a markdown file, with the line of their opening fence."""
    blocks, lang, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if lang is None:
            match = FENCE.match(line.strip())
            if match:
                lang, start, body = match.group(1).lower(), number, []
        elif line.strip() == "```":
            blocks.append(Block(lang, start, "\n".join(body) + "\n"))
            lang = None
        else:
            body.append(line)
    return blocks


def shell_commands(block: Block) -> list[tuple[int, str]]:
    """``(line, command)`` for each ``segwright ...`` line not marked ``# not run``.

    Lines ending in a backslash continue on the next one (the mark goes on the last).
    """
    commands, pending, first = [], "", 0
    for offset, raw in enumerate(block.text.splitlines(), start=1):
        if not pending:
            first = offset
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        if line.startswith("$ "):
            line = line[2:]
        if not line.startswith("segwright ") or NOT_RUN.search(line):
            continue
        commands.append((block.line + first, line))
    return commands


FILE_MARK = re.compile(r"#\s*file:\s*(\S+)")


def _file_target(block: Block) -> str | None:
    """``# file: PATH`` on a block's first line: the block is a config file to write and load."""
    first = block.text.lstrip().splitlines()[0] if block.text.strip() else ""
    match = FILE_MARK.match(first.strip())
    return match.group(1) if match else None


def _run_file_block(block: Block, target: str) -> None:
    """Write the block to ``target`` (in the docs' working dir) and load it as a config."""
    from segwright.config import Config

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.text)
    if path.suffix in (".py", ".json", ".yaml", ".yml"):
        Config.fromfile(path, import_custom_modules=False)


def _skip(block: Block) -> bool:
    first = block.text.lstrip().splitlines()[0] if block.text.strip() else ""
    return first.strip().startswith("# not run")


NUCLEI = Path(os.environ.get("SEGWRIGHT_NUCLEI_DIR", "/work/shared/data/nuclei"))


def _nuclei_data(target: Path) -> None:
    """``data/nuclei/{img2d,mask2d}.tif`` for docs/your-data.md: the real StarDist files when
    present, else a synthetic stand-in of the same kind (16-bit image, instance-id mask)."""
    import shutil

    import cv2
    import numpy as np

    target.mkdir(parents=True)
    if (NUCLEI / "img2d.tif").is_file() and (NUCLEI / "mask2d.tif").is_file():
        for name in ("img2d.tif", "mask2d.tif"):
            shutil.copy(NUCLEI / name, target / name)
        return
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:256, :256]
    image = rng.normal(20.0, 4.0, (256, 256))
    instances = np.zeros((256, 256), np.uint16)
    for index in range(1, 41):
        y, x, radius = *rng.integers(0, 256, 2), rng.uniform(5, 10)
        inside = (rows - y) ** 2 + (cols - x) ** 2 < radius**2
        instances[inside] = index
        image[inside] += rng.uniform(60, 180)
    cv2.imwrite(str(target / "img2d.tif"), np.clip(image, 0, 65535).astype(np.uint16))
    cv2.imwrite(str(target / "mask2d.tif"), instances)


@pytest.fixture
def docs_workdir(tmp_path, monkeypatch):
    import shutil

    from segwright.config.shipped import shipped_config_dirs

    # The docs refer to the shipped tree as configs/ (as in a checkout); give them a copy.
    shutil.copytree(shipped_config_dirs()[0], tmp_path / "configs")
    _nuclei_data(tmp_path / "data" / "nuclei")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGWRIGHT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda p: p.name)
def test_doc_examples_run(path: Path, docs_workdir: Path) -> None:
    from segwright.cli.main import main

    namespace: dict = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    where = path.relative_to(ROOT)
    for block in extract_blocks(path):
        target = _file_target(block) if block.lang in ("python", "yaml", "json") else None
        if target is not None:
            try:
                _run_file_block(block, target)
            except Exception:
                pytest.fail(
                    f"{where}: config file block at line {block.line} ({target}) failed:\n"
                    f"{traceback.format_exc()}",
                    pytrace=False,
                )
            continue
        if block.lang == "python":
            if _skip(block):
                continue
            try:
                code = compile(block.text, f"{where}:{block.line}", "exec")
                exec(code, namespace)
            except Exception:
                pytest.fail(
                    f"{where}: python block at line {block.line} failed:\n{traceback.format_exc()}",
                    pytrace=False,
                )
        elif block.lang in ("console", "bash", "shell", "sh"):
            for line, command in shell_commands(block):
                argv = shlex.split(command, comments=True)[1:]
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code
                except Exception:
                    pytest.fail(
                        f"{where}:{line}: `{command}` raised:\n{traceback.format_exc()}",
                        pytrace=False,
                    )
                assert code in (0, None), f"{where}:{line}: `{command}` exited with {code}"


def test_extractor_finds_blocks_and_marks() -> None:
    sample = ROOT / "docs" / "index.md"
    assert sample.is_file()
    block = Block("bash", 10, "segwright train a.py  # not run\nsegwright test a.py b.pth\nls\n")
    assert shell_commands(block) == [(12, "segwright test a.py b.pth")]
    continued = Block(
        "bash", 1, "segwright train a.py \\\n    --amp\nsegwright x \\\n  y  # not run\n"
    )
    assert shell_commands(continued) == [(2, "segwright train a.py      --amp")]
