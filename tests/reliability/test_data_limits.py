"""Benchmark data whose names collide, that is empty, or that is oversized is refused with its
file (and line), by the data step or when the workflow is parsed, before any model loads."""

import gzip
import json
from dataclasses import asdict
import os
import shutil
import tracemalloc

import pytest

from conftest import ROOT, absolutize, default_config, run_snakemake
from lmdeck import formats
from lmdeck.cli import main
from lmdeck.formats.files import DataError, using_limits
from lmdeck.settings import Limits, PrepareSpec
from lmdeck.prepare import input_files

DEMO = ROOT / "data" / "demo"
MIB = 1024 * 1024


def demo_copy(fmt, tmp_path):
    folder = tmp_path / fmt
    shutil.copytree(DEMO / fmt, folder)
    return folder


def spec(fmt, folder, limits=None):
    harness = "lm-eval" if formats.get(fmt).lm_eval else "opencompass"
    variant = formats.get(fmt).variant(harness, None, 0).variant
    return {
        "name": fmt,
        "format": fmt,
        "folder": str(folder),
        "runs": [{"harness": harness, "variant": variant, "shots": 0}],
        "limits": {**asdict(Limits.default()), **(limits or {})},
    }


def prepare(fmt, folder, out, limits=None):
    return main(["prepare-data", "--spec", json.dumps(spec(fmt, folder, limits)), "--out-dir", str(out)])


def refused(fmt, folder, tmp_path, capsys, *expected, limits=None):
    """The data step fails, names every string in `expected`, and leaves nothing behind."""
    out = tmp_path / "out"
    assert prepare(fmt, folder, out, limits) == 1
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    assert not out.exists()
    return err


def append_line(path, text):
    body = path.read_text(encoding="utf-8")
    path.write_text(body + ("" if body.endswith("\n") else "\n") + text + "\n", encoding="utf-8")
    return body.count("\n") + (0 if body.endswith("\n") else 1) + 1  # the new line's number


# --------------------------------------------------------------------------
# Names that meet (lmdeck.names.key) are refused naming both files, in every format family
# --------------------------------------------------------------------------


def _csv_subject_with_a_dot(folder):  # MMLU: `.` folded like `-`/`_`
    shutil.copy(
        folder / "data/test/high_school_geography_test.csv", folder / "data/test/High_School.Geography_test.csv"
    )
    return "data/test/High_School.Geography_test.csv", "data/test/high_school_geography_test.csv"


def _csv_split_folder_twice(folder):  # C-Eval: a `Val` folder beside `val` was skipped
    shutil.copytree(folder / "val", folder / "more" / "Val")
    return "more/Val", "val"


def _json_keyword_in_two_folders(folder):  # GAOKAO-Bench: two copies of a keyword pooled into one subtask
    (folder / "Data" / "Objective_Questions").rename(folder / "Data" / "Objective")
    shutil.copytree(folder / "Data" / "Objective", folder / "copy")
    return "Data/Objective/2010-2022_Math_II_MCQs.json", "copy/2010-2022_Math_II_MCQs.json"


def _jsonl_train_twice(folder):  # MATH: `Train.jsonl` was read as extra test problems
    shutil.copy(folder / "data/math/train.jsonl", folder / "data/math/Train.jsonl")
    return "data/math/Train.jsonl", "data/math/train.jsonl"


def _jsonl_test_twice(folder):  # GSM8K: `Test.jsonl` beside `test.jsonl` was skipped
    shutil.copy(folder / "grade_school_math/data/test.jsonl", folder / "grade_school_math/data/Test.jsonl")
    return "grade_school_math/data/Test.jsonl", "grade_school_math/data/test.jsonl"


def _jsonl_task_with_a_dot(folder):  # AGIEval
    shutil.copy(folder / "data/v1/sat-math.jsonl", folder / "data/v1/sat.math.jsonl")
    return "data/v1/sat-math.jsonl", "data/v1/sat.math.jsonl"


COLLISIONS = {
    "mmlu": _csv_subject_with_a_dot,
    "ceval": _csv_split_folder_twice,
    "gaokao": _json_keyword_in_two_folders,
    "math": _jsonl_train_twice,
    "gsm8k": _jsonl_test_twice,
    "agieval": _jsonl_task_with_a_dot,
}


@pytest.mark.parametrize("fmt", sorted(COLLISIONS))
def test_names_that_meet_are_refused_naming_both(fmt, tmp_path, capsys):
    folder = demo_copy(fmt, tmp_path)
    first, second = COLLISIONS[fmt](folder)
    refused(fmt, folder, tmp_path, capsys, first, second)


