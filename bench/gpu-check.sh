#!/usr/bin/env bash
# GPU check: the demo pipeline through the local profile on CUDA gives the CPU run's scores.
#
#   bench/gpu-check.sh [--device cuda] [--gpus N] [--benchmarks MMLU,C-Eval,...] [--out DIR]
#                      [--tolerance POINTS] [--cpu-scores results/scores.csv]
#
# 1. writes two configs from the default one (config/config.yaml, paths made absolute, paper
#    preview off): the reference with `device: cpu, gpus: 0`, the check with `device: <device>,
#    gpus: 1` on every model;
# 2. runs both to results/scores.csv with `--profile profiles/local` (`--resources gpu=N`, so the
#    GPU jobs queue for the card; CPU jobs run beside them), each in its own working directory.
#    The demo models are built by the workflow's build_model jobs (seeded random init, on the
#    CPU: building on CUDA would not be meaningful); the model_sha256 column shows that both
#    runs evaluated the same weights;
# 3. compares the measured scores (same rows; |score difference| <= tolerance points) and prints
#    wall times for both runs and per harness job (Snakemake `benchmark:` files).
#
# --device cpu is a dry mode for machines without a GPU: the same steps, CPU against CPU (the
# scores must then be identical), e.g. `bench/gpu-check.sh --device cpu --benchmarks MMLU,C-Eval`.
# --cpu-scores reuses a CPU scores.csv of the same config instead of running the reference.
# Writes <out>/gpu-check.json and <out>/gpu-check.md; exit status 0 only when the scores agree.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
SNAKEMAKE=${SNAKEMAKE:-$ROOT/.venv/bin/snakemake}
DEVICE=cuda
GPUS=""
BENCHMARKS=""
OUT=""
TOLERANCE=0.01
CPU_SCORES=""

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while (($#)); do
  case $1 in
    --device) DEVICE=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --benchmarks) BENCHMARKS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --tolerance) TOLERANCE=$2; shift 2 ;;
    --cpu-scores) CPU_SCORES=$(realpath "$2"); shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "gpu-check: unknown argument $1" >&2; usage 2 ;;
  esac
done

[[ -x $PY && -x $SNAKEMAKE ]] || { echo "gpu-check: no venv at $ROOT/.venv (run: make setup)" >&2; exit 2; }
export PATH="$(dirname "$PY"):$PATH"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1  # the demo needs no hub

if [[ $DEVICE == cpu ]]; then
  GPUS=${GPUS:-0}
  echo "gpu-check: --device cpu: dry mode, CPU against CPU"
else
  "$PY" - "$DEVICE" <<'EOF' || exit 2
import sys
import torch
device = sys.argv[1]
if not torch.cuda.is_available():
    sys.exit(f"gpu-check: torch {torch.__version__} sees no CUDA device (a CPU-only build? "
             "install a CUDA build of the pinned torch version); use --device cpu for the dry mode")
index = torch.device(device).index or 0
print(f"gpu-check: torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s); "
      f"{device} = {torch.cuda.get_device_name(index)}")
EOF
  GPUS=${GPUS:-$("$PY" -c 'import torch; print(torch.cuda.device_count())')}
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/lmdeck-gpu-check.XXXXXX")}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
echo "gpu-check: working in $OUT"

# The two configs.
"$PY" - "$ROOT" "$OUT" "$DEVICE" "$BENCHMARKS" <<'EOF'
import copy, sys
from pathlib import Path
import yaml

root, out, device, benchmarks = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
config = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
from lmdeck.config import with_absolute_paths
config = with_absolute_paths(config, root / "config")  # its paths are relative to config/
config["report"].get("paper", {}).pop("pdf", None)  # scores only: no paper preview
if benchmarks:
    wanted = benchmarks.split(",")
    unknown = set(wanted) - {b["name"] for b in config["benchmarks"]}
    if unknown:
        sys.exit(f"gpu-check: unknown benchmarks {sorted(unknown)}")
    config["benchmarks"] = [b for b in config["benchmarks"] if b["name"] in wanted]
for name, dev, gpus in (("cpu", "cpu", 0), ("device", device, 0 if device == "cpu" else 1)):
    variant = copy.deepcopy(config)
    for model in variant["models"]:
        model["device"], model["gpus"] = dev, gpus
    (out / f"{name}.yaml").write_text(yaml.safe_dump(variant, allow_unicode=True, sort_keys=False), encoding="utf-8")
print(f"gpu-check: {len(config['models'])} models x {len(config['benchmarks'])} benchmarks")
EOF

