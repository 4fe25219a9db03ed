"""lmdeck's lm-eval numbers are lm_eval's own: the CLI, run on the task folders the session's
workflow prepared, gives the same prompts, responses, per-item scores and task scores."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from parity.lmeval_cli import compare_task, lmdeck_benchmarks, run_cli

pytestmark = pytest.mark.slow
MODEL = "demo-llama"


def code_eval_env(workdir: Path) -> dict:
    """What lmdeck's harness job sets for HumanEval (its offline code_eval metric), so the CLI
    imports lm-eval's humaneval task the same way."""
    cache = workdir / "results" / "hf_modules"
    return {
        "HF_MODULES_CACHE": str(cache),
        "HF_EVALUATE_OFFLINE": "1",
        "HF_EVALUATE_CACHE": str(cache / "evaluate"),
        "HF_ALLOW_CODE_EVAL": "1",
    }


@pytest.fixture(scope="module")
def cli_run(workflow, tmp_path_factory):
    workdir = workflow["dir"]
    return run_cli(workdir, MODEL, tmp_path_factory.mktemp("lm_eval_cli"), code_eval_env(workdir))


def test_every_lm_eval_benchmark_of_the_config_is_compared(workflow, cli_run):
    configured = {
        b["name"]
        for b in workflow["first"]["benchmarks"]
        if "lm-eval" in ([b["harness"]] if isinstance(b["harness"], str) else b["harness"])
    }
    assert {e["benchmark"] for e in lmdeck_benchmarks(workflow["dir"], MODEL)} == configured


def test_items_prompts_and_scores_equal_the_cli(workflow, cli_run):
    workdir = workflow["dir"]
    compared = 0
    for entry in lmdeck_benchmarks(workdir, MODEL):
        bench_dir = workdir / entry["dir"]
        index = json.loads((bench_dir / "index.json").read_text(encoding="utf-8"))
        metric = entry["run"]["metric"].split(",")[0]
        for task in index:
            rows = [json.loads(line) for line in (bench_dir / "samples" / f"{task}.jsonl").read_text().splitlines()]
            compared += compare_task(task, rows, cli_run[task], [metric])
    assert compared > 0


def test_task_scores_in_scores_csv_are_the_clis(workflow, cli_run):
    workdir = workflow["dir"]
    scores = pd.read_csv(workdir / "results" / "scores.csv")
    mine = scores[(scores.model == MODEL) & (scores.harness == "lm-eval") & (scores.subtask != "all")]
    assert not mine.empty
    results = cli_run["__results__"]
    for row in mine.itertuples():
        values = results["results"][row.task]
        key = next(k for k in values if k == row.metric or k.startswith(row.metric + ","))
        assert math.isclose(row.score, 100 * values[key], abs_tol=1e-3), (row.task, row.score, values[key])
        assert row.n == results["n-samples"][row.task]["effective"]
        assert row.shots == results["n-shot"][row.task]


def test_generated_yamls_override_only_the_data_source(workflow):
    """Each generated task includes lm-eval's own YAML and sets nothing but where its data comes
    from (and the shots, as `lm_eval --num_fewshot` would)."""
    import yaml

    from lmdeck.harness.lmeval import tasks_root

    allowed = {"include", "task", "dataset_path", "dataset_name", "dataset_kwargs", "num_fewshot"}
    workdir = workflow["dir"]
    for entry in lmdeck_benchmarks(workdir, MODEL):
        native = workdir / entry["run"]["data"]
        for task in json.loads((native / "index.json").read_text(encoding="utf-8")):
            override = yaml.safe_load((native / f"{task}.yaml").read_text(encoding="utf-8"))
            assert set(override) <= allowed, (task, set(override) - allowed)
            builtin = Path(override["include"])
            assert builtin.is_relative_to(tasks_root()), builtin
            assert yaml.safe_load(builtin.read_text(encoding="utf-8").replace("!function", ""))["task"] == task
            assert override["dataset_path"] == "json" and override["dataset_name"] is None
            assert override["num_fewshot"] == entry["run"]["shots"]
