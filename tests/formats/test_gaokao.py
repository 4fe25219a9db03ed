"""GAOKAO-Bench objective questions: reading the authors' files, the answer forms, and the points
OpenCompass's own GaokaoBench evaluators give each item (no model: the predictions are written
by hand, the scoring is OpenCompass's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lmdeck.settings import JobBenchmark, JobModel, JobSpec
from lmdeck.formats import gaokao
from lmdeck.formats.files import DataError
from lmdeck.harness import opencompass as oc

ROOT = Path(__file__).resolve().parents[2]
BENCHDATA = ROOT.parent / "shared" / "benchdata" / "gaokao"
DEMO = ROOT / "data" / "demo" / "gaokao"
FMT = gaokao.FORMAT
BASE = FMT.opencompass["GaokaoBench_no_subjective_gen_d21e37"]


def write_file(folder: Path, keyword: str, examples: list, **extra) -> Path:
    path = folder / "Data" / "Objective_Questions" / f"{keyword}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"keywords": keyword, "example": examples, **extra}, ensure_ascii=False, indent=4), encoding="utf-8"
    )
    return path


def example(question: str = "1. 下列说法正确的是（ ）\nA. 甲\nB. 乙\nC. 丙\nD. 丁\n", answer=None, **kw) -> dict:
    return {
        "year": "2010",
        "category": "（新课标）",
        "question": question,
        "answer": ["A"] if answer is None else answer,
        "analysis": "",
        "index": kw.pop("index", 0),
        "score": 6,
        **kw,
    }


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def test_reads_the_authors_files():
    records = FMT.read(BENCHDATA)
    assert {r.subtask for r in records} == {"2010-2022_Biology_MCQs", "2010-2022_Math_I_MCQs"}
    assert len(records) == 30 and all(r.split == FMT.eval_split for r in records)
    first = next(r for r in records if r.subtask == "2010-2022_Math_I_MCQs")
    assert first.item_id == "Data/Objective_Questions/2010-2022_Math_I_MCQs.json#0"
    raw = json.loads((BENCHDATA / "Data/Objective_Questions/2010-2022_Math_I_MCQs.json").read_text(encoding="utf-8"))
    assert first.fields == raw["example"][0]  # the authors' entry, whole
    assert [f.name for f in FMT.source_files(BENCHDATA)] == [
        "2010-2022_Biology_MCQs.json",
        "2010-2022_Math_I_MCQs.json",
    ]


def test_reads_the_demo_files():
    records = FMT.read(DEMO)
    assert {r.subtask for r in records} == {"2010-2022_Math_II_MCQs", "2010-2022_Physics_MCQs"}
    assert all(isinstance(r.fields["answer"], list) for r in records)


def test_answer_forms_are_kept_as_written(tmp_path):
    """["AC"]: one multi-select question (A and C); ["A", "C"]: two sub-questions."""
    write_file(
        tmp_path,
        "2010-2022_Physics_MCQs",
        [example(answer=["AC"]), example(answer=["A", "C"], index=1), example(answer=["B"], index=2)],
    )
    records = FMT.read(tmp_path)
    assert [r.fields["answer"] for r in records] == [["AC"], ["A", "C"], ["B"]]
    assert [r.item_id for r in records] == [
        f"Data/Objective_Questions/2010-2022_Physics_MCQs.json#{i}" for i in range(3)
    ]


@pytest.mark.parametrize(
    "answer, message",
    [
        ("A", "should be a list"),
        ([], "empty answer list"),
        (["AX"], "'AX' is not letters A-G"),
        (["a"], "'a' is not letters A-G"),
        (["A", ""], "'' is not letters A-G"),
        (["A C"], "'A C' is not letters A-G"),
        ([1], "1 is not letters A-G"),
        (["AA"], "repeats a letter"),
    ],
)
def test_bad_answers_name_the_file_and_example(tmp_path, answer, message):
    path = write_file(tmp_path, "2010-2022_Biology_MCQs", [example(), example(answer=answer, index=1)])
    with pytest.raises(DataError, match=message) as err:
        FMT.read(tmp_path)
    assert str(path) in str(err.value) and "example 1" in str(err.value)


def test_bad_documents_name_the_file(tmp_path):
    path = write_file(tmp_path, "2010-2022_Biology_MCQs", [example()])
    path.write_text('{"keywords": "2010-2022_Biology_MCQs", "example": [', encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON") as err:
        FMT.read(tmp_path)
    assert str(path) in str(err.value)
    path.write_text(json.dumps({"keywords": "2010-2022_Biology_MCQs"}), encoding="utf-8")
    with pytest.raises(DataError, match="missing field 'example'"):
        FMT.read(tmp_path)
    write_file(tmp_path, "2010-2022_Biology_MCQs", [example(question="  ")])
    with pytest.raises(DataError, match="example 0: empty question"):
        FMT.read(tmp_path)
    write_file(tmp_path, "2010-2022_Biology_MCQs", [example()], keywords="2010-2022_Physics_MCQs")
    with pytest.raises(DataError, match="\"keywords\" is '2010-2022_Physics_MCQs'"):
        FMT.read(tmp_path)


def test_files_that_are_not_multiple_choice_datasets_are_refused(tmp_path):
    """The configs' fill-in-the-blank datasets are scored a constant 0 (``cloze``): not offered."""
    path = write_file(tmp_path, "2010-2022_Math_I_Fill-in-the-Blank", [example()])
    with pytest.raises(DataError, match="not one of the multiple-choice keywords") as err:
        FMT.read(tmp_path)
    assert str(path) in str(err.value) and "2010-2022_Physics_MCQs" in str(err.value)


