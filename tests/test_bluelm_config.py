"""config/bluelm-7b.yaml, the report's real models, cannot run here (7B models, GPUs, the hub).

What can be checked without them: the config passes the schema and plans one lm-eval and one
OpenCompass job per model (`snakemake -n`); every task it names exists in the installed
lm-eval and OpenCompass; and the harness inputs generated for one job equal the golden files
in tests/golden/bluelm-7b/. After an intended change, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_bluelm_config.py

and review the diff.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, absolutize, jobs_run, run_snakemake
from lmdeck import config as lmconfig
from lmdeck import formats
from lmdeck.harness import lmeval, opencompass

CONFIG = ROOT / "config" / "bluelm-7b.yaml"
GOLDEN = Path(__file__).parent / "golden" / "bluelm-7b"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
MODEL = "bluelm-7b-base"  # the job whose harness inputs are golden


def raw_config() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def config():
    return lmconfig.validate(raw_config())  # schema defaults + cross-field checks, as the workflow does


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path} differs from what is generated now; if intended, regenerate with UPDATE_GOLDEN=1"


def test_models_and_benchmarks_are_the_reports(config):
    models = {m.name: m for m in config.models}
    assert {m.path for m in models.values()} == {
        "vivo-ai/BlueLM-7B-Base",
        "meta-llama/Llama-2-7b-hf",
        "baichuan-inc/Baichuan2-7B-Base",
        "THUDM/chatglm2-6b",
        "vivo-ai/BlueLM-7B-Chat",
        "meta-llama/Llama-2-7b-chat-hf",
        "baichuan-inc/Baichuan2-7B-Chat",
    }
    for model in models.values():
        assert (model.dtype, model.device, model.gpus, model.batch_size) == ("bfloat16", "cuda", 1, "auto")
        assert model.trust_remote_code == model.path.startswith(("vivo-ai/", "baichuan-inc/", "THUDM/")), model
        assert model.reported_as, model.name
    assert {n for n, m in models.items() if m.kind == "chat"} == {
        "bluelm-7b-chat",
        "llama2-7b-chat",
        "baichuan2-7b-chat",
        "chatglm2-6b",
    }
    # Every model is compared with a row of the reported table it lands in.
    reported = {}
    for entry in config.reported:
        with open(ROOT / "config" / entry.file, encoding="utf-8") as f:
            reported[entry.table] = {line.split(",", 1)[0] for line in f.readlines()[1:]}
    for model in models.values():
        assert model.reported_as in reported[model.kind], model.name
    shots = {b.name: b.shots for b in config.benchmarks}
    assert shots == {
        "MMLU": 5,
        "C-Eval": 5,
        "CMMLU": 5,
        "Gaokao": 0,
        "AGIEval": 0,
        "GSM8K": 4,
        "MATH": 4,
        "HumanEval": 0,
        "BBH": 3,
    }
    assert all(not b.is_local for b in config.benchmarks)
    variants = {
        (b.name, r.harness, kind): r.variant
        for b in config.benchmarks
        for kind in ("base", "chat")
        for r in lmconfig.harness_runs(b, kind=kind)
    }
    assert variants[("MMLU", "lm-eval", "base")] == "mmlu"
    assert variants[("C-Eval", "opencompass", "base")] == "ceval_ppl"
    assert variants[("C-Eval", "opencompass", "chat")] == "ceval_gen"
    assert variants[("MATH", "lm-eval", "base")] == "minerva_math"
    assert variants[("BBH", "lm-eval", "base")] == "bbh_cot_fewshot"
    assert config.allow_code_execution is True
    assert (
        config.report["abstract"]
        == yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))["report"]["abstract"]
    )


def test_lm_eval_tasks_exist_in_the_installed_lm_eval(config):
    from lm_eval.tasks import TaskManager

    known = set(TaskManager().all_tasks)
    for bench in config.benchmarks_for("lm-eval"):
        run = lmconfig.harness_run(bench, "lm-eval")
        tasks = lmeval.builtin_tasks(formats.get(bench.format).variant("lm-eval", run.variant, run.shots))
        assert tasks, f"{bench.name}: no built-in tasks for {run.variant}"
        assert {task for task, _, _ in tasks.values()} <= known


def test_opencompass_dataset_configs_exist(config):
    for bench in config.benchmarks_for("opencompass"):
        for kind in ("base", "chat"):
            run = lmconfig.harness_run(bench, "opencompass", kind)
            variant = formats.get(bench.format).variant("opencompass", run.variant, run.shots, kind)
            datasets = getattr(importlib.import_module(variant.module), variant.variable, None)
            assert isinstance(datasets, list) and datasets, f"{bench.name}: {variant.module} has no datasets"


def test_dry_run_plans_one_job_per_model_and_harness(tmp_path):
    """The workflow accepts the config (schema, cross-field checks) and plans the harness jobs
    on a GPU each; builtin data needs no prepare_data, hub models no build_model."""
    config = absolutize(raw_config())
    config["report"]["paper"].pop("pdf", None)  # no network check for the paper preview
    proc = run_snakemake(tmp_path, config, "-n", "all", "export")
    assert proc.returncode == 0, proc.stderr[-5000:]
    jobs = Counter(jobs_run(proc))
    n_models = len(config["models"])
    assert jobs["lm_eval"] == n_models and jobs["opencompass"] == n_models, jobs
    # Builtin data: the data step only writes each benchmark's native task index.
    assert jobs["prepare_data"] == len(config["benchmarks"]) and jobs["build_model"] == 0, jobs
    assert {"merge_scores", "tables", "figures", "deck_data", "deck", "html_or_pdf", "png", "export"} <= set(jobs)
    harness_resources = re.findall(r"rule (?:lm_eval|opencompass):.*?resources: ([^\n]*)", proc.stdout, re.S)
    assert len(harness_resources) == 2 * n_models and all("gpu=1" in r for r in harness_resources)


def test_lm_eval_job_matches_golden(config):
    spec = lmconfig.job_spec(config, MODEL, "lm-eval")
    check_golden(
        f"lm_eval.{MODEL}.spec.json", json.dumps(spec.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )
    # What lm-eval is asked for: the model's arguments, and each task with its shots.
    request = {
        "backend": spec.model.lm_eval_backend,
        "model_args": lmeval.model_args(spec.model),
        "batch_size": spec.model.batch_size,
        "device": spec.model.device,
        "tasks": [
            {"benchmark": b.name, "variant": b.variant, "num_fewshot": b.shots, "metric": b.metric}
            for b in spec.benchmarks
        ],
    }
    check_golden(f"lm_eval.{MODEL}.request.json", json.dumps(request, indent=2, sort_keys=True) + "\n")


def test_opencompass_config_matches_golden_and_loads(config, tmp_path, monkeypatch):
    """Builtin data: the data step writes each benchmark's index of OpenCompass's own datasets;
    the job's config imports them unchanged (no `path` swap: they read their own hub data)."""
    from lmdeck.prepare import prepare

    monkeypatch.chdir(tmp_path)
    spec = lmconfig.job_spec(config, MODEL, "opencompass")
    for bench in config.benchmarks_for("opencompass"):
        prepare(lmconfig.prepare_spec(config, bench), Path(lmconfig.DATA_DIR) / bench.name)
    job_dir = tmp_path / "job"
    path = opencompass.write_config(spec, spec.benchmarks, job_dir)
    text = path.read_text(encoding="utf-8").replace(str(tmp_path.resolve()), "<TMP>")
    check_golden(f"opencompass.{MODEL}.config.py", text)

    from mmengine.config import Config

    loaded = Config.fromfile(str(path))  # OpenCompass reads it this way: imports resolve, datasets expand
    abbrs = [d["abbr"] for d in loaded.datasets]
    assert sum(a.startswith("C-Eval__ceval-") for a in abbrs) == 52
    assert sum(a.startswith("Gaokao__GaokaoBench_") for a in abbrs) == 14  # the multiple-choice subsets
    assert all(not str(d["path"]).startswith(str(tmp_path)) for d in loaded.datasets)  # their own data
    assert loaded.models[0]["path"] == "vivo-ai/BlueLM-7B-Base" and loaded.models[0]["run_cfg"]["num_gpus"] == 1
