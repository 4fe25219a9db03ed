"""Config validation: schema + cross-field checks; each broken config names its field."""

import copy

from dataclasses import replace

import pytest

from lmdeck import config as lmconfig
from conftest import default_config, run_snakemake, absolutize


def broken(mutate):
    config = default_config()
    mutate(config)
    return config


CASES = {
    "unknown top-level key": (lambda c: c.update(modles=[]), "modles"),
    "unknown model key": (lambda c: c["models"][0].update(pth="x"), "pth"),
    "wrong type for batch size": (lambda c: c["models"][0].update(batch_size=[1]), "batch_size"),
    "missing benchmark harness": (lambda c: c["benchmarks"][0].pop("harness"), "harness"),
    "unknown harness": (lambda c: c["benchmarks"][0].update(harness="helm"), "harness"),
    "unknown category": (lambda c: c["benchmarks"][0].update(category="vibes"), "category"),
    "unknown format": (lambda c: c["benchmarks"][0].update(format="mmlu2"), "format"),
    "negative shots": (lambda c: c["benchmarks"][0].update(shots=-1), "shots"),
    "empty model list": (lambda c: c.update(models=[]), "models"),
    "model name escaping its folder": (lambda c: c["models"][0].update(name="../x"), "name"),
    "absolute model name": (lambda c: c["models"][0].update(name="/abs"), "name"),
    "benchmark name with separator": (lambda c: c["benchmarks"][0].update(name="a/b"), "name"),
    "duplicate model name": (lambda c: c["models"].append(copy.deepcopy(c["models"][0])), "duplicate"),
    "model with neither path nor build": (lambda c: c["models"][0].pop("build"), "path"),
    "shots the native task cannot honour": (lambda c: c["benchmarks"][7].update(shots=1000), "shots"),
    "BBH shots beyond its exemplars": (lambda c: c["benchmarks"][8].update(shots=4), "allowed: 1, 2, 3"),
    "a harness without a native task": (lambda c: c["benchmarks"][3].update(harness="lm-eval"), "opencompass"),
    "unknown variant": (lambda c: c["benchmarks"][0].update(variant={"lm-eval": "mmlu_pro"}), "variant"),
    "variant of the other harness": (lambda c: c["benchmarks"][0].update(variant={"lm-eval": "mmlu_ppl"}), "mmlu"),
    "harness listed twice": (lambda c: c["benchmarks"][0].update(harness=["lm-eval", "lm-eval"]), "harness"),
    "per-harness shots for an unknown harness": (lambda c: c["benchmarks"][0].update(shots={"helm": 5}), "shots"),
    "HumanEval without opt-in": (lambda c: c.update(allow_code_execution=False), "allow_code_execution"),
    "missing report": (lambda c: c.pop("report"), "report"),
    "bad dtype": (lambda c: c["models"][0].update(dtype="float8"), "dtype"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_config_names_the_field(case):
    mutate, field = CASES[case]
    with pytest.raises(Exception) as err:
        lmconfig.validate(broken(mutate))
    assert field in str(err.value), str(err.value)


def test_default_config_is_valid_and_gets_defaults():
    config = lmconfig.validate(default_config())
    assert config.models[0].trust_remote_code is False
    assert config.models[0].lm_eval_backend == "lmdeck-hf" and config.limits.max_item_kib == 256
    mmlu = config.benchmark("MMLU")
    runs = {r.harness: r for r in lmconfig.harness_runs(mmlu)}
    assert (runs["lm-eval"].variant, runs["lm-eval"].aggregation) == ("mmlu", "micro")
    assert (runs["opencompass"].variant, runs["opencompass"].aggregation) == ("mmlu_ppl", "macro")


def test_shots_default_to_the_native_tasks():
    """Without `shots`, each benchmark runs its native task's own shot count."""
    config = default_config()
    for bench in config["benchmarks"]:
        bench.pop("shots")
    config = lmconfig.validate(config)
    shots = {(b.format, r.harness): r.shots for b in config.benchmarks for r in lmconfig.harness_runs(b)}
    assert shots[("mmlu", "opencompass")] == 5 and shots[("ceval", "opencompass")] == 5
    assert shots[("gaokao", "opencompass")] == 0 and shots[("agieval", "lm-eval")] == 0
    assert shots[("gsm8k", "lm-eval")] == 5  # lm-eval's own gsm8k default
    assert shots[("humaneval", "lm-eval")] == 0


def test_variant_follows_shots_and_model_kind():
    config = lmconfig.validate(default_config())
    bbh = next(b for b in config.benchmarks if b.format == "bbh")
    assert lmconfig.harness_run(replace(bbh, shots=0), "lm-eval").variant == "bbh_cot_zeroshot"
    assert lmconfig.harness_run(bbh, "lm-eval").variant == "bbh_cot_fewshot"
    ceval = next(b for b in config.benchmarks if b.format == "ceval")
    assert lmconfig.harness_run(ceval, "opencompass", "chat").variant == "ceval_gen"


def test_snakemake_stops_before_any_job(tmp_path):
    config = absolutize(broken(CASES["unknown harness"][0]))
    proc = run_snakemake(tmp_path, config, "-n")
    assert proc.returncode != 0
    assert "harness" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()