def test_keywords_and_types_are_opencompass_own():
    from opencompass.configs.datasets.GaokaoBench.GaokaoBench_prompts import MCQ_prompts

    assert gaokao.MCQ_TYPES == {p["keyword"]: p["type"] for p in MCQ_prompts}
    for variant in FMT.opencompass.values():
        offered = {variant.subtask_of(d): d for d in oc.native_datasets(variant) if variant.subtask_of(d)}
        assert set(offered) == set(gaokao.MCQ_TYPES)
        for keyword, d in offered.items():
            assert d["eval_cfg"]["evaluator"]["type"] == f"GaokaoBenchEvaluator_{gaokao.MCQ_TYPES[keyword]}"


def test_no_lm_eval_task():
    assert FMT.harnesses() == ["opencompass"]
    with pytest.raises(DataError, match="no native lm-eval task"):
        FMT.variant("lm-eval", None, 0)
    assert FMT.variant("opencompass", None, 0, "base").variant == "GaokaoBench_no_subjective_gen_d21e37"
    assert FMT.variant("opencompass", None, 0, "chat").variant == "GaokaoBench_no_subjective_gen_4c31db"


def test_layout_is_what_the_opencompass_loader_reads(tmp_path):
    from opencompass.datasets import GaokaoBenchDataset

    records = FMT.read(BENCHDATA)
    index = oc.write_native(FMT, BASE, records, tmp_path / "native", shots=0)
    assert index["metric"] == "score" and index["shots"] == 0
    assert sorted(index["datasets"]) == ["GaokaoBench_2010-2022_Biology_MCQs", "GaokaoBench_2010-2022_Math_I_MCQs"]
    for abbr, entry in index["datasets"].items():
        (native,) = [d for d in oc.native_datasets(BASE) if d["abbr"] == abbr]
        loaded = GaokaoBenchDataset.load(path=index["path"], filename=native["filename"], name=native["name"])
        mine = [r for r in records if r.subtask == entry["subtask"]]
        assert entry["items"] == [r.item_id for r in mine]
        assert [row["question"] for row in loaded] == [r.fields["question"] for r in mine]
        assert [row["answer"] for row in loaded] == [r.fields["answer"] for r in mine]
        assert entry["shots"] == 0 and entry["evaluator"] == "GaokaoBenchEvaluator_single_choice"


# --------------------------------------------------------------------------
# Points per item: OpenCompass's own GaokaoBench evaluators
# --------------------------------------------------------------------------

MODEL = "hand"


def answer(letters: str) -> str:
    """A reply in the layout GAOKAO-Bench's prompt asks for."""
    return f"【解析】 略 <eoe>\n【答案】 {letters} <eoa>"


