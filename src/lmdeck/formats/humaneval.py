"""HumanEval (Chen et al.): ``data/HumanEval.jsonl.gz`` (gzip JSON lines, as the authors ship
it; a plain ``HumanEval.jsonl`` is read too), found wherever it sits under the benchmark
folder; keys ``task_id, prompt, canonical_solution, test, entry_point``. Exactly one
``HumanEval*.jsonl[.gz]`` file may be there (two would be two copies of the problems).

* lm-eval ``humaneval`` (``humaneval/humaneval.yaml`` only; not ``humaneval_64``,
  ``humaneval_plus`` or the instruct variants): the ``openai/openai_humaneval`` columns, which
  are the authors' keys (a plain data swap). Prompt = the function ``prompt``, 0 shots; the
  completion is run against ``test`` + ``check(entry_point)`` by the ``code_eval`` metric
  (offline through :mod:`lmdeck.harness.code_eval`); results key ``pass@1`` under the
  ``create_test`` filter.

Subtask key ``humaneval``; item ids ``<file>:<line>``, e.g. ``data/HumanEval.jsonl.gz:1``;
``task_id`` must be unique.
"""

from __future__ import annotations

from pathlib import Path

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, Record
from lmdeck.formats.files import DataError, get_field, glob_files, no_files, read_jsonl, rel, require_folder

SUBTASK = "humaneval"
EXPECTED = "data/HumanEval.jsonl.gz"
KEYS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


def _file(folder: Path) -> Path:
    folder = require_folder(folder)
    found = sorted(set(glob_files(folder, "HumanEval*.jsonl.gz") + glob_files(folder, "HumanEval*.jsonl")))
    if not found:
        raise no_files(folder, "HumanEval", EXPECTED)
    if len(found) > 1:
        listed = ", ".join(rel(p, folder) for p in found)
        raise DataError(
            f"found several HumanEval files ({listed}); pass the folder that holds only one of them", folder
        )
    return found[0]


def source_files(folder: Path) -> list[Path]:
    return [_file(folder)]


def read(folder: Path) -> list[Record]:
    path = _file(folder)
    rows = read_jsonl(path)
    if not rows:
        raise DataError("file holds no problems", path)
    records, seen = [], {}
    for line, obj in rows:
        fields = {key: get_field(obj, key, str, path, line) for key in KEYS}
        task_id = fields["task_id"]
        if task_id in seen:
            raise DataError(f"task_id {task_id!r} already used on line {seen[task_id]}", path, line)
        seen[task_id] = line
        records.append(Record(SUBTASK, "test", f"{rel(path, Path(folder))}:{line}", fields))
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``openai/openai_humaneval`` columns."""
    return {**{k: rec.fields[k] for k in KEYS}, ITEM_ID: rec.item_id}


def _humaneval_task(cfg: dict) -> str | None:
    return SUBTASK if cfg.get("task") == "humaneval" else None


FORMAT = Format(
    name="humaneval",
    label="HumanEval",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=0,
    lm_eval={
        "humaneval": LmEvalTask(
            variant="humaneval",
            folder="humaneval",
            subtask_of=_humaneval_task,
            splits={"test": "test"},
            to_row=lm_eval_row,
            metric="pass@1,create_test",
            shots=(0,),
            aggregation="micro",
            note="the authors' JSONL columns; code_eval served offline by lmdeck, programs run in lmdeck's sandbox",
        ),
    },
    opencompass={},
)
