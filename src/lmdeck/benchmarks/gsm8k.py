"""GSM8K (Cobbe et al.).

Files: ``grade_school_math/data/test.jsonl`` (evaluated) and ``train.jsonl``
(few-shot exemplars), found wherever they sit under the benchmark folder; keys
``question``, ``answer`` (worked solution with ``<<calc>>`` annotations, last
line ``#### N``).

Gold answer: N with thousands separators removed. Prompt (chain of thought,
exemplars = the first ``shots`` records of train.jsonl, calculator annotations
kept as in the file, like lm-eval's plain ``gsm8k`` task):

    Question: {question}\\nAnswer: {solution, "#### N" line -> "The answer is N."}\\n\\n   (per exemplar)
    Question: {question}\\nAnswer:
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import DataError, Item, Loader, find_file, get_field, no_files, read_jsonl, rel

_FINAL = re.compile(r"\n?####\s*(.*?)\s*$")


def split_solution(text: str, path: Path, line: int) -> tuple[str, str]:
    """``(chain of thought ending "The answer is N.", N)`` from a GSM8K answer field."""
    m = _FINAL.search(text)
    if not m or not m.group(1):
        raise DataError("answer has no final '#### <number>' line", path, line)
    number = m.group(1).replace(",", "")
    body = text[: m.start()].rstrip()
    cot = f"{body}\nThe answer is {number}." if body else f"The answer is {number}."
    return cot, number


def read_records(path: Path) -> list[tuple[int, str, str, str]]:
    """``[(line, question, chain_of_thought, number)]``."""
    out = []
    for line, rec in read_jsonl(path):
        question = get_field(rec, "question", str, path, line)
        cot, number = split_solution(get_field(rec, "answer", str, path, line), path, line)
        out.append((line, question, cot, number))
    return out


class Gsm8kLoader(Loader):
    name = "gsm8k"

    def _files(self, folder: Path) -> tuple[Path, Path | None]:
        test = find_file(folder, "test.jsonl", "GSM8K test.jsonl")
        if test is None:
            raise no_files(folder, "GSM8K", "grade_school_math/data/test.jsonl")
        return test, find_file(folder, "train.jsonl", "GSM8K train.jsonl")

    def source_files(self, folder: Path) -> list[Path]:
        test, train = self._files(folder)
        return sorted([test] + ([train] if train else []))

    def load(self, folder: Path, shots: int) -> list[Item]:
        test, train = self._files(folder)
        exemplars = read_records(train)[:shots] if shots > 0 and train else []
        context = "".join(f"Question: {q}\nAnswer: {cot}\n\n" for _, q, cot, _ in exemplars)
        return [
            Item(subtask="gsm8k", id=f"{test.stem}/{i}", kind="gen",
                 prompt=f"{context}Question: {q}\nAnswer:", answer=number,
                 meta={"file": rel(test, folder), "line": line, "n_shots": len(exemplars)})
            for i, (line, q, _, number) in enumerate(read_records(test))
        ]
