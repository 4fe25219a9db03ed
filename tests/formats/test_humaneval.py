"""HumanEval: the authors' problem file read and checked; lm-eval's own humaneval task built on it offline."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmdeck.formats import DataError, allowed_shots
from lmdeck.formats.humaneval import FORMAT
from lmdeck.harness.lmeval import builtin_tasks, write_native

ROOT = Path(__file__).parents[2]
SHARED = ROOT / ".." / "shared" / "benchdata" / "humaneval"
DEMO = ROOT / "data" / "demo" / "humaneval"
VARIANT = FORMAT.lm_eval["humaneval"]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="shared benchdata absent")

PROBLEM = {
    "task_id": "Tiny/0",
    "prompt": "def add(a, b):\n",
    "canonical_solution": "    return a + b\n",
    "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    "entry_point": "add",
}


def write(path: Path, rows, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in rows)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@needs_shared
def test_reads_the_authors_file():
    records = FORMAT.read(SHARED)
    assert len(records) == 10
    assert [r.fields["task_id"] for r in records] == [f"HumanEval/{i}" for i in range(10)]
    assert records[0].item_id == "data/HumanEval.jsonl.gz:1" and records[0].subtask == "humaneval"
    assert records[0].fields["entry_point"] == "has_close_elements"
    assert records[0].fields["prompt"].startswith("from typing import List\n\n\ndef has_close_elements(")
    assert set(records[0].fields) == {"task_id", "prompt", "canonical_solution", "test", "entry_point"}
    assert FORMAT.source_files(SHARED) == [SHARED / "data" / "HumanEval.jsonl.gz"]


def test_reads_the_demo_file_and_plain_jsonl(tmp_path):
    records = FORMAT.read(DEMO)
    assert [r.item_id for r in records] == [f"data/HumanEval.jsonl.gz:{n}" for n in (1, 2, 3)]
    write(tmp_path / "HumanEval.jsonl", [PROBLEM])
    assert [r.item_id for r in FORMAT.read(tmp_path)] == ["HumanEval.jsonl:1"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([PROBLEM, {**PROBLEM, "task_id": "Tiny/1", "entry_point": None}], "line 2: missing field 'entry_point'"),
        ([{**PROBLEM, "test": ["assert True"]}], "line 1: field 'test' should be str, got list"),
        ([PROBLEM, "\n", PROBLEM], "line 3: task_id 'Tiny/0' already used on line 1"),
        (["{not json\n"], "line 1: not valid JSON"),
        ([], "file holds no problems"),
    ],
)
def test_bad_file_names_file_and_line(tmp_path, rows, message):
    path = write(tmp_path / "data" / "HumanEval.jsonl.gz", rows, gz=True)
    with pytest.raises(DataError) as err:
        FORMAT.read(tmp_path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_two_and_broken_files(tmp_path):
    with pytest.raises(DataError, match="no HumanEval files found"):
        FORMAT.read(tmp_path)
    write(tmp_path / "data" / "HumanEval.jsonl.gz", [PROBLEM], gz=True)
    write(tmp_path / "data" / "HumanEval.jsonl", [PROBLEM])
    with pytest.raises(DataError, match="found several HumanEval files"):
        FORMAT.read(tmp_path)
    (tmp_path / "data" / "HumanEval.jsonl").unlink()
    (tmp_path / "data" / "HumanEval.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="HumanEval.jsonl.gz: cannot read file"):
        FORMAT.read(tmp_path)


def test_variant_is_humaneval_yaml_only():
    builtin = builtin_tasks(VARIANT)
    assert list(builtin) == ["humaneval"]
    task, path, cfg = builtin["humaneval"]
    assert (task, path.name, cfg["num_fewshot"]) == ("humaneval", "humaneval.yaml", 0)
    assert [f["name"] for f in cfg["filter_list"]] == [VARIANT.metric.split(",")[1]]
    assert cfg["metric_list"][0]["k"] == [1]  # pass_at_k(k=[1]) reports "pass@1"
    assert allowed_shots(VARIANT) == [0]


@needs_shared
def test_native_task_prompt_offline(tmp_path):
    """lm-eval's humaneval utils load the code_eval metric at import; lmdeck's offline stand-in
    (lmdeck.harness.code_eval) makes that work without the Hub, in a fresh interpreter."""
    code_eval = pytest.importorskip("lmdeck.harness.code_eval")
    records = FORMAT.read(SHARED)
    index = write_native(FORMAT, VARIANT, records, tmp_path / "tasks", shots=0)
    assert index["humaneval"]["items"] == [r.item_id for r in records]
    code_eval.install_offline_metric(tmp_path / "modules")
    env = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
        "HF_ALLOW_CODE_EVAL": "1",
    }
    script = f"""
import json
from lm_eval.tasks import TaskManager
manager = TaskManager(include_path={str(tmp_path / "tasks")!r}, include_defaults=False)
task = manager.load(["humaneval"])["tasks"]["humaneval"]
task.build_all_requests(limit=1, rank=0, world_size=1)
inst = task.instances[0]
print(json.dumps({{"prompt": inst.args[0], "target": task.doc_to_target(inst.doc), "id": inst.doc["lmdeck_id"]}}))
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    first = records[0].fields
    assert out == {
        "prompt": first["prompt"],
        "target": f"{first['test']}\ncheck({first['entry_point']})",
        "id": "data/HumanEval.jsonl.gz:1",
    }
