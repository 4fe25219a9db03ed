"""The SLURM and local profiles, and the demo pipeline through a real (one-node) SLURM cluster.

The cluster is started by ci/slurm-cluster.sh (root; slurm-wlm + munge from apt; CI installs
them in .ci/run). Its one node has a fake GPU (gres File=/dev/null), so a model entry with
`gpus: 1` becomes `sbatch --gpus=1` and schedules; the jobs still run on the CPU
(`device: cpu`). The SLURM jobs run as root from the same venv on the same machine, so the
working directory is shared, as on a cluster's shared file system.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import BIN, ROOT, absolutize, default_config, jobs_run

CLUSTER = ROOT / "ci" / "slurm-cluster.sh"
SLURM_PROFILE = ROOT / "profiles" / "slurm"
LOCAL_PROFILE = ROOT / "profiles" / "local"
HARNESS_RULES = {"build_model", "lm_eval", "opencompass"}
# What must agree between the SLURM run and the local run (provenance such as started/seconds differs).
KEY = ["model", "benchmark", "subtask", "harness", "metric", "shots", "source"]
MEASURED = ["score", "stderr", "n"]
RUN_TIMEOUT_S = 900


def small_config(gpus: int) -> dict:
    """The demo pipeline, small: one demo model, MMLU + GSM8K (lm-eval) and C-Eval (OpenCompass)."""
    config = absolutize(default_config())
    config["models"] = [{**config["models"][0], "gpus": gpus}]
    config["benchmarks"] = [b for b in config["benchmarks"] if b["name"] in ("MMLU", "C-Eval", "GSM8K")]
    config["report"].get("paper", {}).pop("pdf", None)  # scores only: no paper preview, no network check
    return config


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.Popen:
    """Start Snakemake on the repo's Snakefile in `workdir`; SIGINT after RUN_TIMEOUT_S (SIGTERM
    does not stop a run that waits on the cluster)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [
        "timeout",
        "-s",
        "INT",
        "-k",
        "30",
        str(RUN_TIMEOUT_S),
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config_file),
        *args,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=RUN_TIMEOUT_S + 60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    return finish(snakemake(workdir, config, *args))


def measured_scores(workdir: Path) -> pd.DataFrame:
    scores = pd.read_csv(workdir / "results" / "scores.csv")
    scores = scores[scores["source"] == "measured"]
    return scores[KEY + MEASURED].sort_values(KEY).reset_index(drop=True)


# --- the profiles, without a cluster ------------------------------------------------------------


def test_profiles_set_retries_resume_and_gpu_resources():
    slurm = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text(encoding="utf-8"))
    local = yaml.safe_load((LOCAL_PROFILE / "config.yaml").read_text(encoding="utf-8"))
    assert slurm["executor"] == "slurm"
    assert slurm["slurm-status-command"] == "squeue"  # no sacct needed (accounting may be off)
    for profile in (slurm, local):
        assert profile["retries"] >= 1 and profile["rerun-incomplete"] is True and profile["printshellcmds"]
    assert local["resources"]["gpu"] >= 1  # a pool of cards: two GPU jobs never share one
    for rule in ("lm_eval", "opencompass"):
        assert {"mem_mb", "runtime"} <= set(slurm["set-resources"][rule])
    assert "runtime" in slurm["default-resources"]


