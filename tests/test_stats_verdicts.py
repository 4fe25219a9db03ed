"""Reported vs measured verdicts on constructed cases of each kind; the reported CSV's optional
setting columns; the same-weights config key."""

import copy

import pytest

from conftest import absolutize, default_config
from lmdeck import config as lmconfig
from lmdeck import reported
from lmdeck.settings import Benchmark, Model, with_schema_defaults
from lmdeck.stats import verdicts

BENCH = {"name": "MMLU", "format": "mmlu", "data": "/data/mmlu", "category": "exams", "harness": "lm-eval"}
HUB = {"name": "m", "path": "org/model", "reported_as": "Model-7B", "same_weights_as_reported": True}


def verdict(model: dict, measured_row, reported_row, bench: dict) -> str:
    """lmdeck.stats.verdicts.verdict on a model and a benchmark written as config entries."""
    return verdicts.verdict(
        Model.from_dict(with_schema_defaults(model, "models")),
        measured_row,
        reported_row,
        Benchmark.from_dict(with_schema_defaults(bench, "benchmarks")),
    )


def measured(score=50.0, low=40.0, high=60.0, **extra):
    return {"score": score, "ci_low": low, "ci_high": high, "shots": 5, "metric": "acc", "variant": "mmlu", **extra}


def paper(score, **extra):
    return {"score": score, "shots": "5-shot", "metric": "acc", **extra}


def test_consistent_when_the_reported_number_is_inside_the_interval():
    assert verdict(
        HUB, measured(), paper(55.0, split="test", cot="no", subset="full"), BENCH | {"data": "builtin"}
    ) == (
        "consistent (cot unknown)"  # lmdeck cannot tell whether mmlu's prompt is chain of thought
    )
    assert verdict(HUB, measured(), paper(40.0), BENCH) == "consistent (split, cot, subset unknown)"


def test_above_and_below_say_by_how_much():
    assert verdict(HUB, measured(), paper(63.5), BENCH).startswith("below by 3.5")
    assert verdict(HUB, measured(), paper(31.0), BENCH).startswith("above by 9.0")


def test_stand_in_models_are_not_comparable():
    stand_in = {"name": "demo", "reported_as": "Model-7B", "build": {"architecture": "llama"}}
    assert verdict(stand_in, measured(), paper(55.0), BENCH) == "not comparable (stand-in model)"


def test_hub_models_need_the_same_weights_declared():
    undeclared = {k: v for k, v in HUB.items() if k != "same_weights_as_reported"}
    assert verdict(undeclared, measured(), paper(55.0), BENCH) == "not comparable (not declared the same weights)"


@pytest.mark.parametrize(
    "reported_row, reason",
    [
        (paper(55.0, shots="3-shot CoT"), "shots 5 vs reported 3"),
        (paper(55.0, metric="acc_norm"), "metric accuracy vs reported acc_norm"),
        (paper(55.0, split="dev"), "split test vs reported dev"),
    ],
)
def test_settings_that_differ_are_not_comparable(reported_row, reason):
    assert verdict(HUB, measured(), reported_row, BENCH) == f"not comparable ({reason})"


def test_chain_of_thought_and_subset_compare_where_both_sides_know():
    bbh = {"name": "BBH", "format": "bbh", "data": "builtin", "category": "reasoning", "harness": "lm-eval"}
    row = measured(metric="exact_match,get-answer", variant="bbh_cot_fewshot", shots=3)
    assert verdict(HUB, row, paper(55.0, shots="3-shot", cot="no"), bbh) == "not comparable (cot yes vs reported no)"
    assert verdict(HUB, row, paper(55.0, shots="3-shot", cot="CoT", subset="full", split="test"), bbh) == "consistent"
    assert verdict(HUB, row, paper(55.0, shots="3", cot="yes", subset="hard"), bbh).startswith(
        "not comparable (subset full vs reported hard"
    )


def test_missing_numbers():
    assert verdict(HUB, None, paper(55.0), BENCH) == "not comparable (not measured)"
    assert verdict(HUB, measured(), None, BENCH) == "not comparable (not reported)"


def test_reported_csv_optional_setting_columns(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "model,benchmark,shots,metric,score,source,cot,split\nM,MMLU,5-shot,acc,55.2,paper,no,test\nM,BBH,3-shot,acc,41.7,paper,,\n",
        encoding="utf-8",
    )
    rows = reported.read_file(path, "base")
    assert (rows[0].cot, rows[0].split, rows[0].subset) == ("no", "test", None)
    assert (rows[1].cot, rows[1].split) == (None, None)  # an empty cell is "unknown"
    path.write_text("model,benchmark,shots,metric,score,source,notes\n", encoding="utf-8")
    with pytest.raises(
        reported.ReportedError, match=r"r.csv line 1: header must be .*optional columns split, cot, subset"
    ):
        reported.read_file(path, "base")
    path.write_text("model,benchmark,shots,metric,score,source,cot\nM,MMLU,5,acc,55.2,paper\n", encoding="utf-8")
    with pytest.raises(reported.ReportedError, match="r.csv line 2: 6 columns, the header has 7"):
        reported.read_file(path, "base")


def test_a_built_model_cannot_claim_the_reported_weights():
    config = absolutize(default_config())
    config = copy.deepcopy(config)
    config["models"][0]["same_weights_as_reported"] = True
    with pytest.raises(lmconfig.ConfigError, match=r"^models\[0\]\.same_weights_as_reported: demo-llama is built"):
        lmconfig.validate(config)  # fills the schema's defaults, then the cross-field checks
