"""lmdeck's OpenCompass numbers are OpenCompass's own: the job's config is OpenCompass's dataset
configs with only `path` (and a benchmark prefix on `abbr`) replaced, and `opencompass` run on
that config directly gives the same prompts, predictions and scores item by item."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
MODEL = "demo-llama"
SWAPPED = {"path", "abbr"}  # all that lmdeck changes in a native dataset dict


def job_dir(workflow) -> Path:
    return workflow["dir"] / "results" / "raw" / "opencompass" / MODEL


def entries(workflow) -> list[dict]:
    manifest = json.loads((job_dir(workflow) / "manifest.json").read_text(encoding="utf-8"))
    return [e for e in manifest["benchmarks"] if e.get("status", "ok") == "ok"]


def loaded_config(path: Path):
    from mmengine.config import Config

    return Config.fromfile(str(path))


def test_datasets_are_the_native_configs_with_only_the_path_swapped(workflow):
    from lmdeck import formats

    config = loaded_config(job_dir(workflow) / "opencompass_config.py")
    assert config.datasets
    by_bench = {e["benchmark"]: e for e in entries(workflow)}
    for dataset in config.datasets:
        bench = next(name for name in by_bench if dataset["abbr"].startswith(f"{name}__"))
        run = by_bench[bench]["run"]
        variant = formats.get(run["format"]).variant("opencompass", run["variant"], run["shots"])
        native = getattr(importlib.import_module(variant.module), variant.variable)
        (original,) = [d for d in native if d["abbr"] == dataset["abbr"][len(bench) + 2:]]
        dataset = dict(dataset)
        if run.get("max_gen_toks"):  # the explicit, recorded generation-length override
            assert dataset["infer_cfg"]["inferencer"]["max_out_len"] == run["max_gen_toks"]
            dataset["infer_cfg"] = dict(dataset["infer_cfg"], inferencer=dict(
                dataset["infer_cfg"]["inferencer"], max_out_len=original["infer_cfg"]["inferencer"].get("max_out_len")))
            if dataset["infer_cfg"]["inferencer"]["max_out_len"] is None:
                del dataset["infer_cfg"]["inferencer"]["max_out_len"]
        changed = {k for k in set(original) | set(dataset) if original.get(k) != dataset.get(k)} - SWAPPED
        assert not changed, f"{dataset['abbr']}: lmdeck changed {sorted(changed)} of OpenCompass's own config"
        assert Path(dataset["path"]).is_absolute()


@pytest.fixture(scope="module")
def cli_run(workflow, tmp_path_factory):
    """`opencompass <the job's config>` as a user would run it, in its own work dir."""
    cwd = tmp_path_factory.mktemp("opencompass_cli")
    work = cwd / "outputs"  # OpenCompass also leaves tmp/ and icl_inference_output/ in its cwd
    config = job_dir(workflow) / "opencompass_config.py"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "opencompass.cli.main", str(config), "--debug", "-w", str(work)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run,) = [p for p in work.iterdir() if p.is_dir()]
    return run


def test_predictions_and_scores_equal_the_cli(workflow, cli_run):
    compared = 0
    for entry in entries(workflow):
        bench_dir = workflow["dir"] / entry["dir"]
        for mine in sorted((bench_dir / "predictions").glob("*.json")):
            theirs = json.loads((cli_run / "predictions" / MODEL / mine.name).read_text(encoding="utf-8"))
            ours = json.loads(mine.read_text(encoding="utf-8"))
            assert sorted(ours) == sorted(theirs), mine.name
            for key in ours:
                a, b = ours[key], theirs[key]
                assert a.get("origin_prompt") == b.get("origin_prompt"), (mine.name, key)
                assert a.get("prediction") == b.get("prediction"), (mine.name, key)
                assert a.get("gold") == b.get("gold"), (mine.name, key)
                compared += 1
            result_ours = json.loads((bench_dir / "results" / mine.name).read_text(encoding="utf-8"))
            result_theirs = json.loads((cli_run / "results" / MODEL / mine.name).read_text(encoding="utf-8"))
            numeric = {k: v for k, v in result_theirs.items() if isinstance(v, (int, float))}
            assert numeric and all(result_ours[k] == v for k, v in numeric.items()), mine.name
    assert compared > 0
