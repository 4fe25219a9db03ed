"""`lmdeck prepare-data`, the step before any model loads: bad data stops it with file and line,
and leaves no partial output; good data gets its provenance (sha256, counts)."""

import json
import shutil

import pytest

from conftest import ROOT
from lmdeck.cli import main

DEMO = ROOT / "data" / "demo"


def prepare(fmt, folder, out, shots=0):
    return main(["prepare-data", "--format", fmt, "--folder", str(folder), "--shots", str(shots),
                 "--out-dir", str(out)])


def test_good_data_gets_provenance(tmp_path):
    assert prepare("ceval", DEMO / "ceval", tmp_path, 5) == 0
    info = json.loads((tmp_path / "data.json").read_text())
    items = (tmp_path / "items.jsonl").read_text().splitlines()
    assert info["n_items"] == len(items) == 10
    assert len(info["data_sha256"]) == 64 and info["subtasks"] == ["high_school_geography", "middle_school_mathematics"]


BAD_CASES = {
    "wrong column count": ("mmlu", "data/test/elementary_mathematics_test.csv", "What?,1,2,3,A\n", "line 1"),
    "answer outside options": ("ceval", "val/middle_school_mathematics_val.csv", None, "line 2"),
    "json line does not parse": ("gsm8k", "grade_school_math/data/test.jsonl", '{"question": "x", \n', "line 1"),
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
    else:
        target.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert prepare(fmt, folder, out) == 1
    err = capsys.readouterr().err
    assert rel.split("/")[-1] in err and where in err, err
    assert not out.exists() or not any(out.iterdir())


def test_missing_and_empty_folders(tmp_path, capsys):
    assert prepare("bbh", tmp_path / "nope", tmp_path / "out1") == 1
    assert "nope" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert prepare("bbh", tmp_path / "empty", tmp_path / "out2") == 1
    assert "empty" in capsys.readouterr().err
