"""MMLU (Hendrycks et al.).

Files: ``{dev,val,test}/<subject>_<split>.csv`` wherever the split folders sit
under the benchmark folder (the hendrycks tarball has ``data/``, some copies
``data/mmlu/``). Two CSV variants are read, detected per file:

* hendrycks original: no header, ``question,A,B,C,D,answer`` with answer A-D;
* header ``question,choice0,choice1,choice2,choice3,answer`` with answer 0-3
  (the HF ``cais/mmlu`` fields flattened).

Evaluation split: ``test``; few-shot exemplars: the first ``shots`` rows of the
same subject's ``dev`` file. Prompt = lm-evaluation-harness ``mmlu`` (default
task, lm_eval/tasks/mmlu/default/_default_template_yaml):

    The following are multiple choice questions (with answers) about {subject, _ -> space}.\\n\\n
    {question.strip()}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}\\nAnswer: {letter}\\n\\n   (per exemplar)
    {question.strip()}\\nA. {A}\\nB. {B}\\nC. {C}\\nD. {D}\\nAnswer:

choices (" A", " B", " C", " D").
"""
from __future__ import annotations

from pathlib import Path

from .base import CsvMcqLoader, DataError, McqRow, check_columns, check_letter, read_csv

HEADER = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]
LEAD = "Answer:"


def description(subject: str) -> str:
    return f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"


def read_rows(path: Path) -> list[McqRow]:
    rows = read_csv(path)
    header = bool(rows) and [c.strip().lower() for c in rows[0][1]] == HEADER
    out = []
    for line, row in (rows[1:] if header else rows):
        check_columns(path, line, row, 6)
        question, *options, answer = row
        if header:
            index = answer.strip()
            if index not in ("0", "1", "2", "3"):
                raise DataError(f"answer {answer!r} is not one of the option indices 0-3", path, line)
            letter = "ABCD"[int(index)]
        else:
            letter = check_letter(answer, 4, path, line)
        out.append(McqRow(question, tuple(options), letter, line))
    return out


class MmluLoader(CsvMcqLoader):
    name = "mmlu"
    label = "MMLU"
    lead = LEAD

    def read_rows(self, path: Path) -> list[McqRow]:
        return read_rows(path)

    def description(self, subject: str) -> str:
        return description(subject)
