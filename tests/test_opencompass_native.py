"""The OpenCompass adapter runs OpenCompass's own dataset configs with only the data source
swapped: the generated config is the native dataset dicts with `path` (and a benchmark prefix on
`abbr`) replaced, one OpenCompass run per job serves every benchmark, and per-item scores are
OpenCompass's own (tests/parity runs `opencompass` on a job's config by hand and compares)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

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
        data = tmp / "data" / name / "opencompass" / variant_name
        index = oc.write_native(fmt, variant, records, data, shots=variant.shots[0])
        fileio.write_json(data / "index.json", index)
        n_items = sum(r.split == fmt.eval_split for r in records)
        fileio.write_json(data / "native.json", {"harness": "opencompass", "variant": variant_name,
                                                 "data_sha256": "x", "n_items": n_items})
        fileio.write_json(tmp / "data" / name / "data.json", {"data_sha256": "x", "n_items": n_items})
        benches.append({"name": name, "format": fmt.name, "variant": variant_name, "shots": variant.shots[0],
                        "metric": variant.metric, "aggregation": variant.aggregation, "data": str(data),
                        "builtin": False})
        kept[name] = records
    return benches, kept


def job_spec(model_path: Path, benches: list[dict]) -> dict:
    """Shaped like lmdeck.config.job_spec's."""
    return {"harness": "opencompass",
            "model": {"name": MODEL, "path": str(model_path), "kind": "base", "device": "cpu", "batch_size": 16},
            "benchmarks": benches, "allow_code_execution": False, "code_timeout_s": 10}


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
        index = json.loads((Path(bench["data"]) / "index.json").read_text(encoding="utf-8"))
        native = {d["abbr"]: d for d in oc.native_datasets(fmt.opencompass[variant_name])}
        mine = [d for d in loaded["datasets"] if d["abbr"].startswith(f"{name}__")]
        assert sorted(d["abbr"][len(name) + 2:] for d in mine) == sorted(index["datasets"])
        for d in mine:
            original = native[d["abbr"][len(name) + 2:]]
            assert d["path"] == index["path"] and Path(d["path"]).is_absolute()
            assert {k: v for k, v in d.items() if k not in ("path", "abbr")} == \
                {k: v for k, v in original.items() if k not in ("path", "abbr")}
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
        benches.append({"name": name, "data": str(data)})
    config = oc.write_config(job_spec(tmp_path / "model", benches), benches, tmp_path)
    abbrs = [d["abbr"] for d in Config.fromfile(str(config))["datasets"]]
    assert len(abbrs) == len(set(abbrs)) == 6
    assert "MMLU__lukaemon_mmlu_anatomy" in abbrs and "MMLU-again__lukaemon_mmlu_anatomy" in abbrs


def test_index_shape(tmp_path):
    benches, kept = prepare(tmp_path, per_subtask=None)
    index = json.loads((Path(benches[0]["data"]) / "index.json").read_text(encoding="utf-8"))
    assert index["module"] == "opencompass.configs.datasets.ceval.ceval_ppl"
    assert index["variable"] == "ceval_datasets" and index["shots"] == 5 and index["metric"] == "accuracy"
    assert index["path"] == str(Path(benches[0]["data"]).resolve() / "data")
    entry = index["datasets"]["ceval-advanced_mathematics"]
    assert entry == {"subtask": "advanced_mathematics", "name": "advanced_mathematics", "shots": 5,
                     "evaluator": "AccEvaluator",
                     "items": [f"val/advanced_mathematics_val.csv:{line}" for line in (2, 3, 4, 5)]}


def test_mmlu_gen_is_zero_shot(tmp_path):
    fmt = mmlu.FORMAT
    records = fmt.read(BENCHDATA / "mmlu" / "data" / "mmlu")
    assert fmt.opencompass["mmlu_gen"].shots == (0,) and fmt.opencompass["mmlu_ppl"].shots == (5,)
    index = oc.write_native(fmt, fmt.opencompass["mmlu_gen"], records, tmp_path, shots=0)
    assert {e["shots"] for e in index["datasets"].values()} == {0}
    with pytest.raises(DataError, match="5 shots asked for, but OpenCompass's mmlu_gen"):
        oc.write_native(fmt, fmt.opencompass["mmlu_gen"], records, tmp_path, shots=5)


# --------------------------------------------------------------------------
# One real run on a tiny random-init model
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def job(tmp_path_factory, demo_model_dir):
    tmp = tmp_path_factory.mktemp("oc_native")
    benches, kept = prepare(tmp)
    manifest = tmp / "raw" / "opencompass" / MODEL / "manifest.json"
    oc.run(job_spec(demo_model_dir, benches), manifest)
    return {"tmp": tmp, "manifest": manifest, "benches": benches, "records": kept}


@pytest.mark.slow
def test_run_parses_to_opencompass_scores_item_by_item(job):
    from lmdeck.scores import check_against_samples

    manifest = json.loads(job["manifest"].read_text(encoding="utf-8"))
    assert [e["status"] for e in manifest["benchmarks"]] == ["ok"] * 3
    for entry, bench in zip(manifest["benchmarks"], job["benches"]):
        bench_dir = Path(entry["dir"])
        fmt = next(f for name, f, *_ in BENCHES if name == bench["name"])
        records = {r.item_id: r for r in job["records"][bench["name"]]}
        evaluated = [r for r in records.values() if r.split == fmt.eval_split]
        rows = oc.parse(bench_dir, bench["metric"])
        items = oc.parse_samples(bench_dir, bench["metric"])
        assert sum(row["n"] for row in rows) == len(items) == len(evaluated)
        assert {row["shots"] for row in rows} == {bench["shots"]}
        for row in rows:
            mine = [it for it in items if it["task"] == row["task"]]
            assert row["n"] == len(mine) and row["metric"] == bench["metric"]
            from_items = 100 * sum(it["score"] for it in mine) / sum(it["max_score"] for it in mine)
            assert row["score"] == pytest.approx(from_items, abs=1e-9)
            assert row["task"].startswith(f"{bench['name']}__")
            result = json.loads((bench_dir / "results" / f"{row['task']}.json").read_text(encoding="utf-8"))
            assert result[bench["metric"]] == row["score"]
        for it in items:  # alignment by position: the prompt holds that item's own question
            fields = records[it["item_id"]].fields
            question = fields.get("question", fields.get("Question"))
            assert question.strip()[:40] in it["prompt"], it["item_id"]
            assert 0 <= it["score"] <= it["max_score"]
        check_against_samples(rows, pd.DataFrame(items), bench_dir)
        assert (bench_dir / "index.json").exists() and list((bench_dir / "predictions").glob("*.json"))


@pytest.mark.slow
def test_gaokao_points_are_the_evaluators(job):
    bench_dir = job["manifest"].parent / "Gaokao"
    for path in sorted((bench_dir / "item_eval").glob("*.json")):
        scored = json.loads(path.read_text(encoding="utf-8"))
        assert scored["source"] == "evaluator" and scored["evaluator"] == "GaokaoBenchEvaluator_single_choice"
        assert all(it["max_score"] == len(it["reference"]) for it in scored["items"])
        total = sum(it["max_score"] for it in scored["items"])
        assert scored["reported"] == pytest.approx(100 * sum(it["score"] for it in scored["items"]) / total)
    for name in ("C-Eval", "MMLU"):  # accuracy datasets: OpenCompass's own details
        for path in (job["manifest"].parent / name / "item_eval").glob("*.json"):
            assert json.loads(path.read_text(encoding="utf-8"))["source"] == "details"
