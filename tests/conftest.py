"""Suite-wide test marks: which files ``make test-fast`` leaves to ``make test``.

A file goes here when it trains or runs whole programs (the demo, benchmark scripts, every
shipped config for one iteration, the docs' examples) and so takes seconds per test; the rest
of the suite is unit tests and runs in about a minute on 2 cores.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Test files (relative to tests/) marked ``slow``; ``make test`` and CI still run them.
SLOW_FILES = {
    "benchmarks/test_benchmark_scripts.py",
    "config/test_legacy_corpus.py",
    "config/test_shipped_configs.py",
    "docs/test_docs_examples.py",
    "engine/test_distributed.py",
    "engine/test_distributed_sync.py",
    "datasets/test_tf_compose_errors.py",
    "cli/test_cli_benchmark.py",
    "config/test_legacy_tree_030.py",
    "docs/test_model_zoo_table.py",
    "engine/test_checkpoint_io.py",
    "engine/test_legacy_equivalence.py",
    "engine/test_prefetch.py",
    "engine/test_speed_options.py",
    "engine/test_resume_with_workers.py",
    "cli/test_cli_browse_dataset.py",
    "apis/test_apis.py",
    "cli/test_cli_export.py",
    "cli/test_cli_plot_logs.py",
    "config/test_mmdet_configs.py",
    "engine/logging/test_vis_backends.py",
    "models/test_mask_rcnn_mmdet_parity.py",
}
SLOW_FOLDERS = ("e2e/",)
TESTS = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(TESTS).as_posix()
        if relative in SLOW_FILES or relative.startswith(SLOW_FOLDERS):
            item.add_marker(pytest.mark.slow)
