"""End to end: the real Snakemake workflow runs lm-eval and OpenCompass on the demo models.

One session-scoped run (the default config minus BBH) feeds the checks below; then BBH is
added to show that only the new benchmark is evaluated, and a last run must be a no-op.
"""

import json
import math
import platform
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import jobs_run, run_snakemake
from lmdeck.settings import harness_list
from lmdeck import formats
from lmdeck.markdown import escape
from lmdeck.harness import lmeval, opencompass

pytestmark = pytest.mark.slow


def item_count(bench: dict) -> int:
    fmt = formats.get(bench["format"])
    return sum(r.split == fmt.eval_split for r in fmt.read(Path(bench["data"])))


def test_every_model_benchmark_has_a_measured_row(workflow):
    scores = pd.read_csv(workflow["dir"] / "results" / "scores.csv")
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    expected = {
        (m["name"], b["name"], h)
        for m in workflow["first"]["models"]
        for b in workflow["first"]["benchmarks"]
        for h in harness_list(b["harness"])
    }
    assert set(zip(measured["model"], measured["benchmark"], measured["harness"])) == expected
    assert measured["score"].between(0, 100).all()
    for bench in workflow["first"]["benchmarks"]:
        n = measured.loc[measured["benchmark"] == bench["name"], "n"]
        assert (n == item_count(bench)).all(), bench["name"]
    assert set(measured["harness"]) == {"lm-eval", "opencompass"}
    for column in ("harness_version", "model_sha256", "data_sha256", "started"):
        assert measured[column].notna().all() and (measured[column] != "").all(), column
    assert (measured["seconds"] > 0).all()
    # Where it ran: recorded by each harness job, shown on the deck's provenance slide.
    device = f"CPU ({platform.machine()})"
    assert (measured["device"] == device).all()
    assert f"· {escape(device)}" in (workflow["dir"] / "slides" / "bluelm.md").read_text(encoding="utf-8")


def test_reported_numbers_join_the_table(workflow):
    scores = pd.read_csv(workflow["dir"] / "results" / "scores.csv")
    reported = scores[
        (scores["source"] == "reported") & (scores["model"] == "BlueLM-7B-Base") & (scores["table"] == "base")
    ]
    by_bench = dict(zip(reported["benchmark"], reported["score"]))
    assert by_bench["MMLU"] == 55.2 and by_bench["C-Eval"] == 67.5 and by_bench["HumanEval"] == 18.3


def test_headline_is_the_named_aggregation_of_the_items(workflow):
    """Subtask rows agree with their items; the headline is computed from the items with the
    rule its `aggregation` names, over the items present."""
    scores = pd.read_csv(workflow["dir"] / "results" / "scores.csv")
    samples = pd.read_parquet(workflow["dir"] / "results" / "samples.parquet")
    measured = scores[scores["source"] == "measured"]
    for (model, bench, harness), rows in measured.groupby(["model", "benchmark", "harness"]):
        items = samples[(samples.model == model) & (samples.benchmark == bench) & (samples.harness == harness)]
        headline = rows[rows["subtask"] == "all"].iloc[0]
        assert headline["n"] == len(items) == rows[rows["subtask"] != "all"]["n"].sum(), (model, bench, harness)
        for sub in rows[rows["subtask"] != "all"].itertuples():
            mine = items[items.subtask == sub.subtask]
            assert sub.n == len(mine)
            assert math.isclose(sub.score, 100 * mine.score.sum() / mine.max_score.sum(), abs_tol=1e-3)
        per_subtask = items.groupby("subtask").apply(lambda g: 100 * g.score.sum() / g.max_score.sum())
        expected = (
            100 * items.score.sum() / items.max_score.sum()
            if headline["aggregation"] == "micro"
            else per_subtask.mean()
        )
        assert math.isclose(headline["score"], expected, abs_tol=1e-3), (model, bench, harness)
    head = measured[measured["subtask"] == "all"].set_index(["benchmark", "harness"])["aggregation"]
    assert head[("MMLU", "lm-eval")].iloc[0] == "micro" and head[("MMLU", "opencompass")].iloc[0] == "macro"


def test_samples_have_ids_prompts_and_scores(workflow):
    samples = pd.read_parquet(workflow["dir"] / "results" / "samples.parquet")
    assert not samples.duplicated(["model", "harness", "benchmark", "item_id"]).any()
    assert (samples["prompt"].str.len() > 0).all() and samples["item_id"].str.contains(r"[:#]").all()
    assert (samples["score"] <= samples["max_score"]).all() and (samples["score"] >= 0).all()


def test_lm_eval_parser_reads_a_real_run(workflow):
    bench_dir = workflow["dir"] / "results" / "raw" / "lm-eval" / "demo-llama" / "MMLU"
    raw = json.loads((bench_dir / "results.json").read_text())
    index = json.loads((bench_dir / "index.json").read_text())
    rows = lmeval.parse(bench_dir, "acc")
    assert {r["task"] for r in rows} == set(index)
    for row in rows:
        assert row["subtask"] == index[row["task"]]["subtask"]
        assert math.isclose(row["score"], 100 * raw["results"][row["task"]]["acc,none"])
        assert row["n"] == raw["n-samples"][row["task"]]["effective"] and row["shots"] == 5


