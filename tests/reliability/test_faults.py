"""Faults, each really done: a harness job that crashes, a job killed mid-run, broken harness
output, and repeated runs that must change nothing."""

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from conftest import BIN, ROOT, absolutize, default_config, jobs_run, run_snakemake
from lmdeck.harness import lmeval, opencompass

pytestmark = pytest.mark.slow
SCORE_COLUMNS = ["model", "benchmark", "subtask", "harness", "metric", "shots", "score", "stderr", "n"]


def small_config(benchmarks: tuple[str, ...], models: int = 1, harness: str | None = None) -> dict:
    """The default config cut to some benchmarks (and, with `harness`, to that harness alone)."""
    config = absolutize(default_config())
    config["models"] = config["models"][:models]
    config["benchmarks"] = [b for b in config["benchmarks"] if b["name"] in benchmarks]
    if harness:
        config["benchmarks"] = [{**b, "harness": harness} for b in config["benchmarks"]]
    config["report"]["sections"] = ["title", "results"]
    return config


@pytest.fixture(scope="module")
def crash_config(tmp_path_factory):
    """The demo model plus one whose folder looks like a model (so the parse lets it through) but
    whose weights are garbage: its jobs crash on load."""
    empty = tmp_path_factory.mktemp("broken-model")
    (empty / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    (empty / "model.safetensors").write_bytes(b"not weights")
    config = small_config(("MMLU", "C-Eval"))
    # One harness each (MMLU through lm-eval, C-Eval through OpenCompass) keeps this run short.
    config["benchmarks"] = [
        {**b, "harness": "lm-eval" if b["name"] == "MMLU" else "opencompass"} for b in config["benchmarks"]
    ]
    config["models"].append({"name": "broken", "path": str(empty), "kind": "base"})
    return config


def test_keep_going_finishes_everything_else_and_names_the_failure(crash_config, tmp_path):
    # The deck's Markdown is the target: the export adds nothing here but minutes of CI.
    proc = run_snakemake(tmp_path, crash_config, "--keep-going", "slides/bluelm.md")
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = pd.read_csv(tmp_path / "results" / "scores.csv")
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    assert set(zip(measured["model"], measured["benchmark"])) == {("demo-llama", "MMLU"), ("demo-llama", "C-Eval")}
    failures = pd.read_csv(tmp_path / "results" / "failures.csv")
    assert set(zip(failures["model"], failures["benchmark"], failures["harness"], failures["log"])) == {
        ("broken", "MMLU", "lm-eval", "logs/lm_eval/broken.log"),
        ("broken", "C-Eval", "opencompass", "logs/opencompass/broken.log"),
    }
    deck = (tmp_path / "slides" / "bluelm.md").read_text(encoding="utf-8")
    assert "broken × MMLU (failed, log: logs/lm\\_eval/broken.log)" in deck
    broken_row = next(line for line in deck.splitlines() if line.startswith("| broken (measured)"))
    assert broken_row.count("–") >= 3 and "0.0" not in broken_row
    # The next run retries only the failed jobs.
    again = run_snakemake(tmp_path, crash_config, "--keep-going", "-n")
    ran = jobs_run(again)
    assert ran.count("lm_eval") == 1 and ran.count("opencompass") == 1 and "build_model" not in ran


def test_without_keep_going_the_run_stops_naming_the_log(crash_config, tmp_path):
    config = {
        **crash_config,
        "benchmarks": [{**b, "harness": "lm-eval"} for b in crash_config["benchmarks"] if b["name"] == "MMLU"],
    }
    proc = run_snakemake(tmp_path, config, "results/scores.csv")
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "logs/lm_eval/broken.log" in output
    assert not (tmp_path / "results" / "scores.csv").exists()


def wait_for(path, proc, timeout=600):
    start = time.time()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"snakemake ended before {path} appeared: {proc.stdout.read()[-3000:]}")
        if time.time() - start > timeout:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.2)


