"""HumanEval (Chen et al.).

File: ``data/HumanEval.jsonl.gz`` (gzip JSON lines; a plain ``HumanEval*.jsonl``
is read too), keys ``task_id, prompt, canonical_solution, test, entry_point``.

Items: kind ``code``, subtask ``humaneval``, id = ``task_id``, prompt = the
function prompt (0-shot; ``shots`` is ignored -- HumanEval has no exemplars),
answer ``""``, meta ``{test, entry_point, canonical_solution, prompt_only}``
(``prompt_only`` = the bare function prompt, identical to ``prompt`` here).
"""
from __future__ import annotations

from pathlib import Path

from .base import DataError, Item, Loader, get_field, glob_files, no_files, read_jsonl, rel

KEYS = ("task_id", "prompt", "canonical_solution", "test", "entry_point")


class HumanEvalLoader(Loader):
    name = "humaneval"

    def source_files(self, folder: Path) -> list[Path]:
        files = sorted(set(glob_files(folder, "HumanEval*.jsonl.gz") + glob_files(folder, "HumanEval*.jsonl")))
        if not files:
            raise no_files(folder, "HumanEval", "data/HumanEval.jsonl.gz")
        return files

    def load(self, folder: Path, shots: int) -> list[Item]:
        items: list[Item] = []
        seen: dict[str, str] = {}
        for path in self.source_files(folder):
            for line, rec in read_jsonl(path):
                fields = {k: get_field(rec, k, str, path, line) for k in KEYS}
                task_id = fields["task_id"]
                where = f"{rel(path, folder)} line {line}"
                if task_id in seen:
                    raise DataError(f"task_id {task_id!r} already used at {seen[task_id]}", path, line)
                seen[task_id] = where
                items.append(Item(
                    subtask="humaneval", id=task_id, kind="code", prompt=fields["prompt"], answer="",
                    meta={"test": fields["test"], "entry_point": fields["entry_point"],
                          "canonical_solution": fields["canonical_solution"],
                          "prompt_only": fields["prompt"], "n_shots": 0},
                ))
        return items