def test_opencompass_parser_reads_a_real_run(workflow):
    bench_dir = workflow["dir"] / "results" / "raw" / "opencompass" / "demo-llama" / "C-Eval"
    rows = opencompass.parse(bench_dir, "accuracy")
    files = sorted((bench_dir / "results").glob("*.json"))
    assert len(rows) == len(files) > 0
    for row in rows:
        result = json.loads((bench_dir / "results" / f"{row['task']}.json").read_text())
        assert math.isclose(row["score"], result["accuracy"])
        assert 0 <= row["score"] <= 100 and row["n"] > 0


def test_tables_written(workflow):
    tables = workflow["dir"] / "results" / "tables"
    base = (tables / "base.md").read_text()
    assert "Demo LLaMA-style (measured)" in base and "55.2" in base
    # MMLU and C-Eval also ran through OpenCompass: their own row, never mixed into lm-eval's.
    assert "Demo LLaMA-style (measured, OpenCompass)" in base
    delta = pd.read_csv(tables / "reported_vs_measured.csv")
    ok = delta.dropna(subset=["Reported", "Measured"])
    assert len(ok) > 0
    assert ((ok["Measured"] - ok["Reported"] - ok["Delta"]).abs() < 0.011).all()


def test_every_measured_score_has_an_interval_and_the_deck_shows_the_statistics(workflow):
    """Issue 14 end to end: intervals on every measured row (reported rows have none), verdicts,
    the comparisons and harness agreement under results/tables/, and the deck's new slides."""
    results = workflow["dir"] / "results"
    scores = pd.read_csv(results / "scores.csv")
    measured = scores[scores["source"] == "measured"]
    assert (measured["ci_low"] <= measured["score"] + 1e-3).all() and (
        measured["score"] <= measured["ci_high"] + 1e-3
    ).all()
    assert (
        measured["ci_method"]
        .isin(["wilson", "bootstrap", "stratified bootstrap", "cluster bootstrap", "clopper-pearson"])
        .all()
    )
    boot = measured[measured["ci_method"].str.contains("bootstrap")]
    assert len(boot) and (boot["ci_resamples"] == 1000).all() and boot["ci_seed"].notna().all()
    assert scores.loc[scores["source"] == "reported", "ci_low"].isna().all()
    delta = pd.read_csv(results / "tables" / "reported_vs_measured.csv")
    assert delta["Verdict"].str.startswith("not comparable (stand-in model").all()  # the demo's random-init models
    comparisons = pd.read_csv(results / "tables" / "paired_comparisons.csv")
    assert set(comparisons["benchmark"]) >= {"MMLU", "Average"} and comparisons["p_value"].between(0, 1).all()
    agreement = pd.read_csv(results / "tables" / "harness_agreement.csv")
    assert set(agreement["benchmark"]) == {"MMLU", "C-Eval"} and (agreement["n"] == 10).all()
    deck = (workflow["dir"] / "slides" / "bluelm.md").read_text(encoding="utf-8")
    for heading in (
        "### Evaluation setup",
        "### Paired comparison: base models",
        "### Harness agreement: lm-eval vs. OpenCompass",
    ):
        assert heading in deck, heading
    assert "not comparable (stand-in model)" in deck and "Min. detectable difference" in deck


def test_adding_a_benchmark_runs_only_the_new_work_then_noop(workflow, tmp_path):
    # On a copy of the session's run (metadata and mtimes kept), so other tests see it unchanged.
    work = tmp_path / "run"
    shutil.copytree(workflow["dir"], work, symlinks=True)
    before = (work / "results" / "raw" / "opencompass" / "demo-llama" / "manifest.json").stat().st_mtime
    proc = run_snakemake(work, workflow["config"])
    assert proc.returncode == 0, proc.stderr[-5000:]
    ran = jobs_run(proc)
    assert "opencompass" not in ran and "build_model" not in ran
    assert ran.count("prepare_data") == 1
    for model in ("demo-llama", "demo-qwen2"):
        manifest = json.loads((work / "results" / "raw" / "lm-eval" / model / "manifest.json").read_text())
        fresh = [e["benchmark"] for e in manifest["benchmarks"] if not e["cached"]]
        assert fresh == ["BBH"], fresh
    assert (work / "results" / "raw" / "opencompass" / "demo-llama" / "manifest.json").stat().st_mtime == before
    deck = (work / "slides" / "bluelm.md").read_text(encoding="utf-8")
    bluelm_row = next(line for line in deck.splitlines() if line.startswith("| BlueLM-7B-Base"))
    for number in ("55.2", "67.5", "66.6", "58.9", "43.4", "27.2", "6.2", "18.3", "41.7"):
        assert f" {number} " in bluelm_row or f"**{number}**" in bluelm_row, number
    again = run_snakemake(work, workflow["config"])
    assert again.returncode == 0
    assert jobs_run(again) == [], again.stdout[-2000:]
    assert "Nothing to be done" in again.stdout + again.stderr
