"""Config validation: schema + cross-field checks; each broken config names its field."""

import copy

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
    "builtin data without task": (lambda c: c["benchmarks"][0].update(data="builtin"), "task"),
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
    assert config["models"][0]["trust_remote_code"] is False
    mmlu = next(b for b in config["benchmarks"] if b["name"] == "MMLU")
    assert mmlu["aggregation"] == "micro"


def test_shots_default_to_the_bluelm_settings():
    config = default_config()
    for bench in config["benchmarks"]:
        bench.pop("shots")
    config = lmconfig.validate(config)
    shots = {b["format"]: b["shots"] for b in config["benchmarks"]}
    assert shots == {"mmlu": 5, "ceval": 5, "cmmlu": 5, "gaokao": 0, "agieval": 0, "gsm8k": 4, "math": 4,
                     "humaneval": 0, "bbh": 3}


def test_snakemake_stops_before_any_job(tmp_path):
    config = absolutize(broken(CASES["unknown harness"][0]))
    proc = run_snakemake(tmp_path, config, "-n")
    assert proc.returncode != 0
    assert "harness" in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists()
