"""OpenCompass's own generation configs for GSM8K, BBH, MATH and AGIEval (the ``gsm8k_gen``,
``bbh_gen``, ``math_gen`` and ``agieval_gen`` aliases) run through the adapter on the authors'
files: small folders cut from the shared samples (a few items per subtask), one OpenCompass run
on a tiny random-init model with short generations (``max_gen_toks: 16``), parsed back item by
item: every dataset's score is the mean of its items' scores from OpenCompass's own evaluators."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import native_tasks

from lmdeck.settings import JobModel, JobSpec
from lmdeck.formats import agieval, bbh, gsm8k
from lmdeck.formats import math as math_format
from lmdeck.harness import opencompass as oc

ROOT = Path(__file__).resolve().parents[1]
BENCHDATA = ROOT.parent / "shared" / "benchdata"
MODEL = "demo-llama"
MAX_GEN_TOKS = 16

# (lmdeck benchmark, format, authors' folder, variant, {file under the folder: items kept})
BENCHES = [
    (
        "GSM8K",
        gsm8k.FORMAT,
        "gsm8k",
        "gsm8k_gen",
        {"grade_school_math/data/test.jsonl": 2, "grade_school_math/data/train.jsonl": 2},
    ),
    (
        "BBH",
        bbh.FORMAT,
        "bbh",
        "bbh_gen",  # one free-form (BBHEvaluator), one multiple-choice (_mcq) task
        {"bbh/boolean_expressions.json": 2, "bbh/date_understanding.json": 2},
    ),
    ("MATH", math_format.FORMAT, "math", "math_gen", {"data/math/test.jsonl": 3}),
    (
        "AGIEval",
        agieval.FORMAT,
        "agieval",
        "agieval_gen",  # single-choice (en, zh) and cloze
        {"data/v1/sat-math.jsonl": 2, "data/v1/gaokao-biology.jsonl": 2, "data/v1/gaokao-mathcloze.jsonl": 2},
    ),
]
# The item's own text, which its prompt must hold (alignment of predictions with item ids).
QUESTION = {"GSM8K": "question", "BBH": "input", "MATH": "problem", "AGIEval": "question"}

pytestmark = pytest.mark.skipif(not BENCHDATA.is_dir(), reason="shared benchdata absent")


def small_folder(source: Path, target: Path, keep: dict[str, int]) -> Path:
    """The authors' files, cut to their first items: JSON lines by line, BBH's task JSON by example."""
    for name, n in keep.items():
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".jsonl":
            dst.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:n]), encoding="utf-8")
        else:
            data = json.loads(src.read_text(encoding="utf-8"))
            dst.write_text(json.dumps({**data, "examples": data["examples"][:n]}, indent=4), encoding="utf-8")
    return target


def prepare(tmp: Path) -> tuple[list[dict], dict]:
    """What the data step leaves for each benchmark (write_native's index + provenance)."""
    benches, kept = [], {}
    for name, fmt, folder, variant_name, keep in BENCHES:
        variant = fmt.opencompass[variant_name]
        records = fmt.read(small_folder(BENCHDATA / folder, tmp / "authors" / name, keep))
        benches.append(
            native_tasks.data_step(name, fmt, "opencompass", variant, records, tmp / "data", max_gen_toks=MAX_GEN_TOKS)
        )
        kept[name] = [r for r in records if r.split == fmt.eval_split]
    return benches, kept


@pytest.mark.slow
def test_generation_configs_run_and_parse_item_by_item(tmp_path, request):
    from lmdeck.scores import check_against_samples

    benches, kept = prepare(tmp_path)
    model_dir = request.getfixturevalue("demo_model_dir")
    manifest_path = tmp_path / "raw" / "opencompass" / MODEL / "manifest.json"
    spec = JobSpec(
        harness="opencompass",
        model=JobModel.with_defaults(MODEL, str(model_dir), batch_size=16),
        benchmarks=tuple(benches),
        allow_code_execution=False,
        code_timeout_s=10,
    )
    oc.run(spec, manifest_path)

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    log = manifest_path.parent / "opencompass.log"
    errors = {e["benchmark"]: e.get("error") for e in manifest["benchmarks"] if e["status"] != "ok"}
    assert not errors, f"{errors}\n" + (log.read_text(encoding="utf-8")[-4000:] if log.exists() else "")

    from mmengine.config import Config

    config = Config.fromfile(str(manifest_path.parent / "opencompass_config.py"))
    assert {d["infer_cfg"]["inferencer"]["max_out_len"] for d in config["datasets"]} == {MAX_GEN_TOKS}

    for entry, bench in zip(manifest["benchmarks"], benches):
        bench_dir = Path(entry["dir"])
        records = {r.item_id: r for r in kept[bench.name]}
        rows = oc.parse(bench_dir, bench.metric)
        items = oc.parse_samples(bench_dir, bench.metric)
        assert sum(row["n"] for row in rows) == len(items) == len(records), bench.name
        assert sorted(it["item_id"] for it in items) == sorted(records)
        assert {row["shots"] for row in rows} == {bench.shots}
        for row in rows:
            mine = [it for it in items if it["task"] == row["task"]]
            assert row["n"] == len(mine) > 0
            # OpenCompass's score is the mean of its own evaluator's per-item scores.
            assert row["score"] == pytest.approx(100 * sum(it["score"] for it in mine) / len(mine), abs=1e-9)
            assert all(it["max_score"] == 1.0 and it["score"] in (0.0, 1.0) for it in mine)
            result = json.loads((bench_dir / "results" / f"{row['task']}.json").read_text(encoding="utf-8"))
            assert result[row["metric"]] == row["score"]
        for it in items:  # predictions align with item ids: the prompt holds that item's own text
            text = records[it["item_id"]].fields[QUESTION[bench.name]]
            assert text.strip()[:40] in it["prompt"], it["item_id"]
        check_against_samples(rows, pd.DataFrame(items), bench_dir)

    by_bench = {b.name: oc.parse(Path(e["dir"]), b.metric) for e, b in zip(manifest["benchmarks"], benches)}
    assert [r["subtask"] for r in by_bench["MATH"]] == ["math"]  # one dataset: no per-type split
    assert {r["subtask"]: r["metric"] for r in by_bench["BBH"]} == {
        "boolean_expressions": "score",
        "date_understanding": "score",
    }
    assert {r["subtask"]: r["metric"] for r in by_bench["AGIEval"]} == {
        "gaokao-biology": "accuracy",
        "gaokao-mathcloze": "score",
        "sat-math": "accuracy",
    }

    # OpenCompass's own command line on the same config gives the same items and numbers.
    from parity.opencompass_cli import compare_benchmark, run_cli

    (tmp_path / "cli").mkdir()
    cli = run_cli(manifest_path.parent / "opencompass_config.py", tmp_path / "cli")
    assert sum(compare_benchmark(Path(e["dir"]), cli, MODEL) for e in manifest["benchmarks"]) == sum(
        len(v) for v in kept.values()
    )