def test_a_cot_prompt_named_like_its_task_is_checked_not_skipped(tmp_path, capsys):
    folder = demo_copy("bbh", tmp_path)
    prompt = folder / "cot-prompts" / "boolean_expressions.txt"
    prompt.rename(folder / "cot-prompts" / "Boolean-Expressions.txt")
    (folder / "cot-prompts" / "Boolean-Expressions.txt").write_text("no exemplars here\n", encoding="utf-8")
    refused("bbh", folder, tmp_path, capsys, "cot-prompts/Boolean-Expressions.txt", "no chain-of-thought exemplars")


# --------------------------------------------------------------------------
# Empty files and benchmarks without items
# --------------------------------------------------------------------------

EMPTY = {
    "0-byte CSV": ("mmlu", "data/test/high_school_geography_test.csv", ""),
    "header-only CSV": ("ceval", "val/high_school_geography_val.csv", "id,question,A,B,C,D,answer\n"),
    "header-only CSV with row index": ("cmmlu", "data/test/chinese_food_culture.csv", ",Question,A,B,C,D,Answer\n"),
    "JSON list of none": (
        "gaokao",
        "Data/Objective_Questions/2010-2022_Math_II_MCQs.json",
        '{"keywords": "2010-2022_Math_II_MCQs", "example": []}',
    ),
    "[] JSON": ("bbh", "bbh/boolean_expressions.json", "[]"),
    "empty JSONL": ("agieval", "data/v1/sat-math.jsonl", ""),
    "blank-lines JSONL": ("math", "data/math/test.jsonl", "\n\n"),
    "empty gzip JSONL": ("humaneval", "data/HumanEval.jsonl.gz", None),
}


@pytest.mark.parametrize("case", sorted(EMPTY))
def test_an_empty_file_is_refused_by_name(case, tmp_path, capsys):
    fmt, rel, text = EMPTY[case]
    folder = demo_copy(fmt, tmp_path)
    if text is None:
        (folder / rel).write_bytes(gzip.compress(b""))
    else:
        (folder / rel).write_text(text, encoding="utf-8")
    refused(fmt, folder, tmp_path, capsys, rel)


def parse(tmp_path, data, limits=None):
    """`snakemake -n` on the default config with MMLU's data in `data`."""
    config = absolutize(default_config())
    next(b for b in config["benchmarks"] if b["format"] == "mmlu")["data"] = str(data)
    if limits:
        config["limits"] = limits
    return run_snakemake(tmp_path / "run", config, "-n")


def test_a_folder_without_data_files_stops_the_run_at_parse(tmp_path):
    (tmp_path / "mmlu").mkdir()
    (tmp_path / "mmlu" / "notes.txt").write_text("no data here\n", encoding="utf-8")
    proc = parse(tmp_path, tmp_path / "mmlu")
    assert proc.returncode != 0
    assert f"{tmp_path / 'mmlu'}: no MMLU files found" in proc.stderr + proc.stdout
    assert not (tmp_path / "run" / "results").exists()


# --------------------------------------------------------------------------
# Files over limits.max_file_mib: at parse (the listing), and again while reading
# --------------------------------------------------------------------------


def test_an_oversized_file_stops_the_run_at_parse(tmp_path):
    folder = demo_copy("mmlu", tmp_path)
    big = folder / "data/test/high_school_geography_test.csv"
    os.truncate(big, 65 * MIB)  # sparse: over the 64 MiB default, nothing written
    proc = parse(tmp_path, folder)
    out = proc.stderr + proc.stdout
    assert proc.returncode != 0
    assert f"{big}: file is 65.0 MiB, over the limit of 64.0 MiB per file (limits.max_file_mib)" in out, out
    assert not (tmp_path / "run" / "results").exists()


def test_the_file_limit_is_configurable_and_checked_by_the_data_step(tmp_path, capsys):
    folder = demo_copy("ceval", tmp_path)
    limits = {"max_file_mib": 0.0005}  # 524 bytes: the demo files are larger
    with pytest.raises(DataError, match=r"over the limit of 524 bytes per file \(limits.max_file_mib\)"):
        input_files(PrepareSpec.from_dict(spec("ceval", folder, limits)))
    refused("ceval", folder, tmp_path, capsys, "_dev.csv: file is", "limits.max_file_mib", limits=limits)
    assert input_files(PrepareSpec.from_dict(spec("ceval", folder)))  # the defaults take the demo as it is


# --------------------------------------------------------------------------
# Items over limits.max_item_kib, refused with file and line while reading
# --------------------------------------------------------------------------


