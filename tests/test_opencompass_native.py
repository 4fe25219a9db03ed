"""The OpenCompass adapter runs OpenCompass's own dataset configs with only the data source
swapped: the generated config is the native dataset dicts with `path` (and a benchmark prefix on
`abbr`) replaced and one config serves every benchmark. The runs themselves are checked on the
shared files by tests/test_benchdata_pipeline.py (items lined up by position, GAOKAO points) and
against `opencompass` run by hand in tests/parity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import native_tasks

from lmdeck.settings import JobBenchmark, JobModel, JobSpec
from lmdeck import fileio
from lmdeck.formats import ceval, gaokao, mmlu
from lmdeck.formats.files import DataError
from lmdeck.harness import opencompass as oc

ROOT = Path(__file__).resolve().parents[1]
BENCHDATA = ROOT.parent / "shared" / "benchdata"
MODEL = "demo-llama"

# (lmdeck benchmark, format, authors' folder, variant, items kept per subtask)
BENCHES = [
    ("C-Eval", ceval.FORMAT, BENCHDATA / "ceval", "ceval_ppl", 4),
    ("MMLU", mmlu.FORMAT, BENCHDATA / "mmlu" / "data" / "mmlu", "mmlu_ppl", 4),
    ("Gaokao", gaokao.FORMAT, BENCHDATA / "gaokao", "GaokaoBench_no_subjective_gen_d21e37", 3),
]


def subset(fmt, records, per_subtask: int | None, subtasks: int | None = None):
    """The first items of the evaluated split (exemplar splits whole): a short run."""
    keep_subtasks = sorted({r.subtask for r in records})[:subtasks]
    out, seen = [], {}
    for r in records:
        if r.subtask not in keep_subtasks:
            continue
        if r.split == fmt.eval_split:
            seen[r.subtask] = seen.get(r.subtask, 0) + 1
            if per_subtask is not None and seen[r.subtask] > per_subtask:
                continue
        out.append(r)
    return out


def prepare(tmp: Path, per_subtask: int | None = None, subtasks: int | None = 2) -> tuple[list[dict], dict]:
    """What the data step leaves for each benchmark: ``<data>/index.json`` (write_native) and
    its provenance; returns (the job spec's benchmark entries, {benchmark: records})."""
    benches, kept = [], {}
    for name, fmt, folder, variant_name, n in BENCHES:
        variant = fmt.opencompass[variant_name]
        records = subset(fmt, fmt.read(folder), n if per_subtask is None else per_subtask, subtasks)
        benches.append(native_tasks.data_step(name, fmt, "opencompass", variant, records, tmp / "data"))
        kept[name] = records
    return benches, kept


def job_spec(model_path: Path, benches: list) -> JobSpec:
    """As lmdeck.config.job_spec makes it."""
    return JobSpec(
        harness="opencompass",
        model=JobModel.with_defaults(MODEL, str(model_path), batch_size=16),
        benchmarks=tuple(benches),
        allow_code_execution=False,
        code_timeout_s=10,
    )


# --------------------------------------------------------------------------
# The generated config (no model)
# --------------------------------------------------------------------------


def test_config_is_the_native_datasets_with_only_path_and_abbr_swapped(tmp_path):
    from mmengine.config import Config

    benches, _ = prepare(tmp_path, subtasks=None)
    job = tmp_path / "job"
    job.mkdir()
    config = oc.write_config(job_spec(tmp_path / "model", benches), benches, job)
    assert config == job / "opencompass_config.py"
    loaded = Config.fromfile(str(config))
    assert [m["abbr"] for m in loaded["models"]] == [MODEL]
    seen = set()
    for bench, (name, fmt, _, variant_name, _) in zip(benches, BENCHES):
        index = json.loads((Path(bench.data) / "index.json").read_text(encoding="utf-8"))
        native = {d["abbr"]: d for d in oc.native_datasets(fmt.opencompass[variant_name])}
        mine = [d for d in loaded["datasets"] if d["abbr"].startswith(f"{name}__")]
        assert sorted(d["abbr"][len(name) + 2 :] for d in mine) == sorted(index["datasets"])
        for d in mine:
            original = native[d["abbr"][len(name) + 2 :]]
            assert d["path"] == index["path"] and Path(d["path"]).is_absolute()
            assert {k: v for k, v in d.items() if k not in ("path", "abbr")} == {
                k: v for k, v in original.items() if k not in ("path", "abbr")
            }
            seen.add(d["abbr"])
    assert len(seen) == len(loaded["datasets"]) == 3 + 3 + 2


def test_two_benchmarks_on_one_config_get_distinct_abbrs(tmp_path):
    from mmengine.config import Config

    fmt, variant = mmlu.FORMAT, mmlu.FORMAT.opencompass["mmlu_ppl"]
    records = fmt.read(BENCHDATA / "mmlu" / "data" / "mmlu")
    benches = []
    for name in ("MMLU", "MMLU-again"):
        data = tmp_path / name
        fileio.write_json(data / "index.json", oc.write_native(fmt, variant, records, data, shots=5))
        benches.append(
            JobBenchmark(
                name, fmt.name, variant.variant, 5, variant.metric, variant.aggregation, None, str(data), False
            )
        )
    config = oc.write_config(job_spec(tmp_path / "model", benches), benches, tmp_path)
    abbrs = [d["abbr"] for d in Config.fromfile(str(config))["datasets"]]
    assert len(abbrs) == len(set(abbrs)) == 6
    assert "MMLU__lukaemon_mmlu_anatomy" in abbrs and "MMLU-again__lukaemon_mmlu_anatomy" in abbrs


def test_index_shape(tmp_path):
    benches, kept = prepare(tmp_path, per_subtask=None)
    index = json.loads((Path(benches[0].data) / "index.json").read_text(encoding="utf-8"))
    assert index["module"] == "opencompass.configs.datasets.ceval.ceval_ppl"
    assert index["variable"] == "ceval_datasets" and index["shots"] == 5 and index["metric"] == "accuracy"
    assert index["path"] == str(Path(benches[0].data).resolve() / "data")
    entry = index["datasets"]["ceval-advanced_mathematics"]
    assert entry == {
        "subtask": "advanced_mathematics",
        "name": "advanced_mathematics",
        "shots": 5,
        "evaluator": "AccEvaluator",
        "items": [f"val/advanced_mathematics_val.csv:{line}" for line in (2, 3, 4, 5)],
    }


def test_mmlu_gen_is_zero_shot(tmp_path):
    fmt = mmlu.FORMAT
    records = fmt.read(BENCHDATA / "mmlu" / "data" / "mmlu")
    assert fmt.opencompass["mmlu_gen"].shots == (0,) and fmt.opencompass["mmlu_ppl"].shots == (5,)
    index = oc.write_native(fmt, fmt.opencompass["mmlu_gen"], records, tmp_path, shots=0)
    assert {e["shots"] for e in index["datasets"].values()} == {0}
    with pytest.raises(DataError, match="5 shots asked for, but OpenCompass's mmlu_gen"):
        oc.write_native(fmt, fmt.opencompass["mmlu_gen"], records, tmp_path, shots=5)