def test_sigkill_mid_job_then_rerun_incomplete_reruns_only_that_job(workflow, tmp_path):
    config = small_config(("MMLU", "CMMLU", "AGIEval"), harness="lm-eval")
    killed = tmp_path / "killed"
    killed.mkdir()
    (killed / "config.yaml").write_text(json.dumps(config), encoding="utf-8")
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(killed),
        "--configfile",
        str(killed / "config.yaml"),
        "--cores",
        "2",
        "results/scores.csv",
    ]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
    )
    try:
        wait_for(killed / "results/raw/lm-eval/demo-llama/MMLU/run.json", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the workflow and the harness job, mid-run
        proc.wait()
    assert not (killed / "results/raw/lm-eval/demo-llama/manifest.json").exists()

    run_snakemake(killed, config, "--unlock")
    again = run_snakemake(killed, config, "--rerun-incomplete", "results/scores.csv")
    assert again.returncode == 0, again.stderr[-3000:]
    assert jobs_run(again) == ["lm_eval", "merge_scores"], jobs_run(again)
    manifest = json.loads((killed / "results/raw/lm-eval/demo-llama/manifest.json").read_text())
    assert {e["benchmark"]: e["cached"] for e in manifest["benchmarks"]}["MMLU"] is True

    # A clean run of the same model (same seed, same data) is the session's workflow run.
    after_kill = pd.read_csv(killed / "results/scores.csv")
    reference = pd.read_csv(workflow["dir"] / "results/scores.csv")

    def pick(f):
        rows = f[
            (f["source"] == "measured")
            & (f["model"] == "demo-llama")
            & (f["harness"] == "lm-eval")
            & f["benchmark"].isin(["MMLU", "CMMLU", "AGIEval"])
        ]
        return rows[SCORE_COLUMNS].sort_values(["benchmark", "subtask"]).reset_index(drop=True)

    pd.testing.assert_frame_equal(pick(after_kill), pick(reference))


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda r, t: r["results"][t].pop("acc,none"), "no metric 'acc'"),
        (lambda r, t: r["results"][t].update({"acc,none": float("nan")}), "outside 0-1"),
        (lambda r, t: r["results"][t].update({"acc,none": 1.7}), "outside 0-1"),
        (lambda r, t: r["results"][t].update({"acc,none": "high"}), "not a number"),
    ],
)
def test_broken_lm_eval_output_is_a_clear_error(workflow, tmp_path, damage, message):
    bench_dir = tmp_path / "MMLU"
    shutil.copytree(workflow["dir"] / "results/raw/lm-eval/demo-llama/MMLU", bench_dir)
    results = json.loads((bench_dir / "results.json").read_text())
    task = sorted(results["results"])[0]
    damage(results, task)
    (bench_dir / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError) as err:
        lmeval.parse(bench_dir, "acc")
    assert str(bench_dir / "results.json") in str(err.value) and task in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "value,message",
    [(None, "no metric"), (float("nan"), "outside 0-100"), (250.0, "outside 0-100"), ("n/a", "not a number")],
)
def test_broken_opencompass_output_is_a_clear_error(workflow, tmp_path, value, message):
    bench_dir = tmp_path / "C-Eval"
    shutil.copytree(workflow["dir"] / "results/raw/opencompass/demo-llama/C-Eval", bench_dir)
    target = sorted((bench_dir / "results").glob("*.json"))[0]
    result = json.loads(target.read_text())
    if value is None:
        result.pop("accuracy")
    else:
        result["accuracy"] = value
    target.write_text(json.dumps(result))
    with pytest.raises(ValueError) as err:
        opencompass.parse(bench_dir)
    assert str(target) in str(err.value) and message in str(err.value)


def test_second_run_is_a_noop_and_rerendering_is_byte_identical(workflow):
    """Run twice: nothing executes. Force the merge and everything after it: same bytes."""
    workdir = workflow["dir"]
    config = workflow["first"]
    again = run_snakemake(workdir, config)
    assert again.returncode == 0 and jobs_run(again) == [], jobs_run(again)
    outputs = [
        "results/scores.csv",
        "results/failures.csv",
        "results/tables/base.md",
        "results/tables/base.csv",
        "results/tables/reported_vs_measured.md",
        "slides/bluelm.md",
        "attachments/BLUELM/Table2.png",
        "attachments/BLUELM/charts/chart_exams.png",
    ]
    before = {name: (workdir / name).read_bytes() for name in outputs}
    forced = run_snakemake(workdir, config, "--forcerun", "merge_scores")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert "merge_scores" in jobs_run(forced) and "lm_eval" not in jobs_run(forced)
    for name in outputs:
        assert (workdir / name).read_bytes() == before[name], name
