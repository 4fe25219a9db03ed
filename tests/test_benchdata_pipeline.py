"""The nine benchmarks from their authors' files (../shared/benchdata) through the real pipeline."""

import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import SHARED, absolutize, default_config, run_snakemake
from lmdeck.settings import harness_list
from lmdeck import formats

pytestmark = pytest.mark.slow
BENCHDATA = SHARED / "benchdata"
FOLDERS = {
    "mmlu": "mmlu/derived_hendrycks_layout",
    "ceval": "ceval",
    "cmmlu": "cmmlu",
    "gaokao": "gaokao",
    "agieval": "agieval",
    "gsm8k": "gsm8k",
    "math": "math",
    "humaneval": "humaneval",
    "bbh": "bbh",
}

needs_benchdata = pytest.mark.skipif(not BENCHDATA.is_dir(), reason=f"{BENCHDATA} not present (shared samples)")


def benchdata_config() -> dict:
    config = absolutize(default_config())
    config["models"] = config["models"][:1]
    for bench in config["benchmarks"]:
        bench["data"] = str(BENCHDATA / FOLDERS[bench["format"]])
        if bench["format"] in {"gsm8k", "math", "bbh", "humaneval"}:
            bench["max_gen_toks"] = 24  # a random model's text is garbage anyway; keep CI fast
    return config


def evaluated(bench: dict) -> list:
    fmt = formats.get(bench["format"])
    return [r for r in fmt.read(Path(bench["data"])) if r.split == fmt.eval_split]


@pytest.fixture(scope="module")
def benchdata_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("benchdata")
    config = benchdata_config()
    proc = run_snakemake(workdir, config, "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir, config


@needs_benchdata
def test_every_benchmark_measured_with_all_items(benchdata_run):
    tmp_path, config = benchdata_run
    scores = pd.read_csv(tmp_path / "results" / "scores.csv")
    headline = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    headline = headline.set_index(["benchmark", "harness"])
    samples = pd.read_parquet(tmp_path / "results" / "samples.parquet")
    for bench in config["benchmarks"]:
        items = evaluated(bench)
        for harness in harness_list(bench["harness"]):
            row = headline.loc[(bench["name"], harness)]
            assert row["n"] == len(items), (bench["name"], harness)
            assert 0 <= row["score"] <= 100
            mine = samples[(samples.benchmark == bench["name"]) & (samples.harness == harness)]
            assert sorted(mine["item_id"]) == sorted(r.item_id for r in items), (bench["name"], harness)
            subtasks = set(
                scores[
                    (scores["benchmark"] == bench["name"])
                    & (scores["harness"] == harness)
                    & (scores["subtask"] != "all")
                ]["subtask"]
            )
            assert subtasks == {r.subtask for r in items}, bench["name"]


def replay_model(name: str, answers) -> dict:
    return {
        "name": name,
        "path": f"replay/{name}",
        "kind": "base",
        "lm_eval": {"backend": "lmdeck-replay", "model_args": {"answers": str(answers)}},
    }


@needs_benchdata
def test_opencompass_items_align_with_their_ids_and_keep_gaokao_points(benchdata_run):
    """OpenCompass's predictions carry no item id: they are lined up by position. Each item's
    prompt holds its own question, each dataset's score is its items' (points for GAOKAO, from
    OpenCompass's own evaluator called per item; its details for the accuracy datasets)."""
    from lmdeck.harness import opencompass as oc
    from lmdeck.scores import check_against_samples

    workdir, config = benchdata_run
    job = workdir / "results" / "raw" / "opencompass" / "demo-llama"
    manifest = json.loads((job / "manifest.json").read_text(encoding="utf-8"))
    assert {e["benchmark"] for e in manifest["benchmarks"]} == {"MMLU", "C-Eval", "Gaokao"}
    for entry in manifest["benchmarks"]:
        bench = next(b for b in config["benchmarks"] if b["name"] == entry["benchmark"])
        bench_dir = workdir / entry["dir"]
        records = {r.item_id: r for r in evaluated(bench)}
        rows = oc.parse(bench_dir, entry["run"]["metric"])
        items = oc.parse_samples(bench_dir, entry["run"]["metric"])
        assert sorted(it["item_id"] for it in items) == sorted(records)
        for it in items:
            fields = records[it["item_id"]].fields
            question = fields.get("question", fields.get("Question"))
            assert question.strip()[:40] in it["prompt"], it["item_id"]
            assert 0 <= it["score"] <= it["max_score"]
        check_against_samples(rows, pd.DataFrame(items), bench_dir)
    for path in sorted((job / "Gaokao" / "item_eval").glob("*.json")):
        scored = json.loads(path.read_text(encoding="utf-8"))
        assert scored["source"] == "evaluator" and scored["evaluator"].startswith("GaokaoBenchEvaluator_")
        total = sum(it["max_score"] for it in scored["items"])
        assert scored["reported"] == pytest.approx(100 * sum(it["score"] for it in scored["items"]) / total)
    for name in ("C-Eval", "MMLU"):
        for path in (job / name / "item_eval").glob("*.json"):
            assert json.loads(path.read_text(encoding="utf-8"))["source"] == "details"


@needs_benchdata
def test_humaneval_canonical_solutions_pass_and_wrong_ones_fail(tmp_path):
    """Recorded completions go through lm-eval, the scorer and the sandbox: canonical 100, wrong 0."""
    config = benchdata_config()
    humaneval = next(b for b in config["benchmarks"] if b["format"] == "humaneval")
    items = evaluated(humaneval)
    canonical, wrong = tmp_path / "canonical.jsonl", tmp_path / "wrong.jsonl"
    # lm-eval's humaneval prompt is the problem's own `prompt` field.
    canonical.write_text(
        "".join(
            json.dumps({"prompt": i.fields["prompt"], "completion": i.fields["canonical_solution"]}) + "\n"
            for i in items
        )
    )
    wrong.write_text(
        "".join(json.dumps({"prompt": i.fields["prompt"], "completion": "    return None\n"}) + "\n" for i in items)
    )
    config["models"] = [replay_model("canonical", canonical), replay_model("wrong", wrong)]
    config["benchmarks"] = [humaneval]
    proc = run_snakemake(tmp_path / "run", config, "results/scores.csv")
    assert proc.returncode == 0, proc.stderr[-4000:]
    scores = pd.read_csv(tmp_path / "run" / "results" / "scores.csv")
    headline = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")].set_index("model")
    assert headline.loc["canonical", "score"] == 100.0 and headline.loc["canonical", "n"] == len(items)
    assert headline.loc["wrong", "score"] == 0.0
