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

* OpenCompass ``gsm8k_gen`` (base and chat models; the alias imports ``gsm8k_gen_1d7fe4``):
  dataset ``gsm8k``, its GSM8KDataset reads ``<path>/{train,test}.jsonl`` -- the authors' files
  as they are: lmdeck writes the records back as JSON lines in the authors' serialization
  (``{"question", "answer"}``, ``json.dumps`` defaults; the authors' files come back byte for
  byte), and an empty ``train.jsonl`` when the folder ships none (the loader opens both; the
  config never reads train). 4 shots: the 4 chain-of-thought exemplars are fixed in its prompt
  template as HUMAN/BOT turns (its retriever is a ZeroRetriever), ``Question: {question}\\nLet's
  think step by step\\nAnswer:``; generation up to 512 tokens; ``gsm8k_postprocess`` (last number
  before any ``Question:``) vs ``gsm8k_dataset_postprocess`` (after ``#### ``, commas removed),
  Gsm8kEvaluator's ``accuracy``.

Subtask key: ``gsm8k`` -- the benchmark has one task; the HF config name ``main`` is shared
by every task of lm-eval's gsm8k folder and would name nothing (OpenCompass's one dataset,
abbr ``gsm8k``, maps to the same key). Item ids ``<file>:<line>``, e.g.
``grade_school_math/data/test.jsonl:1``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
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
            records.append(
                Record(SUBTASK, split, f"{rel(path, Path(folder))}:{line}", {"question": question, "answer": answer})
            )
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``openai/gsm8k`` columns."""
    return {"question": rec.fields["question"], "answer": rec.fields["answer"], ITEM_ID: rec.item_id}


def _gsm8k_task(cfg: dict) -> str | None:
    return SUBTASK if cfg.get("task") == "gsm8k" else None


def gsm8k_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's GSM8KDataset reads: ``<folder>/{train,test}.jsonl``, the authors'
    JSON lines (``{"question", "answer"}``, their serialization), in the authors' order; an empty
    ``train.jsonl`` when there are no train records (the loader opens it; nothing reads it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        lines = [
            json.dumps({"question": r.fields["question"], "answer": r.fields["answer"]}) + "\n"
            for r in records
            if r.split == split
        ]
        (folder / f"{split}.jsonl").write_text("".join(lines), encoding="utf-8")


def _oc_gsm8k(dataset: dict) -> str | None:
    return SUBTASK if dataset.get("abbr") == "gsm8k" else None


def _default(harness: str, shots: int, kind: str) -> str:
    return "gsm8k" if harness == "lm-eval" else "gsm8k_gen"


FORMAT = Format(
    name="gsm8k",
    label="GSM8K",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=5,  # gsm8k.yaml's num_fewshot
    lm_eval={
        "gsm8k": LmEvalTask(
            variant="gsm8k",
            folder="gsm8k",
            subtask_of=_gsm8k_task,
            splits={"test": "test", "train": "train"},
            to_row=lm_eval_row,
            metric="exact_match,strict-match",
            fewshot_split="train",
            aggregation="micro",
            note="exemplars: lm-eval's seeded random draw from train.jsonl",
        ),
    },
    opencompass={
        "gsm8k_gen": OpenCompassDataset(
            variant="gsm8k_gen",
            module="opencompass.configs.datasets.gsm8k.gsm8k_gen",
            variable="gsm8k_datasets",
            subtask_of=_oc_gsm8k,
            layout=gsm8k_layout,
            shots=(4,),
            metric="accuracy",
            aggregation="macro",
            note="the authors' {train,test}.jsonl written back as they are (an empty train.jsonl if none); "
            "exemplars: the 4 CoT turns fixed in gsm8k_gen_1d7fe4's prompt template, not train.jsonl",
        ),
    },
    default_variant=_default,
)
