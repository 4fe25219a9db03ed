"""GPU parity check for the lm-eval half of the pipeline, for machines without Snakemake or
OpenCompass: the demo model scored through lmdeck's lm-eval adapter on the CPU and on CUDA,
same prepared demo data; scores must agree within float tolerance. (bench/gpu-check.sh runs
the whole workflow through the local profile where the full environment is installed.)

    python bench/gpu_parity.py --out parity.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

BENCHMARKS = [("MMLU", "mmlu", 5), ("CMMLU", "cmmlu", 5), ("GSM8K", "gsm8k", 4), ("BBH", "bbh", 3)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--devices", default="cpu,cuda", help="the two devices to compare")
    parser.add_argument("--tolerance", type=float, default=0.01, help="points on the 0-100 scale")
    args = parser.parse_args()

    import torch

    from lmdeck import config as lmconfig
    from lmdeck.demo_models import build_model
    from lmdeck.settings import (
        Benchmark,
        Build,
        JobBenchmark,
        JobModel,
        JobSpec,
        Limits,
        NativeRun,
        PrepareSpec,
        with_schema_defaults,
    )
    from lmdeck.harness import lmeval
    from lmdeck.prepare import prepare

    work = Path(tempfile.mkdtemp(prefix="lmdeck-parity-"))
    model_dir = build_model(work / "demo-llama", Build.with_defaults("llama", corpus=ROOT / "data" / "demo", seed=1))
    benches = []
    for name, fmt, shots in BENCHMARKS:
        entry = {"name": name, "category": "exams", "harness": "lm-eval", "format": fmt, "shots": shots}
        run = lmconfig.harness_run(Benchmark.from_dict(with_schema_defaults(entry, "benchmarks")), "lm-eval")
        folder = str(ROOT / "data" / "demo" / fmt)
        prepare(
            PrepareSpec(name, fmt, folder, (NativeRun("lm-eval", run.variant, shots),), Limits.default()),
            work / "data" / name,
        )
        benches.append(
            JobBenchmark(
                name=name,
                format=fmt,
                variant=run.variant,
                shots=shots,
                metric=run.metric,
                aggregation=run.aggregation,
                max_gen_toks=32,
                data=str(work / "data" / name / "lm-eval" / run.variant),
                builtin=False,
            )
        )

    report = {"device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none", "runs": {}}
    scores = {}
    first, second = args.devices.split(",")
    for device in (first, second):
        model = JobModel.with_defaults("demo-llama", str(model_dir), dtype="float32", device=device, batch_size=16)
        spec = JobSpec("lm-eval", model, tuple(benches), allow_code_execution=False, code_timeout_s=10)
        manifest = work / f"run-{len(scores)}" / "manifest.json"
        start = time.perf_counter()
        lmeval.run(spec, manifest)
        seconds = time.perf_counter() - start
        scores[device] = {
            b.name: [round(r["score"], 4) for r in lmeval.parse(manifest.parent / b.name, b.metric)] for b in benches
        }
        report["runs"][device] = {"seconds": round(seconds, 2), "scores": scores[device]}
    diffs = [abs(a - b) for name in scores[first] for a, b in zip(scores[first][name], scores[second][name])]
    report["max_abs_diff"] = max(diffs)
    report["pass"] = report["max_abs_diff"] <= args.tolerance
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