def test_local_profile_gates_gpu_jobs(tmp_path):
    """A dry run through the local profile: harness jobs hold `gpu` = the model's `gpus`."""
    proc = run(tmp_path, small_config(gpus=1), "--profile", str(LOCAL_PROFILE), "-n", "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    assert set(jobs_run(proc)) >= {"lm_eval", "opencompass", "build_model", "merge_scores"}
    harness_resources = re.findall(r"rule (?:lm_eval|opencompass):.*?resources: ([^\n]*)", text, re.S)
    assert len(harness_resources) == 2 and all("gpu=1" in r for r in harness_resources), harness_resources


# --- a real one-node SLURM cluster ----------------------------------------------------------------


def cluster_skip_reason() -> str | None:
    if sys.platform != "linux" or os.geteuid() != 0:
        return "needs root on Linux to start a one-node SLURM cluster (ci/slurm-cluster.sh)"
    missing = [
        b
        for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
        if not shutil.which(b) and not Path("/usr/sbin", b).exists()
    ]
    if missing:
        return f"SLURM is not installed (missing {', '.join(missing)}): ci/slurm-cluster.sh install"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed in this venv (see pyproject.toml)"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    reason = cluster_skip_reason()
    if reason:
        pytest.skip(reason)
    was_running = subprocess.run([str(CLUSTER), "status"], capture_output=True, text=True).returncode == 0
    started = subprocess.run([str(CLUSTER), "start"], capture_output=True, text=True, timeout=180)
    assert started.returncode == 0, f"ci/slurm-cluster.sh start failed:\n{started.stdout}\n{started.stderr}"
    yield
    if not was_running:  # leave a cluster someone else started as it was
        stopped = subprocess.run([str(CLUSTER), "stop"], capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr


def slurm_args(*extra: str) -> tuple[str, ...]:
    """The slurm profile as a user runs it, plus what this tiny test cluster needs: no account,
    quick first status check, memory that fits a 2-core CI machine."""
    return (
        "--set-resources",
        "lm_eval:mem_mb=3000",
        "opencompass:mem_mb=3000",
        "build_model:mem_mb=2000",
        "--profile",
        str(SLURM_PROFILE),
        "--executor",
        "slurm",
        "--jobs",
        "4",
        "--slurm-no-account",
        "--slurm-init-seconds-before-status-checks",
        "2",
        *extra,
    )


@pytest.mark.slow
def test_demo_pipeline_through_slurm(slurm_cluster, workflow, tmp_path):
    # The local reference is the session's run of the default config (same model and data;
    # `gpus` changes no score: the jobs run on the CPU either way).
    slurm_dir = tmp_path / "slurm"
    started = time.monotonic()
    slurm = run(slurm_dir, small_config(gpus=1), *slurm_args("--verbose", "results/scores.csv"))
    elapsed = time.monotonic() - started
    log = slurm.stdout + slurm.stderr
    assert slurm.returncode == 0, log[-8000:]

    # Every harness job went through sbatch; everything else ran on the submitting host.
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", log)
    rule_of = {jobid: re.search(r"/rule_([A-Za-z0-9_]+)/", path).group(1) for jobid, path in submitted}
    assert sorted(rule_of.values()) == sorted(HARNESS_RULES), (
        f"sbatch jobs by rule: {rule_of}. Harness jobs only: the Snakefile needs "
        "`localrules: all, prepare_data, merge_scores, statistics, tables, figures, preview, deck, html_or_pdf, png, export`"
    )
    for jobid, path in submitted:
        assert Path(path).is_file(), f"no SLURM log {path}"  # profile: slurm-keep-successful-logs
    local_rules = {
        line.strip()[len("localrule ") : -1]
        for line in log.splitlines()
        if line.strip().startswith("localrule ") and line.strip().endswith(":")
    }
    assert {"prepare_data", "merge_scores"} <= local_rules
    assert "command=squeue" in log  # the profile's status command (no accounting database here)

    # GPUs were asked for: in the sbatch calls, and in what SLURM allocated (job records are kept
    # MinJobAge seconds after the end).
    sbatch_calls = [line for line in log.splitlines() if line.startswith("sbatch call:")]
    for rule in ("lm_eval", "opencompass"):
        call = next(c for c in sbatch_calls if f"--comment rule_{rule}_" in c)
        assert "--gpus=1" in call, call
    assert "--gpus" not in next(c for c in sbatch_calls if "--comment rule_build_model_" in c)
    spans = {}
    for jobid, rule in rule_of.items():
        record = subprocess.run(["scontrol", "show", "job", jobid], capture_output=True, text=True).stdout
        assert "JobState=COMPLETED" in record, record
        assert ("TresPerJob=gres:gpu:1" in record) == (rule != "build_model"), record
        spans[rule] = tuple(re.search(rf"{field}=(\S+)", record).group(1) for field in ("StartTime", "EndTime"))
    # The node has one GPU: SLURM ran the two GPU jobs one after the other, never on one card together.
    (lm_start, lm_end), (oc_start, oc_end) = spans["lm_eval"], spans["opencompass"]
    assert lm_end <= oc_start or oc_end <= lm_start, spans  # ISO times: string order is time order

    # Same scores as on this machine without SLURM.
    on_slurm, local = measured_scores(slurm_dir), measured_scores(workflow["dir"])
    here = local[(local["model"] == "demo-llama") & local["benchmark"].isin(["MMLU", "C-Eval", "GSM8K"])]
    here = here.reset_index(drop=True)
    assert len(on_slurm) > 3 and set(on_slurm["benchmark"]) == {"MMLU", "C-Eval", "GSM8K"}
    pd.testing.assert_frame_equal(on_slurm[KEY], here[KEY])
    for column in MEASURED:
        for a, b in zip(on_slurm[column], here[column]):
            assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (column, a, b)

    # Rerunning resumes: nothing left to do, nothing submitted.
    again = run(slurm_dir, small_config(gpus=1), *slurm_args("results/scores.csv"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "has been submitted with SLURM jobid" not in again.stdout + again.stderr
    assert "Nothing to be done" in again.stdout + again.stderr
    print(f"SLURM run: {elapsed:.0f}s")
