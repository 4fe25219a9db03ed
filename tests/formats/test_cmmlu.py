"""CMMLU: reading the authors' ``data/{dev,test}/<subject>.csv``, and the files each harness's own
task reads (lm-eval ``cmmlu``; OpenCompass ``cmmlu_ppl`` / ``cmmlu_gen``)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from lmdeck.formats import cmmlu
from lmdeck.formats.base import ITEM_ID, allowed_shots
from lmdeck.formats.files import DataError
from lmdeck.harness import lmeval
from lmdeck.harness import opencompass as oc

ROOT = Path(__file__).resolve().parents[2]
BENCHDATA = ROOT.parent / "shared" / "benchdata" / "cmmlu"
DEMO = ROOT / "data" / "demo" / "cmmlu"
FMT = cmmlu.FORMAT
SUBJECTS = ["agronomy", "anatomy", "ancient_chinese"]


def copy_of(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "cmmlu"
    shutil.copytree(folder, target)
    return target


def rewrite(path: Path, edit) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(edit(rows))


def test_reads_the_authors_files():
    records = FMT.read(BENCHDATA)
    assert sorted({r.subtask for r in records}) == SUBJECTS
    for s in SUBJECTS:
        assert sum(r.subtask == s and r.split == "dev" for r in records) == 5
        assert sum(r.subtask == s and r.split == "test" for r in records) == 15
    first = next(r for r in records if r.subtask == "agronomy" and r.split == "dev")
    assert first.item_id == "data/dev/agronomy.csv:2"
    assert first.fields == {
        "Question": "肉牛屠宰后，胴体的哪个部位肉质较好",
        "A": "胸",
        "B": "腹",
        "C": "大腿",
        "D": "小腿",
        "Answer": "C",
        "row": "0",
    }
    assert len(FMT.source_files(BENCHDATA)) == 6


def test_reads_the_demo_files():
    records = FMT.read(DEMO)
    assert {r.subtask for r in records} == {"chinese_food_culture", "elementary_commonsense"}


def test_bad_inputs_name_file_and_line(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    path = folder / "data" / "test" / "anatomy.csv"
    rewrite(path, lambda rows: rows[:5] + [rows[5][:6] + ["F"]] + rows[6:])
    with pytest.raises(DataError, match="answer 'F' is not one of the options A-D") as err:
        FMT.read(folder)
    assert f"{path} line 6" in str(err.value)
    shutil.copy(BENCHDATA / "data" / "test" / "anatomy.csv", path)
    rewrite(path, lambda rows: rows[:2] + [rows[2] + ["extra"]] + rows[3:])
    with pytest.raises(DataError, match="line 3: expected 7 columns, got 8"):
        FMT.read(folder)
    shutil.copy(BENCHDATA / "data" / "test" / "anatomy.csv", path)
    rewrite(path, lambda rows: [["", "question", "A", "B", "C", "D", "Answer"]] + rows[1:])
    with pytest.raises(DataError, match=r"line 1: header .* lacks column\(s\) \['Question'\]"):
        FMT.read(folder)
    shutil.copy(BENCHDATA / "data" / "test" / "anatomy.csv", path)
    rewrite(path, lambda rows: rows[:1])
    with pytest.raises(DataError, match="file holds no questions"):
        FMT.read(folder)


def test_no_test_split_is_refused(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    shutil.rmtree(folder / "data" / "test")
    with pytest.raises(DataError, match="no CMMLU files found"):
        FMT.read(folder)


def test_lm_eval_reads_the_hub_columns(tmp_path):
    records = FMT.read(BENCHDATA)
    variant = FMT.lm_eval["cmmlu"]
    assert allowed_shots(variant, records) == [0, 1, 2, 3, 4, 5]
    index = lmeval.write_native(FMT, variant, records, tmp_path, shots=5)
    assert sorted(index) == [f"cmmlu_{s}" for s in SUBJECTS]
    assert index["cmmlu_anatomy"]["eval_split"] == "test"
    rows = [
        json.loads(line)
        for line in (tmp_path / "data" / "cmmlu_anatomy.test.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert set(rows[0]) == {"Question", "A", "B", "C", "D", "Answer", ITEM_ID} and len(rows) == 15


@pytest.mark.parametrize("name, shots", [("cmmlu_ppl", 5), ("cmmlu_gen", 0)])
def test_opencompass_layout_is_what_its_loader_reads(tmp_path, name, shots):
    from opencompass.datasets import CMMLUDataset

    records = FMT.read(BENCHDATA)
    variant = FMT.opencompass[name]
    assert variant.shots == (shots,)
    index = oc.write_native(FMT, variant, records, tmp_path / "native", shots=shots)
    assert sorted(index["datasets"]) == [f"cmmlu-{s}" for s in SUBJECTS]
    for abbr, entry in index["datasets"].items():
        assert entry["shots"] == shots
        loaded = CMMLUDataset.load(path=index["path"], name=entry["subtask"])
        for split in ("dev", "test"):
            mine = [r for r in records if r.subtask == entry["subtask"] and r.split == split]
            assert [row["question"] for row in loaded[split]] == [r.fields["Question"] for r in mine]
            assert [row["answer"] for row in loaded[split]] == [r.fields["Answer"] for r in mine]
        assert entry["items"] == [r.item_id for r in records if r.subtask == entry["subtask"] and r.split == "test"]
    # byte-for-byte the authors' files (same header, row index, quoting)
    for split in ("dev", "test"):
        for s in SUBJECTS:
            ours = (Path(index["path"]) / split / f"{s}.csv").read_text(encoding="utf-8").splitlines()
            theirs = (BENCHDATA / "data" / split / f"{s}.csv").read_text(encoding="utf-8").splitlines()
            assert ours == theirs


def test_a_subject_the_config_does_not_list_is_refused(tmp_path):
    folder = copy_of(BENCHDATA, tmp_path)
    for split in ("dev", "test"):
        shutil.copy(folder / "data" / split / "anatomy.csv", folder / "data" / split / "martian_law.csv")
    with pytest.raises(DataError, match="subtask 'martian_law' has no dataset in OpenCompass's") as err:
        oc.write_native(FMT, FMT.opencompass["cmmlu_ppl"], FMT.read(folder), tmp_path / "native")
    assert "data/dev/martian_law.csv" in str(err.value)


def test_variants_and_defaults():
    assert FMT.eval_split == "test"
    assert FMT.variant("lm-eval", None, 5).variant == "cmmlu"
    assert FMT.variant("opencompass", None, 5, "base").variant == "cmmlu_ppl"
    assert FMT.variant("opencompass", None, 0, "chat").variant == "cmmlu_gen"
    for variant in FMT.opencompass.values():
        assert {oc.dataset_shots(d) for d in oc.native_datasets(variant) if variant.subtask_of(d)} == set(variant.shots)
