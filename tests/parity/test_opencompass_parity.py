"""lmdeck's OpenCompass numbers are OpenCompass's own: the job's config is OpenCompass's dataset
configs with only `path` (and a benchmark prefix on `abbr`) replaced, and `opencompass` run on
that config directly gives the same prompts, predictions and scores item by item."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from parity.opencompass_cli import compare_benchmark, run_cli

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
        (original,) = [d for d in native if d["abbr"] == dataset["abbr"][len(bench) + 2 :]]
        dataset = dict(dataset)
        if run.get("max_gen_toks"):  # the explicit, recorded generation-length override
            assert dataset["infer_cfg"]["inferencer"]["max_out_len"] == run["max_gen_toks"]
            dataset["infer_cfg"] = dict(
                dataset["infer_cfg"],
                inferencer=dict(
                    dataset["infer_cfg"]["inferencer"],
                    max_out_len=original["infer_cfg"]["inferencer"].get("max_out_len"),
                ),
            )
            if dataset["infer_cfg"]["inferencer"]["max_out_len"] is None:
                del dataset["infer_cfg"]["inferencer"]["max_out_len"]
        changed = {k for k in set(original) | set(dataset) if original.get(k) != dataset.get(k)} - SWAPPED
        assert not changed, f"{dataset['abbr']}: lmdeck changed {sorted(changed)} of OpenCompass's own config"
        assert Path(dataset["path"]).is_absolute()


@pytest.fixture(scope="module")
def cli_run(workflow, tmp_path_factory):
    """`opencompass <the job's config>` as a user would run it, in its own work dir."""
    return run_cli(job_dir(workflow) / "opencompass_config.py", tmp_path_factory.mktemp("opencompass_cli"))


def test_predictions_and_scores_equal_the_cli(workflow, cli_run):
    compared = sum(compare_benchmark(workflow["dir"] / entry["dir"], cli_run, MODEL) for entry in entries(workflow))
    assert compared > 0
