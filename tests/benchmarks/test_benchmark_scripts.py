"""Smoke test of benchmark scripts: each runs end to end with tiny settings.

Only the shape of the output is checked, never a speed: the numbers of a --quick run mean
nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RATIO = re.compile(r"ratio \(.+\): median [\d.]+ \(min [\d.]+, max [\d.]+\) over \d+ paired runs")


def run_script(name: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout.strip().splitlines()


def test_eval_quick_run_ends_with_the_metric_share():
    lines = run_script("eval.py", "--quick")
    assert RATIO.fullmatch(lines[-1]), lines[-1]
    labels = [line.split(")")[0] for line in lines if RATIO.fullmatch(line)]
    assert labels == [
        "ratio (segwright slide time / minimal slide time",
        "ratio (metric / inference",
    ]
    assert any(line.startswith("[slide] same output: logits max abs diff") for line in lines)
    assert any(line.startswith("goal: metric / inference <= 0.05") for line in lines)


def test_startup_quick_run_ends_with_the_first_iteration_ratio():
    lines = run_script("startup.py", "--quick")
    assert RATIO.fullmatch(lines[-1]), lines[-1]
    assert lines[-1].startswith("ratio (segwright train to first iteration / minimal script)")
    assert any(line.startswith("ratio (segwright --help / python -c pass)") for line in lines)


def test_overhead_toy_run_ends_with_the_ratio_for_both_methods():
    for method in ("interleaved", "runs"):
        breakdown = ("--breakdown",) if method == "interleaved" else ()
        lines = run_script(
            "overhead.py",
            *("--models", "toy", "--workers", "0", "--rounds", "1", "--iters", "4"),
            *("--method", method, "--no-warm-run", "--threads", "1", *breakdown),
        )
        assert RATIO.fullmatch(lines[-1]), lines[-1]
        assert lines[-1].startswith("ratio (runner / hand loop, toy, workers 0)")
        assert f"toy, batch 2, num_workers 0, {method}: 4 timed iterations" in lines
        assert "| toy | 0 |" in "\n".join(lines)
        rows = [line.split() for line in lines if line.startswith("  ") and "Hook" in line]
        if breakdown:  # every default hook with a per-iteration stage, timed in the loop
            names = {row[1] for row in rows}
            assert names == {
                "IterTimerHook",
                "RuntimeInfoHook",
                "LoggerHook",
                "ParamSchedulerHook",
                "CheckpointHook",
            }, rows
            assert any("(not repeated)" in line and "ParamSchedulerHook" in line for line in lines)
        else:
            assert not rows


def test_ops_quick_run_checks_agreement_and_ends_with_the_roi7_ratio():
    lines = run_script("ops.py", "--quick")
    assert RATIO.fullmatch(lines[-1]), lines[-1]
    assert lines[-1].startswith("ratio (vectorised / reference, roi7)")
    assert any(line.endswith("same kept indices: True") for line in lines)
    assert sum(line.startswith("ratio (vectorised / reference") for line in lines) == 3


def test_det_quick_run_reports_the_op_share_and_ends_with_the_overhead_ratio():
    lines = run_script("det.py", "--quick")
    assert RATIO.fullmatch(lines[-1]), lines[-1]
    assert lines[-1].startswith("ratio (runner / hand loop, maskrcnn-small, workers 0)")
    shares = [line for line in lines if line.startswith("ratio (RoIAlign + NMS / training step")]
    assert len(shares) == 1 and RATIO.fullmatch(shares[0]), shares
    rows = {line.split(" median")[0].strip() for line in lines if line.startswith("  ")}
    assert {"nms (rpn) in place", "roi_align 7 replayed", "roi_align 14 replayed"} <= rows, rows
    assert "roi_align 28 replayed" in rows  # the mask targets, pooled with RoIAlign too


def test_vs_mmseg_without_the_reference_venv_says_how_to_build_it(tmp_path):
    import os

    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "vs_mmseg.py"), "--rounds", "1"],
        cwd=BENCHMARKS.parent,
        env={**os.environ, "MMSEG_REFERENCE_VENV": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "MMSeg reference venv not found" in done.stderr
    assert "shared/tools/mmseg-reference/setup.sh" in done.stderr


def test_vs_mmseg_quick_segwright_side_reports_losses_and_times():
    # CI has no reference venv: only segwright's side, at tiny size, one case.
    lines = run_script(
        "vs_mmseg.py", "--segwright-only", "--quick", "--cases", "unet", "--rounds", "1"
    )
    assert any(line.startswith("first-iteration losses, segwright: aux.loss_ce:") for line in lines)
    assert any(re.match(r"round 0 segwright: wall +[\d.]+ s, mean iter", x) for x in lines)
    assert lines[-1] == "segwright side only: no ratio (the MMSeg side was not run)"


def test_vs_mmseg_quick_test_mode_evaluates_a_checkpoint_with_segwright_test():
    lines = run_script(
        "vs_mmseg.py", "--mode", "test", "--segwright-only", "--quick", "--cases", "unet",
        "--rounds", "1",
    )  # fmt: skip
    assert "== unet: test of a checkpoint, 4 images 32x32, batch 1 ==" in lines
    line = r"round 0 segwright: wall +[\d.]+ s, mean test iteration +[\d.]+ ms, mIoU [\d.]+"
    assert any(re.fullmatch(line, x) for x in lines), lines
    assert lines[-1] == "segwright side only: no ratio (the MMSeg side was not run)"


def test_gpu_suite_dry_run_runs_the_cpu_steps_and_writes_a_dry_section(tmp_path):
    import os

    out = tmp_path / "gpu.md"
    done = subprocess.run(
        ["bash", str(BENCHMARKS / "gpu_suite.sh"), "--dry-run", "--out", str(out)],
        cwd=BENCHMARKS.parent,
        env={**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "--dry-run: CPU smoke steps only" in done.stdout
    section = out.read_text()
    assert section.startswith("## GPU figures: DRY RUN on the CPU (no GPU figures)")
    assert "### overhead.py (ok)" in section
    assert "### speed.py, toy, batch 2 (ok)" in section
    assert "| channels_last |" in section
    assert re.search(r"### sync test \((ok|PLACEHOLDER)\)", section)


def run_without_reference(name: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        cwd=BENCHMARKS.parent,
        env={**os.environ, "MMSEG_REFERENCE_VENV": str(tmp_path / "absent")},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_zoo_speed_and_deform_attn_cost_without_the_reference_venv_say_how_to_build_it(tmp_path):
    for name, args in [
        ("zoo_speed_vs_mmseg.py", ("--families", "fcn", "--rounds", "1")),
        ("ms_deform_attn_cost.py", ("--sizes", "64", "--rounds", "1")),
    ]:
        done = run_without_reference(name, tmp_path, *args)
        assert done.returncode == 2, name + done.stdout + done.stderr
        assert "MMSeg reference venv not found" in done.stderr, name
        assert "shared/tools/mmseg-reference/setup.sh" in done.stderr, name


def test_zoo_speed_lists_a_shipped_config_for_every_family(tmp_path):
    done = run_without_reference("zoo_speed_vs_mmseg.py", tmp_path, "--list")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "50 families, every config shipped", lines[-1]
    assert (
        "pspnet         segwright/configs/pspnet/pspnet_r50-d8_4xb4-80k_ade20k-512x512.py" in lines
    )
    refused = run_without_reference("zoo_speed_vs_mmseg.py", tmp_path, "--families", "nofamily")
    assert refused.returncode == 2 and "unknown families ['nofamily']" in refused.stderr


def test_host_reads_by_family_segwright_only_prints_the_table_and_the_summary(tmp_path):
    lines = run_script("host_reads_by_family.py", "--segwright-only", "--families", "fcn")
    assert any(re.fullmatch(r"fcn: segwright reads per step \[\d+, \d+\]", x) for x in lines)
    header = "| family | segwright reads/step | MMSeg reads/step | segwright's sites |"
    assert header in lines
    row = lines[lines.index(header) + 2]
    assert re.fullmatch(r"\| fcn \| \d+(/\d+)? \| - \| .+ \|", row), row
    assert re.fullmatch(
        r"summary: segwright: [01]/1 families with 0 reads.*, [\d.]+ reads per step in total",
        lines[-1],
    ), lines[-1]
    done = run_without_reference("host_reads_by_family.py", tmp_path, "--families", "fcn")
    assert done.returncode == 2 and "MMSeg reference venv not found" in done.stderr
    assert "--segwright-only needs none" in done.stderr
