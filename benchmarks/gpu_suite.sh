#!/usr/bin/env bash
# The GPU figures of issue 19 (part 4) in one prepared run: overhead.py, speed.py (channels_last,
# AMP fp16 and bf16, compile, cudnn_benchmark; and part 2's pin_memory and prefetch_to_device
# with 2 loader workers) and the host-device sync test, on CUDA. Writes a
# GPU section (img/s, peak memory, device, date, commit) to a Markdown file for RESULTS.md.
#
#   bash benchmarks/gpu_suite.sh                  # on a CUDA machine: about 9 minutes on one H100
#   bash benchmarks/gpu_suite.sh --dry-run        # anywhere: the CPU smoke steps, tiny sizes
#   bash benchmarks/gpu_suite.sh --out FILE       # where the section goes
#
# Without CUDA (or with --dry-run) it says so, runs every step at tiny size on the CPU (so the
# script, the benchmarks' options and the section writer stay checked) and exits 0; the section
# it writes is then headed "DRY RUN" and holds no GPU figure.
# Every step runs under its own `timeout` (STEP_SECONDS below) so the whole suite ends within
# 10 minutes; a step that runs out of time is reported as such and the others still run.
# Environment: PYTHON (default .venv/bin/python, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
OUT_FILE=""
DRY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --dry-run) DRY=1 ;;
    --out) OUT_FILE=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "gpu_suite.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/gpu_suite.XXXXXX")
say() { echo "[gpu_suite $(date -u +%H:%M:%S)] $*"; }

CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [[ $CUDA == 1 && $DRY == 0 ]]; then
  MODE=gpu
  OUT_FILE=${OUT_FILE:-benchmarks/results_gpu.md}
  SYNC_K="cuda"
  # step: seconds allowed (sum 540 s, under the 10 minutes with start-up and the writer)
  declare -A STEP_SECONDS=(
    [overhead]=90 [speed_unet]=180 [speed_pspnet]=110 [speed_data]=80 [sync]=80)
  OVERHEAD=(--device cuda --models toy unet pspnet --workers 0 2 --rounds 3 --iters 40 --no-warm-run)
  SPEED_UNET=(--model unet --device cuda --rounds 2 --iters 40 --warmup 10)
  # compile of PSPNet-R50 costs minutes of inductor time: left to the UNet row
  SPEED_PSPNET=(--model pspnet --device cuda --rounds 1 --iters 20 --warmup 5
    --options channels_last amp-fp16 amp-bf16 cudnn-benchmark)
  # issue 19 part 2: pinned vs pageable batches, then the one-batch prefetch on a side stream
  SPEED_DATA=(--model unet --device cuda --rounds 2 --iters 40 --warmup 10 --workers 2
    --pin-memory --prefetch-to-device)
else
  MODE=dry
  OUT_FILE=${OUT_FILE:-$LOGS/gpu_section_dry_run.md}
  SYNC_K="toy"
  if [[ $DRY == 1 ]]; then say "--dry-run: CPU smoke steps only, tiny sizes"
  else say "no CUDA device here: running the CPU smoke steps only (tiny sizes); no GPU figures"; fi
  declare -A STEP_SECONDS=([overhead]=120 [speed_unet]=150 [speed_data]=120 [sync]=120)
  OVERHEAD=(--device cpu --models toy --workers 0 --rounds 1 --iters 4 --no-warm-run --threads 1)
  SPEED_UNET=(--model toy --device cpu --rounds 1 --iters 2 --warmup 1 --threads 1
    --options channels_last)
  SPEED_PSPNET=()
  SPEED_DATA=(--model toy --device cpu --rounds 1 --iters 2 --warmup 1 --threads 1
    --pin-memory --prefetch-to-device)
fi
say "mode $MODE, python $PY, logs in $LOGS, section -> $OUT_FILE"

step() {  # step NAME COMMAND...: runs under its timeout, output to $LOGS/NAME.log, status kept
  local name=$1; shift
  local seconds=${STEP_SECONDS[$name]}
  say "$name (at most ${seconds} s): $*"
  timeout --kill-after=10 "$seconds" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  echo "$rc" > "$LOGS/$name.rc"
  tail -n 3 "$LOGS/$name.log" | sed 's/^/    /'
  say "$name: exit $rc"
}

