"""`lmdeck prepare-data`, the step before any model loads: bad data stops it with file and line,
and leaves no partial output; good data gets its provenance (sha256, counts) and the native
task folders."""

import json
from dataclasses import asdict
import shutil

import pytest

from conftest import ROOT
from lmdeck.settings import Limits
from lmdeck.cli import main

DEMO = ROOT / "data" / "demo"


def prepare(fmt, folder, out, harness="lm-eval", variant=None, shots=0):
    from lmdeck import formats

    variant = variant or formats.get(fmt).variant(harness, None, shots).variant
    spec = {
        "name": fmt,
        "format": fmt,
        "folder": str(folder),
        "runs": [{"harness": harness, "variant": variant, "shots": shots}],
        "limits": asdict(Limits.default()),
    }
    return main(["prepare-data", "--spec", json.dumps(spec), "--out-dir", str(out)])


def test_good_data_gets_provenance_and_native_folders(tmp_path):
    assert prepare("ceval", DEMO / "ceval", tmp_path / "out", "opencompass", "ceval_ppl", 5) == 0
    info = json.loads((tmp_path / "out" / "data.json").read_text())
    records = (tmp_path / "out" / "records.jsonl").read_text().splitlines()
    assert info["n_items"] == 10 and len(records) > 10  # dev and test rows are records too
    assert len(info["data_sha256"]) == 64 and info["subtasks"] == ["high_school_geography", "middle_school_mathematics"]
    index = json.loads((tmp_path / "out" / "opencompass" / "ceval_ppl" / "index.json").read_text())
    assert sorted(d["subtask"] for d in index["datasets"].values()) == info["subtasks"]


BAD_CASES = {
    "wrong column count": ("mmlu", "data/test/elementary_mathematics_test.csv", "What?,1,2,3,A\n", "line 1"),
    "answer outside options": ("ceval", "val/middle_school_mathematics_val.csv", None, "line 2"),
    "json line does not parse": ("gsm8k", "grade_school_math/data/test.jsonl", '{"question": "x", \n', "line 1"),
    "a subject the native task does not have": (
        "mmlu",
        "data/test/underwater_basket_weaving_test.csv",
        "Q?,1,2,3,4,A\n",
        "underwater_basket_weaving",
    ),
    "subject names that collide": (
        "mmlu",
        "data/test/High-School_Geography_test.csv",
        "Q?,1,2,3,4,A\n",
        "High-School_Geography_test.csv",
    ),
    "a GAOKAO answer that is not letters": (
        "gaokao",
        "Data/Objective_Questions/2010-2022_Math_II_MCQs.json",
        "ANSWER",
        "2010-2022_Math_II_MCQs.json",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_data_names_file_and_line_and_writes_nothing(case, tmp_path, capsys):
    fmt, rel, text, where = BAD_CASES[case]
    folder = tmp_path / fmt
    shutil.copytree(DEMO / fmt, folder)
    target = folder / rel
    if text is None:  # corrupt the first data row's answer letter
        lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
        header = lines[0].rstrip("\n").split(",")
        cells = lines[1].rstrip("\n").split(",")
        cells[header.index("answer")] = "E"
        lines[1] = ",".join(cells) + "\n"
        target.write_text("".join(lines), encoding="utf-8")
    elif text == "ANSWER":  # a multi-select written with a non-letter
        target.write_text(target.read_text(encoding="utf-8").replace('"B"', '"B?"', 1), encoding="utf-8")
    else:
        target.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    harness = "opencompass" if fmt == "gaokao" else "lm-eval"
    assert prepare(fmt, folder, out, harness) == 1
    err = capsys.readouterr().err
    assert rel.split("/")[-1] in err or where in err, err
    assert where in err, err
    assert not out.exists()


def test_shots_beyond_the_exemplars_the_files_hold(tmp_path, capsys):
    assert prepare("mmlu", DEMO / "mmlu", tmp_path / "out", shots=6) == 1
    err = capsys.readouterr().err
    assert "shots 6" in err and "0-5" in err, err
    assert not (tmp_path / "out").exists()


def test_missing_and_empty_folders(tmp_path, capsys):
    assert prepare("bbh", tmp_path / "nope", tmp_path / "out1", shots=3) == 1
    assert "nope" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert prepare("bbh", tmp_path / "empty", tmp_path / "out2", shots=3) == 1
    assert "empty" in capsys.readouterr().err
