"""A corpus of malformed configs and bad data sets, run the way a user runs them (issue 17 §3).

Every case starts from one small valid run (a tiny PSPNet-like EncoderDecoder on four 16x16
PNGs written once per module) and breaks one thing: a misspelt key at every level, a missing
``type``, a wrong type, an out-of-range value, a missing required key, a bad file. Each must end
in a :class:`SegwrightError` whose message names the config key path (or the data file) and
the key, or, where the right outcome is a warning, run and log a line naming the key. A raw
exception of another class or a silent run fails the case.

``python tests/e2e/test_malformed_corpus.py`` prints the figures of benchmarks/results_corpus.md.
"""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from malformed_base import Case, W, _as_config, base_config, write_data
from malformed_cases import CASES

from segwright.apis.train import build_runner
from segwright.engine.logging.logger import close_file_handlers
from segwright.utils.errors import SegwrightError

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# -- running a case -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return write_data(tmp_path_factory.mktemp("corpus_data"))


#: A case still running after this long hangs (an endless epoch, a loop that never ends).
CASE_TIMEOUT_S = 30


class Hang(Exception):
    """Raised in a case that ran past CASE_TIMEOUT_S."""


def _hang(signum: int, frame: Any) -> None:
    raise Hang(f"still running after {CASE_TIMEOUT_S} s")


def run_case(c: Case, root: Path, tmp: Path) -> tuple[str, str]:
    """``(outcome, text)``: 'segwright-error:<Class>', 'raw:<Class>' or 'ran', and the message."""
    cfg = base_config(str(root), str(tmp / "work"))
    c.mutate(cfg, root)
    logger_records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: logger_records.append(record.getMessage())  # type: ignore
    logging.getLogger("segwright").addHandler(handler)
    runner = None
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runner = build_runner(_as_config(cfg, tmp))
            getattr(runner, c.command)()
        text = "\n".join(logger_records + [str(w.message) for w in caught])
        return "ran", text
    except SegwrightError as exc:
        return f"segwright-error:{type(exc).__name__}", str(exc)
    except Exception as exc:  # noqa: BLE001 - what the corpus counts
        return f"raw:{type(exc).__name__}", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        logging.getLogger("segwright").removeHandler(handler)
        if runner is not None:
            runner.close()
        close_file_handlers()


def judge(c: Case, outcome: str, text: str) -> str | None:
    """None when the case ended as it should; else why not."""
    want = "segwright-error" if c.expect.error else "ran"
    if outcome.split(":")[0] != want:
        return f"expected {want}, got {outcome}: {text[-600:]}"
    missing = [w for w in c.expect.words if w not in text]
    if missing:
        return f"message lacks {missing}: {text[-600:]}"
    return None


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_malformed_case(c: Case, data_root: Path, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    outcome, text = run_case(c, data_root, tmp_path)
    problem = judge(c, outcome, text)
    assert problem is None, problem


def test_the_base_config_runs(data_root: Path, tmp_path: Path) -> None:
    outcome, text = run_case(Case("base", lambda cfg, root: None, W()), data_root, tmp_path)
    assert outcome == "ran", text
    assert "mIoU" in text


def test_dynamic_intervals_change_the_validation_interval_at_their_milestones() -> None:
    from segwright.engine.loop_checks import check_dynamic_intervals, val_interval_at

    dynamic = check_dynamic_intervals([(10, 2), (4, 3)], "IterBasedTrainLoop")
    assert dynamic == [(4, 3), (10, 2)]
    assert [val_interval_at(p, 5, dynamic) for p in (1, 4, 9, 10, 50)] == [5, 3, 3, 2, 2]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200
    assert len({c.name for c in CASES}) == len(CASES)


if __name__ == "__main__":  # the figures of benchmarks/results_corpus.md
    import collections
    import tempfile
    import time

    torch.set_num_threads(1)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        root = write_data(Path(folder) / "data")
        outcomes: collections.Counter[str] = collections.Counter()
        kinds: collections.Counter[str] = collections.Counter()
        failures = []
        for index, c in enumerate(CASES):
            tmp = Path(folder) / f"case{index}"
            tmp.mkdir()
            outcome, text = run_case(c, root, tmp)
            outcomes[outcome] += 1
            kinds[c.name.split(":")[0]] += 1
            problem = judge(c, outcome, text)
            if problem:
                failures.append(f"{c.name}: {problem}")
    for line in failures:
        print("FAIL", line[:400])
    print(f"cases {len(CASES)}; kinds {dict(kinds)}")
    print(f"outcomes {dict(sorted(outcomes.items()))}; failing {len(failures)}")
    print(f"{time.perf_counter() - start:.1f} s")
    sys.exit(1 if failures else 0)
