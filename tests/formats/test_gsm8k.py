"""GSM8K: the authors' files read and checked; lm-eval's own gsm8k task built on them offline."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import native_tasks

from lmdeck.formats import DataError, allowed_shots
from lmdeck.formats.gsm8k import FORMAT
from lmdeck.harness.lmeval import builtin_tasks

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "benchdata" / "gsm8k"
DEMO = ROOT / "data" / "demo" / "gsm8k"
VARIANT = FORMAT.lm_eval["gsm8k"]


def native(records, out: Path, shots: int):
    return native_tasks.build(FORMAT, VARIANT, records, out, shots)


def jsonl(path: Path, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GOOD = {"question": "How many?", "answer": "2 + 2 = <<2+2=4>>4\n#### 4"}


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")
def test_reads_the_authors_files():
    records = FORMAT.read(SHARED)
    test = [r for r in records if r.split == "test"]
    train = [r for r in records if r.split == "train"]
    assert (len(test), len(train)) == (25, 25)
    assert {r.subtask for r in records} == {"gsm8k"}
    assert test[0].item_id == "grade_school_math/data/test.jsonl:1"
    assert train[-1].item_id == "grade_school_math/data/train.jsonl:25"
    assert test[0].fields["question"].startswith("Janet’s ducks lay 16 eggs per day.")
    assert test[0].fields["answer"].endswith("#### 18")
    assert allowed_shots(VARIANT, records) == list(range(26))
    assert [p.name for p in FORMAT.source_files(SHARED)] == ["test.jsonl", "train.jsonl"]


def test_reads_the_demo_files():
    records = FORMAT.read(DEMO)
    assert [r.split for r in records].count("test") == 6 and [r.split for r in records].count("train") == 4
    assert records[0].item_id == "grade_school_math/data/test.jsonl:1"
    assert set(records[0].fields) == {"question", "answer"}
    assert allowed_shots(VARIANT, records) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([GOOD, {"question": "x"}], "line 2: missing field 'answer'"),
        ([GOOD, {"question": 3, "answer": "#### 3"}], "line 2: field 'question' should be str, got int"),
        (
            [GOOD, "\n", {"question": "x", "answer": "no final line"}],
            "line 3: answer has no final '#### <number>' line",
        ),
        (['{"question": "x", \n'], "line 1: not valid JSON"),
        (["[1, 2]\n"], "line 1: expected a JSON object, got list"),
        ([], "file holds no questions"),
    ],
)
def test_bad_test_file_names_file_and_line(tmp_path, rows, message):
    path = jsonl(tmp_path / "grade_school_math" / "data" / "test.jsonl", rows)
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_test_file_and_train_only_zero_shots(tmp_path):
    with pytest.raises(DataError, match="no GSM8K files found"):
        FORMAT.read(tmp_path)
    jsonl(tmp_path / "data" / "test.jsonl", [GOOD])
    records = FORMAT.read(tmp_path)
    assert [r.split for r in records] == ["test"]
    assert allowed_shots(VARIANT, records) == [0]


def test_variant_is_gsm8k_yaml_only():
    builtin = builtin_tasks(VARIANT)
    assert list(builtin) == ["gsm8k"]
    task, path, cfg = builtin["gsm8k"]
    assert (task, path.name, cfg["num_fewshot"]) == ("gsm8k", "gsm8k.yaml", FORMAT.default_shots)
    assert [f["name"] for f in cfg["filter_list"]][0] == VARIANT.metric.split(",")[1]


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")
def test_native_task_prompt_offline(tmp_path):
    records = FORMAT.read(SHARED)
    index, tasks = native(records, tmp_path, shots=5)
    assert list(index) == ["gsm8k"]
    assert index["gsm8k"]["items"] == [r.item_id for r in records if r.split == "test"]
    task = tasks["gsm8k"]
    task.set_fewshot_seed(1234)  # what simple_evaluate / the CLI set (--seed ...,1234)
    prompt = native_tasks.first_prompt(task)
    train = [r.fields for r in records if r.split == "train"]
    test = [r.fields for r in records if r.split == "test"]
    # gsm8k.yaml: "Question: {{question}}\nAnswer:", target " {{answer}}", exemplars drawn from
    # train by lm-eval's default sampler (random.Random(seed).sample), "\n\n" between them.
    shots = random.Random(1234).sample(train, 5)
    expected = "".join(f"Question: {s['question']}\nAnswer: {s['answer']}\n\n" for s in shots)
    expected += f"Question: {test[0]['question']}\nAnswer:"
    assert prompt == expected
    assert task.instances[0].doc["lmdeck_id"] == "grade_school_math/data/test.jsonl:1"


def test_native_task_zero_shot_without_train(tmp_path):
    jsonl(tmp_path / "src" / "data" / "test.jsonl", [GOOD, {**GOOD, "question": "And now?"}])
    records = FORMAT.read(tmp_path / "src")
    _, tasks = native(records, tmp_path / "out", shots=0)
    assert native_tasks.first_prompt(tasks["gsm8k"]) == "Question: How many?\nAnswer:"


# --------------------------------------------------------------------------
# OpenCompass gsm8k_gen: the authors' files as its GSM8KDataset reads them
# --------------------------------------------------------------------------

OC = FORMAT.opencompass["gsm8k_gen"]


def test_opencompass_variant_is_the_gsm8k_gen_alias():
    import importlib.util

    from lmdeck.config import default_shots
    from lmdeck.formats import check_shots
    from lmdeck.harness import opencompass as oc

    alias = Path(importlib.util.find_spec(OC.module).origin).read_text(encoding="utf-8")
    assert "from .gsm8k_gen_1d7fe4 import gsm8k_datasets" in alias
    (dataset,) = oc.native_datasets(OC)
    assert dataset["abbr"] == "gsm8k" and OC.subtask_of(dataset) == "gsm8k"
    # 4 exemplars fixed in the template (HUMAN question / BOT answer), then the question; no retriever rows.
    rounds = dataset["infer_cfg"]["prompt_template"]["template"]["round"]
    assert [r["role"] for r in rounds] == ["HUMAN", "BOT"] * 4 + ["HUMAN"]
    assert rounds[-1]["prompt"] == "Question: {question}\nLet's think step by step\nAnswer:"
    assert oc._type_name(dataset["infer_cfg"]["retriever"]["type"]) == "ZeroRetriever"
    assert OC.shots == (len(rounds) // 2,) == (4,)
    assert oc._type_name(dataset["eval_cfg"]["evaluator"]["type"]) == "Gsm8kEvaluator" and OC.metric == "accuracy"
    assert dataset["reader_cfg"] == {"input_columns": ["question"], "output_column": "answer"}
    for kind in ("base", "chat"):
        assert kind in OC.kinds
        assert FORMAT.variant("opencompass", None, 4, kind) is OC
        assert FORMAT.variant("lm-eval", None, 5, kind).variant == "gsm8k"
        assert default_shots(FORMAT, "opencompass", None, kind) == 4  # lm-eval's 5 is not offered
    check_shots(FORMAT, "opencompass", OC, 4)
    for shots in (0, 5):
        with pytest.raises(DataError, match="allowed: 4"):
            check_shots(FORMAT, "opencompass", OC, shots)


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_layout_is_the_authors_files_and_its_loader_reads_them(tmp_path, folder):
    from opencompass.datasets import GSM8KDataset

    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    OC.layout(records, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.jsonl", "train.jsonl"]
    for split in ("test", "train"):  # byte for byte the authors' files
        source = folder / "grade_school_math" / "data" / f"{split}.jsonl"
        assert (tmp_path / f"{split}.jsonl").read_bytes() == source.read_bytes()
    loaded = GSM8KDataset.load(path=str(tmp_path))
    for split in ("test", "train"):
        mine = [r.fields for r in records if r.split == split]
        assert loaded[split]["question"] == [f["question"] for f in mine]
        assert loaded[split]["answer"] == [f["answer"] for f in mine]


def test_opencompass_layout_without_train(tmp_path):
    from opencompass.datasets import GSM8KDataset

    jsonl(tmp_path / "src" / "data" / "test.jsonl", [GOOD, {**GOOD, "question": "And now?"}])
    records = FORMAT.read(tmp_path / "src")
    OC.layout(records, tmp_path / "out")
    assert (tmp_path / "out" / "train.jsonl").read_text(encoding="utf-8") == ""
    loaded = GSM8KDataset.load(path=str(tmp_path / "out"))
    assert loaded["test"]["question"] == ["How many?", "And now?"] and len(loaded["train"]) == 0


@pytest.mark.parametrize("folder", [SHARED, DEMO], ids=["shared", "demo"])
def test_opencompass_index_on_real_files(tmp_path, folder):
    from lmdeck.harness import opencompass as oc

    if not folder.is_dir():
        pytest.skip("benchdata absent")
    records = FORMAT.read(folder)
    index = oc.write_native(FORMAT, OC, records, tmp_path)
    assert index["module"] == OC.module and index["variable"] == "gsm8k_datasets" and index["metric"] == "accuracy"
    assert list(index["datasets"]) == ["gsm8k"]
    entry = index["datasets"]["gsm8k"]
    assert entry["subtask"] == "gsm8k" and entry["evaluator"] == "Gsm8kEvaluator"
    assert entry["items"] == [r.item_id for r in records if r.split == "test"]
    assert entry["items"][0] == "grade_school_math/data/test.jsonl:1"
    assert (Path(index["path"]) / "test.jsonl").exists()


def test_opencompass_index_reports_the_templates_four_shots(tmp_path):
    from lmdeck.harness import opencompass as oc

    index = oc.write_native(FORMAT, OC, FORMAT.read(DEMO), tmp_path, shots=4)
    assert index["shots"] == 4 and index["datasets"]["gsm8k"]["shots"] == 4
