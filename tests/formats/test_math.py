"""MATH: both distributed forms read and checked; lm-eval's minerva_math / hendrycks_math built on them offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import native_tasks
import yaml

from lmdeck.formats import DataError, check_shots
from lmdeck.formats.math import FORMAT, TYPES, boxed_answer
from lmdeck.harness.lmeval import builtin_tasks, tasks_root

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "benchdata" / "math"
DEMO = ROOT / "data" / "demo" / "math"
MINERVA, HENDRYCKS = FORMAT.lm_eval["minerva_math"], FORMAT.lm_eval["hendrycks_math"]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")


def native(variant, records, out: Path, shots: int):
    return native_tasks.build(FORMAT, variant, records, out, shots)


def problem(type_="Algebra", **kw) -> dict:
    return {"problem": "What is $1+1$?", "level": "Level 1", "type": type_, "solution": "It is $\\boxed{2}$.", **kw}


def write(path: Path, content) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, list):
        content = "".join(c if isinstance(c, str) else json.dumps(c) + "\n" for c in content)
    elif isinstance(content, dict):
        content = json.dumps(content, indent=4)
    path.write_text(content, encoding="utf-8")
    return path


@needs_shared
def test_reads_the_authors_jsonl():
    records = FORMAT.read(SHARED)
    assert len(records) == 28 and {r.split for r in records} == {"test"}
    counts = {s: sum(r.subtask == s for r in records) for s in TYPES.values()}
    assert counts == {s: 4 for s in TYPES.values()}
    assert records[0].item_id == "data/math/test.jsonl:1"
    assert records[0].subtask == "counting_and_probability"
    assert records[0].fields["problem"] == "What is the value of $101^{3} - 3 \\cdot 101^{2} + 3 \\cdot 101 -1$?"
    assert set(records[0].fields) == {"problem", "level", "type", "solution"}
    assert records[-1].item_id == "data/math/test.jsonl:28"


def test_reads_the_demo_jsonl():
    records = FORMAT.read(DEMO)
    test = [r for r in records if r.split == "test"]
    assert len(test) == 8 and sum(r.split == "train" for r in records) == 4
    assert {s: sum(r.subtask == s for r in test) for s in {r.subtask for r in test}} == {
        "algebra": 3,
        "number_theory": 2,
        "prealgebra": 3,
    }
    assert [p.name for p in FORMAT.source_files(DEMO)] == ["test.jsonl", "train.jsonl"]


def test_reads_the_per_problem_json_layout(tmp_path):
    base = tmp_path / "MATH"
    for n in (10, 2, 1):
        write(base / "test" / "algebra" / f"{n}.json", problem(problem=f"Problem {n}"))
    write(base / "test" / "counting_and_probability" / "7.json", problem("Counting & Probability"))
    write(base / "train" / "precalculus" / "3.json", problem("Precalculus"))
    records = FORMAT.read(tmp_path)
    assert [(r.split, r.subtask, r.item_id) for r in records] == [
        ("train", "precalculus", "MATH/train/precalculus/3.json"),
        ("test", "algebra", "MATH/test/algebra/1.json"),
        ("test", "algebra", "MATH/test/algebra/2.json"),
        ("test", "algebra", "MATH/test/algebra/10.json"),
        ("test", "counting_and_probability", "MATH/test/counting_and_probability/7.json"),
    ]
    assert records[1].fields["problem"] == "Problem 1"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([problem(), problem("Calculus")], "line 2: type 'Calculus' is not one of MATH's types"),
        ([problem(), {"problem": "x", "level": "Level 1", "type": "Algebra"}], "line 2: missing field 'solution'"),
        ([problem(level=3)], "line 1: field 'level' should be str, got int"),
        ([problem(solution="The answer is 2.")], "line 1: solution has no final \\boxed{...} answer"),
        ([problem(solution="$\\boxed{2$")], "line 1: solution has no final \\boxed{...} answer"),
        (["\n", "{oops\n"], "line 2: not valid JSON"),
        ([], "file holds no problems"),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path, rows, message):
    path = write(tmp_path / "data" / "test.jsonl", rows)
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_bad_per_problem_layouts(tmp_path):
    bad = write(tmp_path / "a" / "MATH" / "test" / "algebra" / "1.json", problem("Geometry"))
    with pytest.raises(DataError, match=f"{bad}: type 'Geometry' does not belong in the 'algebra' folder"):
        FORMAT.read(tmp_path / "a")
    write(tmp_path / "b" / "MATH" / "test" / "calculus" / "1.json", problem())
    with pytest.raises(DataError, match="folder 'calculus' is not one of MATH's type folders"):
        FORMAT.read(tmp_path / "b")
    write(tmp_path / "c" / "MATH" / "test" / "algebra" / "1.json", problem())
    write(tmp_path / "c" / "test.jsonl", [problem()])
    with pytest.raises(DataError, match="both as per-problem JSON files and as JSON lines"):
        FORMAT.read(tmp_path / "c")
    write(tmp_path / "d" / "train.jsonl", [problem()])
    with pytest.raises(DataError, match="no MATH files found"):
        FORMAT.read(tmp_path / "d")


def test_boxed_answer_is_what_lm_eval_extracts():
    assert boxed_answer("so $\\boxed{\\frac{1}{2}}$.") == "\\frac{1}{2}"
    assert boxed_answer("a \\boxed{1} then \\boxed{2}") == "2"
    assert boxed_answer("$\\boxed 5$") == "5"
    assert boxed_answer("\\fbox{3}") is None  # lm-eval's remove_boxed asserts on it
    assert boxed_answer("no box") is None


def test_variants_shots_metrics_and_aggregation_are_lm_evals():
    groups = {"minerva_math": "benchmarks/minerva_math.yaml", "hendrycks_math": "hendrycks_math/hendrycks_math.yaml"}
    for variant, group in ((MINERVA, groups["minerva_math"]), (HENDRYCKS, groups["hendrycks_math"])):
        builtin = builtin_tasks(variant)
        assert sorted(builtin) == sorted(TYPES.values())  # the *_math500 tasks are not MATH's files
        assert all(cfg["dataset_path"] == "EleutherAI/hendrycks_math" for _, _, cfg in builtin.values())
        assert all(variant.metric in [m["metric"] for m in cfg["metric_list"]] for _, _, cfg in builtin.values())
        agg = yaml.safe_load((tasks_root() / group).read_text())["aggregate_metric_list"]
        assert agg[0]["metric"] == variant.metric
        assert variant.aggregation == ("micro" if agg[0]["weight_by_size"] else "macro")
    assert builtin_tasks(MINERVA)["algebra"][2]["num_fewshot"] == max(MINERVA.shots) == FORMAT.default_shots
    assert FORMAT.variant("lm-eval", None, 4).variant == "minerva_math"
    assert FORMAT.variant("lm-eval", None, 0).variant == "hendrycks_math"
    with pytest.raises(DataError, match="allowed: 0, 1, 2, 3, 4"):
        check_shots(FORMAT, "lm-eval", MINERVA, 5)


def test_native_minerva_prompt_offline(tmp_path):
    from lm_eval.tasks.minerva_math.utils import list_fewshot_samples

    records = FORMAT.read(DEMO)
    index, tasks = native(MINERVA, records, tmp_path / "four", shots=4)
    assert sorted(index) == ["minerva_math_algebra", "minerva_math_num_theory", "minerva_math_prealgebra"]
    algebra = [r for r in records if r.subtask == "algebra" and r.split == "test"]
    assert index["minerva_math_algebra"]["items"] == [r.item_id for r in algebra]
    # minerva: "Problem:\n{problem}\n\nSolution:" after the 4 exemplars fixed in its utils
    # (" " + solution, "\n\n" apart), whatever the data's train split holds.
    fixed = list_fewshot_samples()
    query = f"Problem:\n{algebra[0].fields['problem']}\n\nSolution:"
    expected = "".join(f"Problem:\n{s['problem']}\n\nSolution: {s['solution']}\n\n" for s in fixed) + query
    assert native_tasks.first_prompt(tasks["minerva_math_algebra"]) == expected
    _, tasks = native(MINERVA, records, tmp_path / "two", shots=2)
    two = "".join(f"Problem:\n{s['problem']}\n\nSolution: {s['solution']}\n\n" for s in fixed[:2]) + query
    assert native_tasks.first_prompt(tasks["minerva_math_algebra"]) == two


@needs_shared
def test_native_hendrycks_prompt_and_answers_offline(tmp_path):
    records = FORMAT.read(SHARED)  # no train.jsonl: the task's train split gets the test rows
    index, tasks = native(HENDRYCKS, records, tmp_path, shots=0)
    assert len(index) == 7
    task = tasks["hendrycks_math_geometry"]
    geometry = [r for r in records if r.subtask == "geometry"]
    assert native_tasks.first_prompt(task) == f"Problem: {geometry[0].fields['problem']}\nAnswer:"
    # lm-eval's process_docs extracts the same final answers lmdeck checked for.
    assert [d["answer"] for d in task.test_docs()] == [boxed_answer(r.fields["solution"]) for r in geometry]
    assert [d["lmdeck_id"] for d in task.test_docs()] == [r.item_id for r in geometry]


# --------------------------------------------------------------------------
# OpenCompass math_gen: one dataset, one math.json
# --------------------------------------------------------------------------

OC = FORMAT.opencompass["math_gen"]


def test_opencompass_variant_is_the_math_gen_alias():
    import importlib.util

    from lmdeck.config import default_shots
    from lmdeck.harness import opencompass as oc

    alias = Path(importlib.util.find_spec(OC.module).origin).read_text(encoding="utf-8")
    assert "from .math_gen_a58d9d import math_datasets" in alias
    (dataset,) = oc.native_datasets(OC)  # one dataset: OpenCompass does not split MATH by type
    assert dataset["abbr"] == "math" and OC.subtask_of(dataset) == "math"
    assert oc._type_name(dataset["type"]) == "MATHDataset" and "file_name" not in dataset  # reads math.json
    rounds = dataset["infer_cfg"]["prompt_template"]["template"]["round"]
    assert [r["role"] for r in rounds] == ["HUMAN", "BOT"] * 4 + ["HUMAN"]
    assert rounds[-1]["prompt"] == "Problem:\n{problem}\nSolution:\n"
    assert oc._type_name(dataset["infer_cfg"]["retriever"]["type"]) == "ZeroRetriever"
    assert OC.shots == (len(rounds) // 2,) == (4,)
    assert oc._type_name(dataset["eval_cfg"]["evaluator"]["type"]) == "MATHVerifyEvaluator"
    assert OC.metric == "accuracy" and OC.aggregation == "micro"
    for kind in ("base", "chat"):
        assert kind in OC.kinds and FORMAT.variant("opencompass", None, 4, kind) is OC
        assert default_shots(FORMAT, "opencompass", None, kind) == 4
    assert FORMAT.variant("lm-eval", None, 4).variant == "minerva_math"
    assert FORMAT.variant("lm-eval", None, 0).variant == "hendrycks_math"
    check_shots(FORMAT, "opencompass", OC, 4)
    for shots in (0, 2):
        with pytest.raises(DataError, match="allowed: 4"):
            check_shots(FORMAT, "opencompass", OC, shots)


def per_problem_folder(tmp_path: Path) -> Path:
    base = tmp_path / "src" / "MATH"
    for n in (10, 2):
        write(base / "test" / "algebra" / f"{n}.json", problem(problem=f"Problem {n}", solution=f"$\\boxed{{{n}}}$"))
    write(base / "test" / "geometry" / "7.json", problem("Geometry", solution="So $\\boxed{\\frac{1}{2}}$."))
    write(base / "train" / "precalculus" / "3.json", problem("Precalculus"))
    return tmp_path / "src"


@pytest.mark.parametrize("source", ["shared", "demo", "per-problem"])
def test_opencompass_layout_loses_nothing(tmp_path, source):
    """math.json holds every evaluated record, whole, keyed by its id, in the authors' order; its
    own loader reads back the same problems, in that order, with the boxed answers as references."""
    from opencompass.datasets import MATHDataset
    from opencompass.datasets.math import extract_boxed_answer

    folder = {"shared": SHARED, "demo": DEMO}.get(source) or per_problem_folder(tmp_path)
    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    test = [r for r in records if r.split == "test"]
    out = tmp_path / "out"
    OC.layout(records, out)
    assert [p.name for p in out.iterdir()] == ["math.json"]
    written = json.loads((out / "math.json").read_text(encoding="utf-8"))
    assert list(written) == [r.item_id for r in test]  # train problems are not written
    assert list(written.values()) == [r.fields for r in test]
    loaded = MATHDataset.load(path=str(out))
    assert len(loaded["test"]) == len(test)
    assert loaded["test"]["problem"] == [r.fields["problem"] for r in test]
    assert loaded["test"]["solution"] == [extract_boxed_answer(r.fields["solution"]) for r in test]
    assert None not in loaded["test"]["solution"]


def test_opencompass_layout_keeps_the_authors_order_across_types(tmp_path):
    records = FORMAT.read(per_problem_folder(tmp_path))
    OC.layout(records, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "math.json").read_text(encoding="utf-8"))
    assert list(written) == ["MATH/test/algebra/2.json", "MATH/test/algebra/10.json", "MATH/test/geometry/7.json"]


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_index_on_real_files(tmp_path, folder):
    from lmdeck.harness import opencompass as oc

    records = FORMAT.read(folder)
    index = oc.write_native(FORMAT, OC, records, tmp_path, shots=4)
    assert list(index["datasets"]) == ["math"]
    entry = index["datasets"]["math"]
    assert entry["subtask"] == "math" and entry["shots"] == 4 and entry["evaluator"] == "MATHVerifyEvaluator"
    assert entry["items"] == [r.item_id for r in records if r.split == "test"]
    assert entry["items"][0] == "data/math/test.jsonl:1"