def test_a_huge_csv_cell_is_refused_with_its_line(tmp_path, capsys):
    folder = demo_copy("mmlu", tmp_path)
    path = folder / "data/test/high_school_geography_test.csv"
    line = append_line(path, "Q" * MIB + ",a,b,c,d,A")
    refused(
        "mmlu",
        folder,
        tmp_path,
        capsys,
        f"high_school_geography_test.csv line {line}: line is over the limit "
        "of 256.0 KiB per item (limits.max_item_kib)",
    )


def test_a_csv_row_over_a_configured_limit_across_lines_is_refused_at_its_first_line(tmp_path, capsys):
    folder = demo_copy("ceval", tmp_path)
    path = folder / "val/high_school_geography_val.csv"
    line = append_line(path, '99,"' + "\n".join(["x" * 100] * 100) + '",a,b,c,d,A')  # 10 KB over 101 lines
    refused(
        "ceval",
        folder,
        tmp_path,
        capsys,
        f"high_school_geography_val.csv line {line}:",
        "limits.max_item_kib",
        limits={"max_item_kib": 4},
    )


def test_a_huge_json_line_is_refused_with_its_line(tmp_path, capsys):
    folder = demo_copy("agieval", tmp_path)
    path = folder / "data/v1/sat-math.jsonl"
    line = append_line(
        path, json.dumps({"passage": "", "question": "Q" * MIB, "options": ["(A)1", "(B)2"], "label": "A"})
    )
    refused("agieval", folder, tmp_path, capsys, f"sat-math.jsonl line {line}: line is over the limit", "max_item_kib")


def test_a_huge_item_of_a_json_document_is_refused_with_its_position(tmp_path, capsys):
    folder = demo_copy("gaokao", tmp_path)
    path = folder / "Data/Objective_Questions/2010-2022_Math_II_MCQs.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["example"].append({**data["example"][0], "analysis": "解" * MIB})
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    n = len(data["example"]) - 1
    refused(
        "gaokao",
        folder,
        tmp_path,
        capsys,
        f"2010-2022_Math_II_MCQs.json example {n}: item is 3.0 MiB, over "
        "the limit of 256.0 KiB per item (limits.max_item_kib)",
    )


def test_the_item_limit_is_configurable(tmp_path, capsys):
    folder = demo_copy("bbh", tmp_path)
    path = folder / "bbh/boolean_expressions.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["examples"].append({"input": "not " * 1280 + "True is", "target": "False"})  # 5 KiB
    path.write_text(json.dumps(data), encoding="utf-8")
    assert prepare("bbh", folder, tmp_path / "fine") == 0  # under the default
    refused(
        "bbh",
        folder,
        tmp_path,
        capsys,
        f"boolean_expressions.json example {len(data['examples']) - 1}: item is",
        "limits.max_item_kib",
        limits={"max_item_kib": 4},
    )


# --------------------------------------------------------------------------
# gzip: the limits hold while decompressing (a bomb never reaches memory)
# --------------------------------------------------------------------------


def gzip_of(path, chunk: bytes, total: int):
    with gzip.open(path, "wb", compresslevel=6) as f:
        for _ in range(total // len(chunk)):
            f.write(chunk)


def test_a_gzip_bomb_stops_at_the_item_limit_while_decompressing(tmp_path, capsys):
    folder = demo_copy("humaneval", tmp_path)
    bomb = folder / "data/HumanEval.jsonl.gz"
    gzip_of(bomb, b"a" * MIB, 128 * MIB)  # one 128 MiB line, ~130 KB on disk
    assert bomb.stat().st_size < MIB
    tracemalloc.start()
    try:
        with using_limits(Limits.default()), pytest.raises(DataError, match="line 1: line is over the limit"):
            formats.get("humaneval").read(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB, f"{peak / MIB:.0f} MiB held while reading"
    refused("humaneval", folder, tmp_path, capsys, "HumanEval.jsonl.gz line 1:", "limits.max_item_kib")


def test_a_gzip_bomb_stops_at_the_file_limit_while_decompressing(tmp_path, capsys):
    folder = demo_copy("humaneval", tmp_path)
    bomb = folder / "data/HumanEval.jsonl.gz"
    gzip_of(bomb, b"\n" * MIB, 8 * MIB)  # short lines, 8 MiB decompressed
    refused(
        "humaneval",
        folder,
        tmp_path,
        capsys,
        "HumanEval.jsonl.gz: decompressed, it is over the limit of 1.0 MiB per file (limits.max_file_mib)",
        limits={"max_file_mib": 1},
    )