def evaluate_by_hand(tmp_path: Path, folder: Path, replies: dict[str, list[str]]) -> Path:
    """A run folder as OpenCompass leaves it, with hand-written replies, scored by OpenCompass's
    own eval task (OpenICLEvalTask); returns the run folder."""
    from mmengine.config import Config, ConfigDict
    from opencompass.tasks import OpenICLEvalTask

    from lmdeck import fileio

    records = FMT.read(folder)
    data = tmp_path / "native"
    fileio.write_json(data / "index.json", oc.write_native(FMT, BASE, records, data, shots=0))
    bench = JobBenchmark("Gaokao", "gaokao", BASE.variant, 0, BASE.metric, BASE.aggregation, None, str(data), False)
    job = tmp_path / "job"
    job.mkdir()
    spec = JobSpec("opencompass", JobModel.with_defaults(MODEL, "unused-model"), (bench,), False, 10)
    config = oc.write_config(spec, [bench], job)
    run = tmp_path / "run"
    (run / "configs").mkdir(parents=True)
    shutil.copy(config, run / "configs" / "config.py")
    for keyword, texts in replies.items():
        mine = [r for r in records if r.subtask == keyword]
        preds = {
            str(i): {"origin_prompt": r.fields["question"], "prediction": text, "gold": r.fields["answer"]}
            for i, (r, text) in enumerate(zip(mine, texts))
        }
        fileio.write_json(run / "predictions" / MODEL / f"Gaokao__GaokaoBench_{keyword}.json", preds)
    cfg = Config.fromfile(str(config))
    for dataset in cfg["datasets"]:
        OpenICLEvalTask(
            ConfigDict(
                models=cfg["models"],
                datasets=[[dataset]],
                work_dir=str(run),
                eval=dict(runner=dict(task=dict(dump_details=True))),
            )
        ).run()
    return run


def test_points_per_item_come_from_the_evaluator(tmp_path):
    """multi_choice (Physics): 2 per element for the exact letters, 1 when the letters picked
    are all in the answer, else 0; ["A", "C"] is two sub-questions, which a multi-select reply
    (one element) never matches: 0 of 4. single_choice (Biology): 1 per element."""
    folder = tmp_path / "gaokao"
    stem = "1. （6 分）下列说法正确的是（ ）\nA. 甲\nB. 乙\nC. 丙\nD. 丁\n"
    physics = [
        example(stem, ["AC"]),
        example(stem, ["AC"], index=1),
        example(stem, ["AC"], index=2),
        example(stem, ["A", "C"], index=3),
        example(stem, ["B"], index=4),
        example(stem, ["BCD"], index=5),
    ]
    write_file(folder, "2010-2022_Physics_MCQs", physics)
    write_file(folder, "2010-2022_Biology_MCQs", [example(stem, ["D"]), example(stem, ["B"], index=1)])
    replies = {
        "2010-2022_Physics_MCQs": [answer("AC"), answer("A"), answer("AB"), answer("AC"), answer("B"), "没有作答"],
        "2010-2022_Biology_MCQs": [answer("D"), answer("C")],
    }
    run = evaluate_by_hand(tmp_path, folder, replies)

    physics_abbr = "Gaokao__GaokaoBench_2010-2022_Physics_MCQs"
    scored = oc.item_scores(run, physics_abbr, "score")
    assert scored["source"] == "evaluator" and scored["evaluator"] == "GaokaoBenchEvaluator_multi_choice"
    assert [(it["score"], it["max_score"]) for it in scored["items"]] == [
        (2, 2),
        (1, 2),
        (0, 2),
        (0, 4),
        (2, 2),
        (0, 2),
    ]
    # OpenCompass's own dataset score is Σ points / Σ maximum.
    result = json.loads((run / "results" / MODEL / f"{physics_abbr}.json").read_text(encoding="utf-8"))
    assert result["score"] == pytest.approx(100 * 5 / 14)
    assert scored["reported"] == result["score"]
    # Its details keep only right/wrong per item: the partial point (item 1) is not in them.
    assert [d["is_correct"] for d in result["details"]] == [[True], [False], [False], [False], [True], [False]]

    biology = oc.item_scores(run, "Gaokao__GaokaoBench_2010-2022_Biology_MCQs", "score")
    assert [(it["score"], it["max_score"]) for it in biology["items"]] == [(1, 1), (0, 1)]
    assert biology["reported"] == pytest.approx(50.0)
