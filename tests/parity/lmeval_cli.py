"""Run lm-eval's own command line on the task folders an lmdeck run prepared, and line its
per-item records up with lmdeck's (the parity tests' shared half)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# Log-likelihoods may differ by batch padding and lmdeck-hf's up-front tokenization only.
LOGLIKELIHOOD_TOLERANCE = 1e-4


def lmdeck_benchmarks(workdir: Path, model: str) -> list[dict]:
    manifest = json.loads((workdir / "results/raw/lm-eval" / model / "manifest.json").read_text(encoding="utf-8"))
    return [e for e in manifest["benchmarks"] if e.get("status", "ok") == "ok"]


def run_cli(workdir: Path, model: str, out: Path, env_extra: dict | None = None) -> dict[str, list[dict]]:
    """One `lm_eval` call over every lm-eval benchmark the run evaluated for ``model``: the same
    generated task YAMLs (copied into one include folder), the same model and batch size, the
    CLI's own defaults for everything else. Returns {task: samples} as the CLI wrote them."""
    entries = lmdeck_benchmarks(workdir, model)
    include = out / "tasks"
    include.mkdir(parents=True)
    tasks = []
    gen = {e["run"].get("max_gen_toks") for e in entries} - {None}
    assert len(gen) <= 1, f"one CLI call needs one --gen_kwargs; the run used {gen}"
    for entry in entries:
        native = workdir / entry["run"]["data"]
        for task in json.loads((native / "index.json").read_text(encoding="utf-8")):
            shutil.copy(native / f"{task}.yaml", include / f"{task}.yaml")
            tasks.append(task)
    cmd = [
        str(BIN / "lm_eval"),
        "--model",
        "hf",
        "--model_args",
        f"pretrained={workdir / 'results/models' / model},dtype=float32",
        "--tasks",
        ",".join(sorted(tasks)),
        "--include_path",
        str(include),
        "--batch_size",
        "16",
        "--device",
        "cpu",
        "--log_samples",
        "--output_path",
        str(out / "out"),
        "--confirm_run_unsafe_code",
    ]
    if gen:
        cmd += ["--gen_kwargs", f"max_gen_toks={gen.pop()}"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env_extra or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    samples = {}
    for task in tasks:
        (path,) = (out / "out").rglob(f"samples_{task}_*.jsonl")
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    (results,) = (out / "out").rglob("results_*.json")
    samples["__results__"] = json.loads(results.read_text(encoding="utf-8"))
    return samples


def arguments(sample: dict) -> list[tuple]:
    """The request arguments in one shape: lmdeck keeps lm-eval's tuples (as lists); the CLI's
    tracker rewrites them as {"gen_args_i": {"arg_j": ...}}."""
    args = sample["arguments"]
    if isinstance(args, dict):
        return [tuple(v for _, v in sorted(a.items())) for _, a in sorted(args.items(), key=lambda kv: int(kv[0][9:]))]
    return [tuple(a) for a in args]


def compare_task(task: str, lmdeck_rows: list[dict], cli_rows: list[dict], metric_names: list[str]) -> int:
    """Item by item: same docs, same prompts, same responses (log-likelihoods within tolerance),
    same per-item metric values. Returns the number of items compared."""
    key = lambda row: (row["doc_id"], row.get("filter", "none"))  # noqa: E731
    mine, theirs = {key(r): r for r in lmdeck_rows}, {key(r): r for r in cli_rows}
    assert sorted(mine) == sorted(theirs), f"{task}: lmdeck and lm_eval evaluated different items"
    for k in sorted(mine):
        a, b = mine[k], theirs[k]
        assert a["doc"] == b["doc"], f"{task} doc {k}: different documents"
        assert arguments(a) == [tuple(x) for x in arguments(b)], f"{task} doc {k}: different prompts"
        ra, rb = a["filtered_resps"], b["filtered_resps"]
        if ra and isinstance(ra[0], list) and len(ra[0]) == 2 and isinstance(ra[0][0], float):
            for (lla, greedy_a), (llb, greedy_b) in zip(ra, rb):
                assert abs(float(lla) - float(llb)) < LOGLIKELIHOOD_TOLERANCE, f"{task} doc {k}: {lla} vs {llb}"
        else:
            assert ra == rb, f"{task} doc {k}: generations differ: {ra!r} vs {rb!r}"
        for name in metric_names:
            if name in a or name in b:
                assert a.get(name) == b.get(name), f"{task} doc {k}: {name} {a.get(name)} vs {b.get(name)}"
    return len(mine)
