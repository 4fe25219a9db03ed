"""GSM8K (Cobbe et al.): ``grade_school_math/data/test.jsonl`` (evaluated) and ``train.jsonl``
(exemplars, optional), found wherever they sit under the benchmark folder; keys
``question``, ``answer`` (the worked solution with ``<<calc>>`` annotations, last line
``#### N``). The ``*_socratic.jsonl`` variants are not read.

* lm-eval ``gsm8k`` (``gsm8k/gsm8k.yaml`` only; the ``gsm8k-cot*`` tasks of that folder are
  other prompts): the ``openai/gsm8k`` (config ``main``) columns ``question, answer``, exactly
  the authors' keys, so the conversion is a plain data swap. The task's own prompt
  ``Question: {question}\\nAnswer:``, its exemplars drawn from ``train`` by lm-eval's default
  (seeded random) sampler, its stop sequences and its ``strict-match`` / ``flexible-extract``
  filters. Without a ``train.jsonl`` only 0 shots are possible.

Subtask key: ``gsm8k`` -- the benchmark has one task; the HF config name ``main`` is shared
by every task of lm-eval's gsm8k folder and would name nothing. Item ids
``<file>:<line>``, e.g. ``grade_school_math/data/test.jsonl:1``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, Record
from lmdeck.formats.files import DataError, find_file, get_field, no_files, read_jsonl, rel, require_folder

SUBTASK = "gsm8k"
EXPECTED = "grade_school_math/data/{test,train}.jsonl"
# The final-answer line lm-eval's target and strict-match filter both rely on.
_FINAL = re.compile(r"####\s*(\S.*?)\s*$")


def _files(folder: Path) -> dict[str, Path]:
    folder = require_folder(folder)
    test = find_file(folder, "test.jsonl", "GSM8K test.jsonl")
    if test is None:
        raise no_files(folder, "GSM8K", EXPECTED)
    train = find_file(folder, "train.jsonl", "GSM8K train.jsonl")
    return {"test": test, **({"train": train} if train else {})}


def source_files(folder: Path) -> list[Path]:
    return sorted(_files(folder).values())


def final_answer(solution: str, path: Path, line: int) -> str:
    """N of the solution's last ``#### N`` line (thousands separators kept, as written)."""
    last = solution.rstrip().rsplit("\n", 1)[-1]
    m = _FINAL.search(last)
    if not m:
        raise DataError("answer has no final '#### <number>' line", path, line)
    return m.group(1)


def read(folder: Path) -> list[Record]:
    records = []
    for split, path in sorted(_files(folder).items(), key=lambda kv: kv[0] != "test"):
        rows = read_jsonl(path)
        if not rows:
            raise DataError("file holds no questions", path)
        for line, obj in rows:
            question = get_field(obj, "question", str, path, line)
            answer = get_field(obj, "answer", str, path, line)
            final_answer(answer, path, line)
            records.append(Record(SUBTASK, split, f"{rel(path, Path(folder))}:{line}",
                                  {"question": question, "answer": answer}))
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``openai/gsm8k`` columns."""
    return {"question": rec.fields["question"], "answer": rec.fields["answer"], ITEM_ID: rec.item_id}


def _gsm8k_task(cfg: dict) -> str | None:
    return SUBTASK if cfg.get("task") == "gsm8k" else None


FORMAT = Format(
    name="gsm8k",
    label="GSM8K",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=5,  # gsm8k.yaml's num_fewshot
    lm_eval={
        "gsm8k": LmEvalTask(variant="gsm8k", folder="gsm8k", subtask_of=_gsm8k_task,
                            splits={"test": "test", "train": "train"}, to_row=lm_eval_row,
                            metric="exact_match,strict-match", fewshot_split="train", aggregation="micro",
                            note="exemplars: lm-eval's seeded random draw from train.jsonl"),
    },
    opencompass={},
)
