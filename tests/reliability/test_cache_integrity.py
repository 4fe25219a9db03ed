"""The per-benchmark cache reuses, and the merge reads, only what a harness job wrote; the
`rerun=all` knob ignores the cache; a dry-run after a failed --keep-going run deletes nothing,
yet the next real run retries the failed job.

One real workflow run (one model; MMLU through lm-eval, C-Eval through OpenCompass) is shared by
the module; each test works on its own copy of that run's folder."""

import copy
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import absolutize, default_config, jobs_run, run_snakemake
from lmdeck import config as lmconfig
from lmdeck.harness import common, lmeval, opencompass

pytestmark = pytest.mark.slow
MODEL = "demo-llama"
RAW = Path("results/raw")
SCORE_COLUMNS = ["model", "benchmark", "subtask", "harness", "metric", "shots", "score", "stderr", "n"]


def one_model_config() -> dict:
    config = absolutize(default_config())
    config["models"] = config["models"][:1]
    config["benchmarks"] = [
        {**b, "harness": "lm-eval" if b["name"] == "MMLU" else "opencompass"}
        for b in config["benchmarks"]
        if b["name"] in ("MMLU", "C-Eval")
    ]
    config["report"]["sections"] = ["title", "results"]
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cache-integrity") / "run"
    config = one_model_config()
    proc = run_snakemake(workdir, config, "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"dir": workdir, "config": config, "scores": measured(workdir)}


@pytest.fixture
def work(finished, tmp_path) -> Path:
    """A copy of the finished run (timestamps and Snakemake's records included)."""
    copy = tmp_path / "run"
    shutil.copytree(finished["dir"], copy, symlinks=True)
    return copy


def measured(workdir: Path) -> pd.DataFrame:
    scores = pd.read_csv(workdir / "results/scores.csv")
    return (
        scores[scores["source"] == "measured"][SCORE_COLUMNS]
        .sort_values(["harness", "benchmark", "subtask"])
        .reset_index(drop=True)
    )


def cached(workdir: Path, harness: str) -> dict[str, bool]:
    manifest = json.loads((workdir / RAW / harness / MODEL / "manifest.json").read_text(encoding="utf-8"))
    return {e["benchmark"]: e["cached"] for e in manifest["benchmarks"]}


def console(proc) -> str:
    return proc.stdout + proc.stderr


def test_an_edited_result_is_evaluated_again_not_shown(finished, work):
    """The hostile case: a cached result edited by hand, then the job forced to run again."""
    results_file = work / RAW / "lm-eval" / MODEL / "MMLU" / "results.json"
    results = json.loads(results_file.read_text(encoding="utf-8"))
    task = sorted(results["results"])[0]
    results["results"][task]["acc_stderr,none"] = 0.4242  # valid, and not checked against the items
    results_file.write_text(json.dumps(results), encoding="utf-8")

    proc = run_snakemake(work, finished["config"], "--forcerun", "lm_eval", "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        f"lm-eval {MODEL} × MMLU: its results changed since they were written (changed: results.json); evaluating again"
    ) in console(proc)
    assert cached(work, "lm-eval") == {"MMLU": False}
    after = measured(work)
    assert 42.42 not in after["stderr"].round(2).tolist()
    pd.testing.assert_frame_equal(after, finished["scores"])


@pytest.mark.parametrize(
    "harness,bench,relative",
    [
        ("lm-eval", "MMLU", "samples/mmlu_elementary_mathematics.jsonl"),
        ("opencompass", "C-Eval", "predictions/C-Eval__ceval-middle_school_mathematics.json"),
    ],
)
def test_merge_refuses_a_folder_changed_after_its_job(finished, work, harness, bench, relative):
    bench_dir = RAW / harness / MODEL / bench
    target = work / bench_dir / relative
    target.write_text(target.read_text(encoding="utf-8").replace("A", "B", 1), encoding="utf-8")

    proc = run_snakemake(work, finished["config"], "--forcerun", "merge_scores", "results/scores.csv")
    assert proc.returncode != 0
    assert f"{bench_dir}: its results changed since they were written (changed: {relative})" in console(proc)
    assert not (work / "results/scores.csv").exists()

    # The fix the message names: the job runs again, re-evaluates that benchmark, the merge goes through.
    fix = re.search(r"snakemake --forcerun (\S+)", console(proc)).group(1)
    assert fix == f"{RAW / harness / MODEL}/manifest.json"
    fixed = run_snakemake(work, finished["config"], "--forcerun", fix, "results/scores.csv")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert cached(work, harness) == {bench: False}
    pd.testing.assert_frame_equal(measured(work), finished["scores"])


def job(workdir: Path, config: dict, harness: str, monkeypatch) -> common.Job:
    """The harness job's own cache decision, on the copied run (no evaluation follows)."""
    monkeypatch.chdir(workdir)
    settings = lmconfig.validate(copy.deepcopy(config))  # as the workflow does
    version = {"lm-eval": lmeval, "opencompass": opencompass}[harness].harness_version()
    spec = lmconfig.job_spec(settings, MODEL, harness)
    return common.Job(spec, RAW / harness / MODEL / "manifest.json", version)


@pytest.mark.parametrize(
    "content", ['{"fingerprint": "', "", "[]", '{"started": "2026-11-30"}', '{"fingerprint": 3}', "\udcff"]
)
def test_a_corrupt_or_partial_run_json_counts_as_absent(finished, work, monkeypatch, capsys, content):
    run_file = work / RAW / "lm-eval" / MODEL / "MMLU" / "run.json"
    run_file.write_bytes(content.encode("utf-8", "surrogateescape"))
    todo = [b.name for b in job(work, finished["config"], "lm-eval", monkeypatch).todo]
    assert todo == ["MMLU"]
    assert f"lm-eval {MODEL} × MMLU: its run.json" in capsys.readouterr().err
    assert not run_file.exists()  # nothing of it can be read as the new evaluation's


@pytest.mark.parametrize(
    "harness,bench,damage,reason",
    [
        (
            "lm-eval",
            "MMLU",
            lambda d: (d / "samples/mmlu_high_school_geography.jsonl").unlink(),
            "missing: samples/mmlu_high_school_geography.jsonl",
        ),
        ("lm-eval", "MMLU", lambda d: (d / "notes.txt").write_text("mine"), "not written by its job: notes.txt"),
        ("lm-eval", "MMLU", lambda d: (d.parent / ".cache-index" / f"{d.name}.json").unlink(), "is missing"),
        (
            "opencompass",
            "C-Eval",
            lambda d: (d / "results/C-Eval__ceval-high_school_geography.json").write_text('{"accuracy": 100.0}'),
            "changed: results/C-Eval__ceval-high_school_geography.json",
        ),
    ],
)
def test_a_missing_extra_or_changed_file_is_evaluated_again(
    finished, work, monkeypatch, capsys, harness, bench, damage, reason
):
    damage(work / RAW / harness / MODEL / bench)
    todo = [b.name for b in job(work, finished["config"], harness, monkeypatch).todo]
    assert todo == [bench]
    err = capsys.readouterr().err
    assert f"{harness} {MODEL} × {bench}: " in err and reason in err and "evaluating again" in err


def run_json(workdir: Path, harness: str, bench: str) -> dict:
    return json.loads((workdir / RAW / harness / MODEL / bench / "run.json").read_text(encoding="utf-8"))


def test_rerun_all_evaluates_everything_again(finished, work):
    before = {h: run_json(work, h, b)["started"] for h, b in (("lm-eval", "MMLU"), ("opencompass", "C-Eval"))}
    config = {**finished["config"], "rerun": "all"}
    proc = run_snakemake(work, config, "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(jobs_run(proc)) == ["lm_eval", "merge_scores", "opencompass"]
    for harness, bench in (("lm-eval", "MMLU"), ("opencompass", "C-Eval")):
        assert f"{harness} {MODEL} × {bench}: the run asks for everything again (rerun=all)" in console(proc)
        assert cached(work, harness) == {bench: False}
        assert run_json(work, harness, bench)["started"] != before[harness]
    pd.testing.assert_frame_equal(measured(work), finished["scores"])
    # Asked again, it evaluates again (each such run is a change).
    assert "lm_eval" in jobs_run(run_snakemake(work, config, "-n", "results/scores.csv"))

    # Back to the default: the jobs run once more (their params changed), evaluating nothing.
    back = run_snakemake(work, finished["config"], "results/scores.csv")
    assert back.returncode == 0, back.stderr[-3000:]
    assert cached(work, "lm-eval") == {"MMLU": True} and cached(work, "opencompass") == {"C-Eval": True}
    assert "evaluating again" not in console(back)
    assert jobs_run(run_snakemake(work, finished["config"], "results/scores.csv")) == []


def listing(workdir: Path) -> dict[str, tuple[int, int]]:
    """Every file with its size and modification time, but Snakemake's own bookkeeping and the
    config file, which run_snakemake writes anew each time."""
    return {
        str(p.relative_to(workdir)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in workdir.rglob("*")
        if p.is_file() and ".snakemake" not in p.relative_to(workdir).parts and p.name != "config.yaml"
    }


def records_failures(manifest: Path) -> bool:
    return any(e["status"] != "ok" for e in json.loads(manifest.read_text(encoding="utf-8"))["benchmarks"])


def test_dry_run_after_a_failed_keep_going_run_deletes_nothing(tmp_path, demo_model_dir):
    model_dir = tmp_path / "late-model"
    model_dir.mkdir()  # a broken copy (no real config, no real weights): its job fails
    (model_dir / "config.json").write_text("{}", encoding="utf-8")
    (model_dir / "model.safetensors").write_bytes(b"not weights")
    config = one_model_config()
    config["models"] = [{"name": MODEL, "path": str(model_dir), "kind": "base", "dtype": "float32"}]
    config["benchmarks"] = [{**b, "harness": "lm-eval"} for b in config["benchmarks"] if b["name"] == "MMLU"]
    workdir = tmp_path / "run"
    manifest = workdir / RAW / "lm-eval" / MODEL / "manifest.json"

    first = run_snakemake(workdir, config, "--keep-going", "results/scores.csv")
    assert first.returncode == 0, first.stderr[-3000:]
    assert records_failures(manifest)

    before = listing(workdir)
    dry = run_snakemake(workdir, config, "--keep-going", "-n", "results/scores.csv")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert listing(workdir) == before
    assert jobs_run(dry) == ["lm_eval", "merge_scores"]

    # Still failing: retried, and retried again next time.
    again = run_snakemake(workdir, config, "--keep-going", "results/scores.csv")
    assert jobs_run(again) == ["lm_eval", "merge_scores"]
    assert records_failures(manifest)

    shutil.copytree(demo_model_dir, model_dir, dirs_exist_ok=True)  # the real model arrives
    fixed = run_snakemake(workdir, config, "--keep-going", "results/scores.csv")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert jobs_run(fixed) == ["lm_eval", "merge_scores"]
    assert not records_failures(manifest)
    scores = pd.read_csv(workdir / "results/scores.csv")
    assert ((scores["model"] == MODEL) & (scores["benchmark"] == "MMLU") & (scores["source"] == "measured")).any()
    assert pd.read_csv(workdir / "results/failures.csv").empty
    # Done: the next run has nothing to do.
    assert jobs_run(run_snakemake(workdir, config, "--keep-going", "results/scores.csv")) == []
