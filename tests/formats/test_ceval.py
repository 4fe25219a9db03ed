"""C-Eval: reading the authors' ``{dev,val,test}/<subject>_<split>.csv``, and the files each
harness's own task reads (lm-eval ``ceval-valid``; OpenCompass ``ceval_ppl`` / ``ceval_gen``)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from lmdeck.formats import ceval
from lmdeck.formats.base import ITEM_ID, allowed_shots
from lmdeck.formats.files import DataError
from lmdeck.harness import lmeval
from lmdeck.harness import opencompass as oc

ROOT = Path(__file__).resolve().parents[2]
BENCHDATA = ROOT.parent / "shared" / "benchdata" / "ceval"
DEMO = ROOT / "data" / "demo" / "ceval"
FMT = ceval.FORMAT
SUBJECTS = ["advanced_mathematics", "computer_network", "operating_system"]


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ceval"
    shutil.copytree(folder, target)
    return target


def rewrite(path: Path, edit) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    rows = edit(rows)
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)


def test_reads_the_authors_files():
    records = FMT.read(BENCHDATA)
    assert sorted({r.subtask for r in records}) == SUBJECTS
    counts = {
        (s, split): sum(r.subtask == s and r.split == split for r in records)
        for s in SUBJECTS
        for split in ("dev", "val", "test")
    }
    assert set(counts.values()) <= {5, 15, 10}
    assert all(counts[(s, "dev")] == 5 and counts[(s, "val")] == 15 and counts[(s, "test")] == 10 for s in SUBJECTS)
    first = next(r for r in records if r.subtask == "computer_network" and r.split == "val")
    assert first.item_id == "val/computer_network_val.csv:2"
    assert first.fields == {
        "id": "0",
        "question": first.fields["question"],
        "A": "1",
        "B": "2",
        "C": "3",
        "D": "4",
        "answer": "C",
    }
    assert first.fields["question"].startswith("使用位填充方法")
    dev = next(r for r in records if r.split == "dev")
    assert dev.fields["explanation"]  # kept: it is part of the authors' dev rows
    test = next(r for r in records if r.split == "test")
    assert "answer" not in test.fields  # the test split ships no answers
    # An explanation spanning lines: the next record's id names its own starting line.
    ids = [r.item_id for r in records if r.subtask == "computer_network" and r.split == "dev"]
    assert ids[0] == "dev/computer_network_dev.csv:2" and len(set(ids)) == 5
    assert len(FMT.source_files(BENCHDATA)) == 9


def test_reads_the_demo_files():
    records = FMT.read(DEMO)
    assert {r.subtask for r in records} == {"high_school_geography", "middle_school_mathematics"}
    assert {r.split for r in records} == {"dev", "val", "test"}


def test_bad_answer_names_file_and_line(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    path = folder / "val" / "operating_system_val.csv"
    rewrite(path, lambda rows: rows[:3] + [rows[3][:6] + ["E"]] + rows[4:])
    with pytest.raises(DataError, match="answer 'E' is not one of the options A-D") as err:
        FMT.read(folder)
    assert f"{path} line 4" in str(err.value)


def test_missing_column_and_short_row_and_empty_question(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    path = folder / "val" / "computer_network_val.csv"
    rewrite(path, lambda rows: [[c for c in row[:6]] for row in rows])
    with pytest.raises(DataError, match=r"lacks column\(s\) \['answer'\]") as err:
        FMT.read(folder)
    assert f"{path} line 1" in str(err.value)
    shutil.copy(BENCHDATA / "val" / "computer_network_val.csv", path)
    rewrite(path, lambda rows: rows[:2] + [rows[2][:5]] + rows[3:])
    with pytest.raises(DataError, match="expected 7 columns, got 5") as err:
        FMT.read(folder)
    assert f"{path} line 3" in str(err.value)
    shutil.copy(BENCHDATA / "val" / "computer_network_val.csv", path)
    rewrite(path, lambda rows: rows[:2] + [[rows[2][0], " "] + rows[2][2:]] + rows[3:])
    with pytest.raises(DataError, match="line 3: empty question"):
        FMT.read(folder)


def test_no_val_split_is_refused(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    shutil.rmtree(folder / "val")
    with pytest.raises(DataError, match="no C-Eval files found"):
        FMT.read(folder)


def test_lm_eval_reads_the_csv_columns(tmp_path):
    records = FMT.read(BENCHDATA)
    variant = FMT.lm_eval["ceval-valid"]
    assert allowed_shots(variant, records) == [0, 1, 2, 3, 4, 5]
    index = lmeval.write_native(FMT, variant, records, tmp_path, shots=5)
    assert sorted(index) == [f"ceval-valid_{s}" for s in SUBJECTS]
    entry = index["ceval-valid_computer_network"]
    assert entry["eval_split"] == "val"
    assert entry["items"] == [r.item_id for r in records if r.subtask == "computer_network" and r.split == "val"]
    rows = [
        json.loads(line)
        for line in (tmp_path / "data" / "ceval-valid_computer_network.val.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()
    ]
    assert set(rows[0]) == {"id", "question", "A", "B", "C", "D", "answer", ITEM_ID}
    assert (tmp_path / "data" / "ceval-valid_computer_network.dev.jsonl").exists()


@pytest.mark.parametrize("name", ["ceval_ppl", "ceval_gen"])
def test_opencompass_layout_is_what_its_loader_reads(tmp_path, name):
    from opencompass.datasets import CEvalDataset

    records = FMT.read(BENCHDATA)
    variant = FMT.opencompass[name]
    index = oc.write_native(FMT, variant, records, tmp_path / "native", shots=5)
    assert (index["module"], index["variable"]) == (variant.module, "ceval_datasets")
    assert sorted(index["datasets"]) == [f"ceval-{s}" for s in SUBJECTS]  # val datasets only
    for abbr, entry in index["datasets"].items():
        subject = entry["subtask"]
        assert entry["name"] == subject and entry["shots"] == 5
        loaded = CEvalDataset.load(path=index["path"], name=subject)
        for split in ("dev", "val", "test"):
            mine = [r for r in records if r.subtask == subject and r.split == split]
            assert [row["question"] for row in loaded[split]] == [r.fields["question"] for r in mine]
            assert [row["answer"] for row in loaded[split]] == [r.fields.get("answer", "") for r in mine]
        assert entry["items"] == [r.item_id for r in records if r.subtask == subject and r.split == "val"]


def test_a_header_only_test_file_when_the_authors_ship_none(tmp_path):
    from opencompass.datasets import CEvalDataset

    folder = copy_of(BENCHDATA, tmp_path)
    shutil.rmtree(folder / "test")
    records = FMT.read(folder)
    index = oc.write_native(FMT, FMT.opencompass["ceval_ppl"], records, tmp_path / "native")
    test_file = Path(index["path"]) / "test" / "computer_network_test.csv"
    assert test_file.read_text(encoding="utf-8").strip() == "id,question,A,B,C,D"
    loaded = CEvalDataset.load(path=index["path"], name="computer_network")
    assert set(loaded) == {"dev", "val"} and len(loaded["val"]) == 15


def test_a_subject_the_config_does_not_list_is_refused(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    for split in ("dev", "val"):
        shutil.copy(folder / split / f"operating_system_{split}.csv", folder / split / f"quantum_cooking_{split}.csv")
    records = FMT.read(folder)
    with pytest.raises(
        DataError,
        match="subtask 'quantum_cooking' has no dataset in OpenCompass's "
        "opencompass.configs.datasets.ceval.ceval_ppl.ceval_datasets",
    ) as err:
        oc.write_native(FMT, FMT.opencompass["ceval_ppl"], records, tmp_path / "native")
    assert "dev/quantum_cooking_dev.csv" in str(err.value)


def test_too_few_exemplars_for_the_fixed_retriever(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    rewrite(folder / "dev" / "computer_network_dev.csv", lambda rows: rows[:4])
    records = FMT.read(folder)
    with pytest.raises(
        DataError,
        match=r"'computer_network' has 3 'dev' rows, but OpenCompass's ceval_ppl "
        r"takes rows \[0, 1, 2, 3, 4\]",
    ):
        oc.write_native(FMT, FMT.opencompass["ceval_ppl"], records, tmp_path / "native")


def test_shots_other_than_the_config_runs_are_refused(tmp_path):
    records = FMT.read(BENCHDATA)
    with pytest.raises(DataError, match="0 shots asked for, but OpenCompass's ceval_gen dataset 'ceval-"):
        oc.write_native(FMT, FMT.opencompass["ceval_gen"], records, tmp_path / "native", shots=0)


def test_variants_and_defaults():
    assert FMT.eval_split == "val" and FMT.default_shots == 5
    assert FMT.variant("lm-eval", None, 5).variant == "ceval-valid"
    assert FMT.variant("opencompass", None, 5, "base").variant == "ceval_ppl"
    assert FMT.variant("opencompass", None, 5, "chat").variant == "ceval_gen"
    for variant in FMT.opencompass.values():
        assert {oc.dataset_shots(d) for d in oc.native_datasets(variant) if variant.subtask_of(d)} == set(variant.shots)