run() {  # run NAME GPUS: the workflow up to scores.csv through the local profile; prints its wall seconds
  local name=$1 gpus=$2 start end
  start=$(date +%s.%N)
  if ! "$SNAKEMAKE" results/scores.csv -s "$ROOT/Snakefile" --directory "$OUT/$name" \
      --configfile "$OUT/$name.yaml" --profile "$ROOT/profiles/local" --resources gpu="$gpus" >"$OUT/$name.log" 2>&1; then
    echo "gpu-check: the $name run failed; last lines of $OUT/$name.log:" >&2
    tail -n 40 "$OUT/$name.log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  "$PY" -c "print(round($end - $start, 1))"
}

if [[ -n $CPU_SCORES ]]; then
  mkdir -p "$OUT/cpu/results"
  cp "$CPU_SCORES" "$OUT/cpu/results/scores.csv"
  CPU_WALL=null
  echo "gpu-check: CPU reference: $CPU_SCORES"
else
  echo "gpu-check: CPU reference run ..."
  CPU_WALL=$(run cpu 0)
  echo "gpu-check: CPU run: ${CPU_WALL}s"
fi
echo "gpu-check: $DEVICE run (gpu=$GPUS) ..."
DEVICE_WALL=$(run device "$GPUS")
echo "gpu-check: $DEVICE run: ${DEVICE_WALL}s"

# Compare and report.
"$PY" - "$OUT" "$DEVICE" "$TOLERANCE" "$CPU_WALL" "$DEVICE_WALL" <<'EOF'
import json, math, sys
from pathlib import Path
import pandas as pd

out, device, tolerance = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
walls = {"cpu": None if sys.argv[4] == "null" else float(sys.argv[4]), "device": float(sys.argv[5])}
key = ["model", "benchmark", "subtask", "harness", "metric", "shots"]

def measured(name):
    frame = pd.read_csv(out / name / "results" / "scores.csv")
    return frame[frame["source"] == "measured"].set_index(key).sort_index()

cpu, dev = measured("cpu"), measured("device")
problems = []
if set(cpu.index) != set(dev.index):
    problems.append(f"different rows: only CPU {sorted(set(cpu.index) - set(dev.index))}, "
                    f"only {device} {sorted(set(dev.index) - set(cpu.index))}")
both = cpu.index.intersection(dev.index)
diff = (dev.loc[both, "score"] - cpu.loc[both, "score"]).abs()
worst = diff[diff > tolerance]
for index, value in worst.items():
    problems.append(f"{'/'.join(map(str, index))}: CPU {cpu.loc[index, 'score']:.4f} vs {device} "
                    f"{dev.loc[index, 'score']:.4f} (|diff| {value:.4f} > {tolerance})")
if "model_sha256" in cpu and not (cpu.loc[both, "model_sha256"] == dev.loc[both, "model_sha256"]).all():
    problems.append("the two runs evaluated different model weights (model_sha256 differs)")

def job_seconds(name):
    rows = {}
    for tsv in sorted((out / name / "benchmarks").glob("*/*.tsv")):
        if tsv.parent.name in ("lm_eval", "opencompass", "build_model"):
            rows[f"{tsv.parent.name}/{tsv.stem}"] = float(pd.read_csv(tsv, sep="\t")["s"].iloc[0])
    return rows

jobs = {"cpu": job_seconds("cpu"), "device": job_seconds("device")}
summary = {"device": device, "tolerance_points": tolerance, "rows_compared": int(len(both)),
           "max_abs_diff": float(diff.max()) if len(diff) else math.nan, "wall_s": walls, "job_s": jobs,
           "problems": problems, "ok": not problems}
(out / "gpu-check.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
lines = [f"# lmdeck GPU check: {device} vs cpu", "",
         f"{len(both)} measured rows compared; max |score difference| {summary['max_abs_diff']:.6f} points "
         f"(tolerance {tolerance}).", "", f"| | cpu (reference) | {device} |", "|---|---:|---:|",
         f"| workflow wall (s) | {walls['cpu'] if walls['cpu'] is not None else '-'} | {walls['device']} |"]
for job in sorted(set(jobs["cpu"]) | set(jobs["device"])):
    lines.append(f"| {job} (s) | {jobs['cpu'].get(job, '-')} | {jobs['device'].get(job, '-')} |")
lines += ["", "Result: " + ("OK, the scores agree." if not problems else "MISMATCH"), *[f"- {p}" for p in problems]]
(out / "gpu-check.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
print("\n".join(lines))
sys.exit(0 if not problems else 1)
EOF
