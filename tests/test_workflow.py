"""End to end: the real Snakemake workflow runs lm-eval and OpenCompass on the demo models.

One session-scoped run (the default config minus BBH) feeds the checks below; then BBH is
added to show that only the new benchmark is evaluated, and a last run must be a no-op.
"""

import json
import math
import platform
import shutil

import pandas as pd
import pytest

from conftest import jobs_run, run_snakemake
from lmdeck import benchmarks
from lmdeck.markdown import escape
from lmdeck.harness import lmeval, opencompass

pytestmark = pytest.mark.slow


def item_count(bench: dict) -> int:
    return len(benchmarks.load_benchmark(bench["format"], bench["data"], bench["shots"]))


def test_every_model_benchmark_has_a_measured_row(workflow):
    scores = pd.read_csv(workflow["dir"] / "results" / "scores.csv")
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    expected = {(m["name"], b["name"]) for m in workflow["first"]["models"] for b in workflow["first"]["benchmarks"]}
    assert set(zip(measured["model"], measured["benchmark"])) == expected
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
    reported = scores[(scores["source"] == "reported") & (scores["model"] == "BlueLM-7B-Base") & (scores["table"] == "base")]
    by_bench = dict(zip(reported["benchmark"], reported["score"]))
    assert by_bench["MMLU"] == 55.2 and by_bench["C-Eval"] == 67.5 and by_bench["HumanEval"] == 18.3


def test_subtask_rows_aggregate_to_the_headline(workflow):
    scores = pd.read_csv(workflow["dir"] / "results" / "scores.csv")
    measured = scores[scores["source"] == "measured"]
    for (model, bench), rows in measured.groupby(["model", "benchmark"]):
        parts = rows[rows["subtask"] != "all"]
        headline = rows[rows["subtask"] == "all"].iloc[0]
        assert headline["n"] == parts["n"].sum()
        if headline["aggregation"] == "micro":
            expected = (parts["score"] * parts["n"]).sum() / parts["n"].sum()
        else:
            expected = parts["score"].mean()
        assert math.isclose(headline["score"], expected, abs_tol=1e-3), (model, bench)
    headlines = measured[measured["subtask"] == "all"].drop_duplicates("benchmark")
    aggregation = headlines.set_index("benchmark")["aggregation"]
    assert aggregation["C-Eval"] == "macro" and aggregation["MMLU"] == "micro"


def test_lm_eval_parser_reads_a_real_run(workflow):
    bench_dir = workflow["dir"] / "results" / "raw" / "lm-eval" / "demo-llama" / "MMLU"
    raw = json.loads((bench_dir / "results.json").read_text())
    rows = lmeval.parse(bench_dir)
    assert {r["subtask"] for r in rows} == set(json.loads((bench_dir / "tasks" / "index.json").read_text()).values())
    for row in rows:
        task = next(t for t, s in json.loads((bench_dir / "tasks" / "index.json").read_text()).items()
                    if s == row["subtask"])
        assert math.isclose(row["score"], 100 * raw["results"][task]["acc,none"])
        assert row["n"] == raw["n-samples"][task]["effective"]


def test_opencompass_parser_reads_a_real_run(workflow):
    bench_dir = workflow["dir"] / "results" / "raw" / "opencompass" / "demo-llama" / "C-Eval"
    rows = opencompass.parse(bench_dir)
    files = sorted((bench_dir / "results").glob("*.json"))
    assert len(rows) == len(files) > 0
    for row, path in zip(rows, files):
        assert math.isclose(row["score"], json.loads(path.read_text())["accuracy"])
        assert 0 <= row["score"] <= 100 and row["n"] > 0


def test_tables_written(workflow):
    tables = workflow["dir"] / "results" / "tables"
    base = (tables / "base.md").read_text()
    assert "Demo LLaMA-style (measured)" in base and "55.2" in base
    delta = pd.read_csv(tables / "reported_vs_measured.csv")
    ok = delta.dropna(subset=["Reported", "Measured"])
    assert len(ok) > 0
    assert ((ok["Measured"] - ok["Reported"] - ok["Delta"]).abs() < 0.011).all()


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
