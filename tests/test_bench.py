"""Fast checks of the helpers behind `make bench` (bench/run.py); no lmdeck workflow runs, no timings."""

import copy
import importlib.util
import json
from pathlib import Path

import pytest

from lmdeck import config as lmconfig
from lmdeck.scores import AGGREGATE, COLUMNS
from lmdeck.settings import ReportSpec

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("lmdeck_bench_run", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLE_LOG = """\
Building DAG of jobs...
Using shell: /usr/bin/bash
Job stats:
job        count
-------  -------
all            1
deck           1
export         1
total          3

Select jobs to execute...

[Thu Nov 26 15:31:43 2026]
localrule deck:
    input: results/scores.csv, templates/slides/references.md.j2
    output: slides/bluelm.md
    jobid: 2
    reason: Updated input files: templates/slides/references.md.j2
    resources: tmpdir=/tmp

[Thu Nov  6 15:31:49 2026]
Finished jobid: 2 (Rule: deck)
1 of 3 steps (33%) done

[Thu Nov  6 15:31:49 2026]
rule export:
    output: slides/bluelm.html
    jobid: 1
[Thu Nov  6 15:32:05 2026]
Finished jobid: 1 (Rule: export)
[Thu Nov  6 15:32:05 2026]
localrule all:
    jobid: 0
    # a rule named in prose: rule deck: is not a job line
Complete log(s): /tmp/x/.snakemake/log/2026-11-26T153137.353988.snakemake.log
"""


def test_jobs_are_counted_from_the_log(bench):
    assert bench.jobs_from_log(SAMPLE_LOG) == ["deck", "export", "all"]
    assert bench.jobs_from_log("Building DAG of jobs...\nNothing to be done.\n") == []


def test_job_stats_table_is_parsed(bench):
    assert bench.job_stats(SAMPLE_LOG) == {"all": 1, "deck": 1, "export": 1, "total": 3}
    assert bench.job_stats("Nothing to be done.") == {}


def test_finish_times_follow_the_timestamps(bench):
    times = bench.finish_times(SAMPLE_LOG)
    assert set(times) == {"deck", "export"}
    assert times["export"] - times["deck"] == 16


@pytest.mark.parametrize("data", ["builtin", "local"])
def test_dag_config_validates_against_the_schema(bench, data):
    cfg = bench.dag_config(20, 60, data)
    assert len(cfg["models"]) == 20 and len(cfg["benchmarks"]) == 60
    assert {b["harness"] for b in cfg["benchmarks"]} == {"lm-eval", "opencompass"}
    assert all(m["path"].startswith("org/model-") for m in cfg["models"])
    checked = lmconfig.validate(copy.deepcopy(cfg))  # raises on any schema or cross-field problem
    if data == "builtin":
        assert all(not b.is_local for b in checked.benchmarks)
    else:
        assert all(Path(b.data).is_dir() for b in checked.benchmarks)


def test_default_config_made_absolute_still_validates(bench):
    cfg = bench.absolutize(bench.default_config())
    for b in cfg["benchmarks"]:
        assert Path(b["data"]).is_absolute() and Path(b["data"]).is_dir(), b["name"]
    assert all(Path(r["file"]).is_file() for r in cfg["reported"])
    lmconfig.validate(cfg)
    assert [b["name"] for b in bench.without_benchmark(cfg, "BBH")["benchmarks"]] == [
        b["name"] for b in cfg["benchmarks"] if b["name"] != "BBH"
    ]


def test_synthetic_scores_have_the_expected_shape(bench):
    frame, spec = bench.synthetic_scores(n_models=6, n_benchmarks=4, n_subtasks=3, n_reported=2)
    assert list(frame.columns) == COLUMNS
    measured = frame[frame["source"] == "measured"]
    assert len(measured) == 6 * 4 * (3 + 1)
    assert len(frame[frame["source"] == "reported"]) == 2 * 4
    per = measured[measured["subtask"] != AGGREGATE].groupby(["model", "harness"]).size()
    assert set(per) == {2 * 3}  # 2 benchmarks per harness x 3 subtasks
    assert set(measured["harness"]) == {"lm-eval", "opencompass"}
    assert frame["score"].between(0, 100).all()
    head = measured[measured["subtask"] == AGGREGATE]
    parts = measured[measured["subtask"] != AGGREGATE]
    sums = parts.groupby(["model", "benchmark"])["n"].sum()
    assert (head.set_index(["model", "benchmark"])["n"] == sums).all()
    assert [m["name"] for m in spec["models"]] == sorted(frame.loc[frame["source"] == "measured", "model"].unique())
    assert {b["name"] for b in spec["benchmarks"]} == set(frame["benchmark"])


def test_synthetic_scores_render_as_tables(bench, tmp_path):
    from lmdeck import tables

    frame, spec = bench.synthetic_scores(n_models=4, n_benchmarks=4, n_subtasks=2, n_reported=1)
    written = tables.write_tables(frame, ReportSpec.from_dict(spec), tmp_path)
    assert all(p.exists() for p in written)
    assert "Model 001 (measured)" in (tmp_path / "base.md").read_text()


def test_synthetic_samples_feed_the_statistics(bench):
    """Case 7's records agree with their score table and go through the statistics stage whole."""
    from lmdeck.stats import step

    frame, samples, spec = bench.synthetic_samples(n_models=10, n_benchmarks=2, n_subtasks=3, n_items=5)
    assert len(samples) == 10 * 2 * 2 * 3 * 5  # models x benchmarks x harnesses x subtasks x items
    parts = frame[frame["subtask"] != AGGREGATE].set_index(["model", "benchmark", "harness", "subtask"])["score"]
    from_items = 100 * samples.groupby(["model", "benchmark", "harness", "subtask"])["score"].mean()
    assert (parts.sort_index() - from_items.sort_index()).abs().max() < 1e-9
    with_ci = step.add_intervals(frame, samples)
    assert ((with_ci["ci_low"] <= with_ci["score"]) & (with_ci["score"] <= with_ci["ci_high"])).all()
    frames = step.compute(with_ci, samples, ReportSpec.from_dict(spec))  # as the stats_worker reads spec.json
    assert len(frames["agreement"]) == 10 * 2  # every model x benchmark through both harnesses
    base = frames["comparisons"][frames["comparisons"]["table"] == "base"]
    assert base["best_vs_rest"].all()  # eight base models (more than six): best vs rest only


@pytest.mark.slow
def test_naive_inputs_write_one_config_per_model_and_benchmark(bench, workflow, tmp_path):
    """From the session's run: per model an OpenCompass config per OpenCompass benchmark (lmdeck's
    own generator, that benchmark alone) and the lm-eval task folder per lm-eval benchmark."""
    cfg = workflow["first"]
    env = bench.naive_inputs(workflow["dir"], cfg, tmp_path / "naive")
    assert env["MODELS"].split() == [m["name"] for m in cfg["models"]]
    assert env["OPENCOMPASS_BENCHMARKS"].split() == ["MMLU", "C-Eval", "Gaokao"]
    assert env["LMEVAL_BENCHMARKS"].split()[:2] == ["MMLU", "C-Eval"] and "Gaokao" not in env["LMEVAL_BENCHMARKS"]
    configs = tmp_path / "naive" / "configs"
    written = sorted(p.relative_to(configs).as_posix() for p in configs.rglob("*.py"))
    assert written == sorted(f"{m['name']}/{b}.py" for m in cfg["models"] for b in ("C-Eval", "Gaokao", "MMLU"))
    ceval = (configs / "demo-llama" / "C-Eval.py").read_text()
    assert "ceval_ppl" in ceval and "mmlu" not in ceval and "Gaokao" not in ceval
    compile(ceval, "C-Eval.py", "exec")
    lm = (configs / "demo-llama" / "GSM8K.lmeval").read_text()
    assert "lm-eval/gsm8k" in lm and "gen_kwargs=max_gen_toks=32" in lm


def test_naive_plan_follows_the_loop_order_and_extrapolates_the_rest(bench):
    cfg = bench.absolutize(bench.default_config())
    plan = bench.naive_plan(cfg)
    checked = lmconfig.validate(copy.deepcopy(cfg))
    n_oc = len(checked.benchmarks_for("opencompass"))
    per_model = n_oc + len(checked.benchmarks_for("lm-eval"))
    assert len(plan) == len(cfg["models"]) * per_model
    assert plan[0] == ("opencompass", cfg["models"][0]["name"], "MMLU")  # naive_loop.sh's order
    assert plan[n_oc] == ("lm-eval", cfg["models"][0]["name"], "MMLU")
    assert [m for _, m, _ in plan[per_model:]] == [cfg["models"][1]["name"]] * per_model
    first = cfg["models"][0]["name"]
    measured = [
        {"harness": h, "model": m, "benchmark": b, "s": 10.0 if h == "lm-eval" else 30.0}
        for h, m, b in plan
        if m == first
    ]
    next(r for r in measured if r["benchmark"] == "MMLU" and r["harness"] == "lm-eval")["s"] = 20.0  # first model
    rest, estimates = bench.extrapolate(plan, measured)
    assert len(estimates) == len(plan) - len(measured)
    by = {(e["harness"], e["benchmark"]): e["s"] for e in estimates}
    assert by[("lm-eval", "MMLU")] == 20.0 and by[("lm-eval", "BBH")] == 10.0
    assert by[("opencompass", "Gaokao")] == 30.0 and by[("opencompass", "MMLU")] == 30.0
    assert rest == sum(e["s"] for e in estimates)
    assert bench.extrapolate(plan, [{"harness": h, "model": m, "benchmark": b, "s": 1.0} for h, m, b in plan]) == (
        0,
        [],
    )


def test_dag_job_count_formula(bench):
    assert bench.dag_jobs(20, 60, "builtin") == 107
    assert bench.dag_jobs(20, 60, "local") == 107


def test_results_table_marks_pass_and_fail(bench):
    results = {
        "started": "2026-01-01T00:00:00",
        "machine": "test",
        "total_wall_s": 1.0,
        "cases": [
            {
                "id": 2,
                "name": "no-op / floor",
                "value": 1.3,
                "unit": "ratio",
                "goal": 1.25,
                "pass": False,
                "note": "2.60 s / 2.00 s",
                "details": {"walls_s": [2.6], "floor_walls_s": [2.0]},
            },
            {
                "id": 6,
                "name": "render",
                "value": 12.0,
                "unit": "s",
                "goal": 10.0,
                "pass": False,
                "details": {"rows": 10, "peak_rss_mib": 100, "phases_s": {}},
            },
            {
                "id": 4,
                "name": "add",
                "value": "not run",
                "unit": "",
                "goal": "BBH only",
                "pass": None,
                "note": "skipped: time budget",
                "details": {},
            },
        ],
    }
    text = bench.markdown(results)
    assert "| 2 | no-op / floor | 1.300 (2.60 s / 2.00 s) | ≤ 1.25 | FAIL |" in text
    assert "run in turn with them: [2.0] s." in text
    assert "| 6 | render | 12.00 s | ≤ 10 s | FAIL |" in text
    assert "| 4 | add | not run (skipped: time budget) | BBH only | SKIPPED |" in text
    json.dumps(results)


def test_noop_runs_take_turns_with_the_floor(bench, tmp_path):
    """lmdeck's no-op and the floor's alternate (ABBA...), so both see the same machine."""
    import sys

    order = tmp_path / "order.txt"
    note = "import sys; open(sys.argv[1], 'a').write(sys.argv[2])"
    commands = {name: ([sys.executable, "-c", note, order, name], tmp_path, tmp_path / "logs") for name in "AB"}
    runs = bench.interleaved(commands, 5)
    assert order.read_text() == "ABBAABBAAB"
    assert [len(runs[n]) for n in "AB"] == [5, 5] and all(r["rc"] == 0 for n in "AB" for r in runs[n])
    assert bench.NOOP_RUNS >= 5 and bench.NOOP_GOAL == 1.25


def test_floor_is_a_one_rule_noop(bench, tmp_path):
    cmd = bench.floor_workflow(tmp_path / "floor")
    assert (tmp_path / "floor" / "Snakefile").read_text().count("rule ") == 1
    run = bench.measure(cmd, tmp_path / "floor", tmp_path / "floor.log")
    assert run["rc"] == 0 and "Nothing to be done" in run["text"], run["text"][-2000:]
