"""GAOKAO-Bench objective questions (Zhang et al.).

Files: ``Data/Objective_Questions/<name>.json`` (when no ``Objective_Questions``
folder exists, every ``*.json`` under the benchmark folder), each
``{"keywords": <name>, "example": [{year, category, question, answer: [letters],
analysis, index, score}, ...]}``. The question text already contains the options.

Items (subtask = file stem, id = ``<stem>/<position in "example">``):

* one answer letter -> ``mcq`` with choices (" A", ..., up to the highest option
  letter found in the question, at least D);
* several letters (multi-answer or multi-blank questions) -> ``gen`` with the
  letters joined in file order, e.g. ``"AC"`` (the scorer extracts letters).

Prompt (0-shot; GAOKAO-Bench ships no few-shot exemplars, so ``shots`` is
ignored): ``{question.strip()}\\n答案：``. This is a deliberately plain base-model
prompt, not GAOKAO-Bench's own chat instruction ("请你做一道...选择题...【答案】...").
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import (LETTERS, DataError, Item, Loader, check_letter, find_dir, get_field,
                   glob_files, letter_choices, no_files, read_json, rel)

LEAD = "\n答案："
_OPTION = re.compile(r"(?:^|\s)([A-G])\s*[．.、:：]")


def option_count(question: str) -> int:
    """Number of options in a GAOKAO question: the highest option marker ("E．")
    found, but at least 4."""
    found = [LETTERS.index(m) + 1 for m in _OPTION.findall(question)]
    return max([4, *found])


class GaokaoLoader(Loader):
    name = "gaokao"

    def _files(self, folder: Path) -> list[Path]:
        objective = find_dir(folder, "Objective_Questions", "*.json", "GAOKAO-Bench Objective_Questions")
        files = sorted(objective.glob("*.json")) if objective else glob_files(folder, "*.json")
        if not files:
            raise no_files(folder, "GAOKAO-Bench", "Data/Objective_Questions/<name>.json")
        return files

    def source_files(self, folder: Path) -> list[Path]:
        return self._files(folder)

    def load(self, folder: Path, shots: int) -> list[Item]:
        items: list[Item] = []
        for path in self._files(folder):
            data = read_json(path)
            if not isinstance(data, dict):
                raise DataError("expected a JSON object with an \"example\" list", path)
            examples = get_field(data, "example", list, path)
            subtask = path.stem
            for i, ex in enumerate(examples):
                where = f"example {i}"
                if not isinstance(ex, dict):
                    raise DataError("expected a JSON object", path, where=where)
                question = get_field(ex, "question", str, path, where=where)
                answer = get_field(ex, "answer", (list, str), path, where=where)
                letters = [answer] if isinstance(answer, str) else answer
                if not letters:
                    raise DataError("empty answer list", path, where=where)
                n = option_count(question)
                letters = [check_letter(a, n, path, where=where) for a in letters]
                meta = {"file": rel(path, folder), "index": ex.get("index", i), "year": ex.get("year"),
                        "category": ex.get("category"), "score": ex.get("score"), "n_shots": 0}
                single = len(letters) == 1
                items.append(Item(
                    subtask=subtask,
                    id=f"{subtask}/{i}",
                    kind="mcq" if single else "gen",
                    prompt=question.strip() + LEAD,
                    choices=letter_choices(n) if single else (),
                    answer="".join(letters),
                    meta=meta,
                ))
        return items
