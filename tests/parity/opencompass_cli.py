"""Run OpenCompass's own command line on a config an lmdeck job generated, and line its
predictions and results up with the ones lmdeck kept (the parity tests' shared half)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run_cli(config: Path, cwd: Path) -> Path:
    """`python -m opencompass.cli.main <config> --debug` as a user would run it; its run folder."""
    work = cwd / "outputs"  # OpenCompass also leaves tmp/ and icl_inference_output/ in its cwd
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "opencompass.cli.main", str(config), "--debug", "-w", str(work)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run,) = [p for p in work.iterdir() if p.is_dir()]
    return run


def compare_benchmark(bench_dir: Path, run: Path, model: str) -> int:
    """Item by item: the same prompts, predictions and golds, and the same numbers in each
    dataset's results. Returns the number of items compared."""
    compared = 0
    for mine in sorted((bench_dir / "predictions").glob("*.json")):
        theirs = json.loads((run / "predictions" / model / mine.name).read_text(encoding="utf-8"))
        ours = json.loads(mine.read_text(encoding="utf-8"))
        assert sorted(ours) == sorted(theirs), mine.name
        for key in ours:
            a, b = ours[key], theirs[key]
            for field in ("origin_prompt", "prediction", "gold"):
                assert a.get(field) == b.get(field), (mine.name, key, field)
            compared += 1
        result_ours = json.loads((bench_dir / "results" / mine.name).read_text(encoding="utf-8"))
        result_theirs = json.loads((run / "results" / model / mine.name).read_text(encoding="utf-8"))
        numeric = {k: v for k, v in result_theirs.items() if isinstance(v, (int, float))}
        assert numeric and all(result_ours[k] == v for k, v in numeric.items()), mine.name
    return compared