step overhead "$PY" benchmarks/overhead.py "${OVERHEAD[@]}"
step speed_unet "$PY" benchmarks/speed.py "${SPEED_UNET[@]}"
if [[ ${#SPEED_PSPNET[@]} -gt 0 ]]; then
  step speed_pspnet "$PY" benchmarks/speed.py "${SPEED_PSPNET[@]}"
fi
step speed_data "$PY" benchmarks/speed.py "${SPEED_DATA[@]}"

# The sync test (issue 19, part 1): on CUDA, tests/engine/test_sync_free_iterations.py's
# test_cuda_sync_debug_mode_error_passes_between_log_lines runs the toy, the demo UNet and a tiny
# PSPNet in fp32 and bf16 with torch.cuda.set_sync_debug_mode('error') over the iterations between
# log lines; on the CPU (dry run) the same file counts host reads instead.
SYNC_FILES=$(ls tests/engine/*sync*.py 2>/dev/null | tr '\n' ' ')
if [[ -z $SYNC_FILES ]]; then
  echo "PLACEHOLDER: no tests/engine/*sync*.py yet; nothing run" > "$LOGS/sync.log"
  echo "skipped" > "$LOGS/sync.rc"
  say "sync: PLACEHOLDER (no sync test under tests/engine yet)"
elif [[ $MODE == gpu ]] && ! grep -qiE "def test_[a-z0-9_]*cuda" $SYNC_FILES; then
  echo "PLACEHOLDER: $SYNC_FILES has no CUDA test yet (it counts host reads on the CPU);" \
    "the set_sync_debug_mode('error') check is still to be written" > "$LOGS/sync.log"
  echo "skipped" > "$LOGS/sync.rc"
  say "sync: PLACEHOLDER (no CUDA variant of the sync test yet)"
else
  # shellcheck disable=SC2086
  step sync "$PY" -m pytest -q -p no:cacheprovider $SYNC_FILES -k "$SYNC_K"
fi

# The section: parsed from the steps' logs.
MODE=$MODE LOGS=$LOGS OUT_FILE=$OUT_FILE "$PY" - <<'PYEOF'
import datetime, os, re, subprocess
from pathlib import Path

import torch

logs, mode = Path(os.environ["LOGS"]), os.environ["MODE"]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
device = torch.cuda.get_device_name(0) if mode == "gpu" else "CPU (no GPU figures)"
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def read(name):
    path = logs / f"{name}.log"
    rc = (logs / f"{name}.rc").read_text().strip() if (logs / f"{name}.rc").exists() else "not run"
    return (path.read_text() if path.exists() else ""), rc


def status(rc):
    return {"0": "ok", "124": "TIMED OUT", "137": "TIMED OUT (killed)"}.get(rc, f"exit {rc}")


out = ["## GPU figures" if mode == "gpu" else "## GPU figures: DRY RUN on the CPU (no GPU figures)"]
out += ["", f"device: {device}; torch {torch.__version__}; date: {date}; "
        f"commit {commit.stdout.strip() or 'unknown'}; `bash benchmarks/gpu_suite.sh`", ""]
text, rc = read("overhead")
out += [f"### overhead.py ({status(rc)})", ""]
out += [line for line in text.splitlines() if line.startswith("|")] or ["(no table)"]
ratios = dict.fromkeys(line for line in text.splitlines() if line.startswith("ratio ("))
out += [""] + [f"    {line}" for line in ratios] + [""]
for name in ("speed_unet", "speed_pspnet", "speed_data"):
    text, rc = read(name)
    if rc == "not run":
        continue
    batch = re.search(r"^(\w+), batch (\d+)", text, re.M)
    model, size = (batch.group(1), int(batch.group(2))) if batch else (name, 0)
    workers = re.search(r"num_workers (\d+)$", text, re.M)
    what = f", feeding the device, num_workers {workers.group(1)}" if name == "speed_data" else ""
    out += [f"### speed.py, {model}, batch {size}{what} ({status(rc)})", ""]
    out += ["| option | ms/iter | img/s | peak memory MiB | fp32 ms/iter | fp32 img/s | ratio |"]
    out += ["|---|---|---|---|---|---|---|"]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 7 or not line.startswith("| ") or cells[0] == "option":
            continue
        try:
            ms, base = float(cells[1]), float(cells[5])
        except ValueError:  # a failed option: its message
            out.append(f"| {cells[0]} | {cells[1]} | | | | | |")
            continue
        ips = f"{size * 1000 / ms:.1f}" if size else "?"
        base_ips = f"{size * 1000 / base:.1f}" if size else "?"
        out.append(f"| {cells[0]} | {ms:.2f} | {ips} | {cells[4]} | {base:.2f} | {base_ips} | {cells[6]} |")
    if name == "speed_data":
        out += ["", "fp32 columns: pin-memory's is the run with pin_memory=False; "
                "prefetch-to-device's is the defaults (pinned on CUDA), so its ratio is the prefetch alone."]
    out.append("")
text, rc = read("sync")
out += [f"### sync test ({'PLACEHOLDER' if rc == 'skipped' else status(rc)})", ""]
out += [f"    {line}" for line in text.strip().splitlines()[-3:]] + [""]
Path(os.environ["OUT_FILE"]).write_text("\n".join(out))
print("\n".join(out))
PYEOF
say "section written: $OUT_FILE"
if [[ $MODE == dry ]]; then
  say "done (CPU smoke only). On a CUDA machine run: bash benchmarks/gpu_suite.sh"
fi
exit 0
