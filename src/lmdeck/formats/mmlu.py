"""MMLU (Hendrycks et al.): ``{dev,val,test}/<subject>_<split>.csv`` wherever the split
folders sit under the benchmark folder.

Two CSV variants, detected per file: the hendrycks tarball's (no header,
``question,A,B,C,D,answer`` with answer A-D) and the header variant
``question,choice0,choice1,choice2,choice3,answer`` with answer 0-3 (the HF ``cais/mmlu``
fields flattened). Evaluated: ``test``; exemplars: ``dev``.

* lm-eval ``mmlu``: the ``cais/mmlu`` columns (``question, subject, choices, answer`` as
  0-3); the task's own description, prompt and first-n sampler over ``dev``.
* OpenCompass ``mmlu_ppl`` (base models; ``mmlu_ppl_ac766d``: 5-shot ``FixKRetriever`` over dev
  rows 0-4, per-option perplexity) / ``mmlu_gen`` (chat models; ``mmlu_openai_simple_evals_gen_b618ea``:
  0-shot chain of thought, answer read from ``ANSWER: X``), datasets ``lukaemon_mmlu_<subject>``:
  its MMLUDataset reads the hendrycks layout, ``<path>/{dev,test}/<subject>_<split>.csv`` without
  header, answer letter. Its summary group ``mmlu`` is the plain mean of the subjects (macro;
  ``mmlu-weighted`` uses fixed full-dataset sizes).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
from lmdeck.formats.files import DataError, check_columns, check_letter, read_csv, rel, split_files

HEADER = ["question", "choice0", "choice1", "choice2", "choice3", "answer"]
SPLITS = {"dev": "_dev", "val": "_val", "test": "_test"}
EXPECTED = "{dev,test}/<subject>_<split>.csv"


def source_files(folder: Path) -> list[Path]:
    return [path for _, _, path in split_files(folder, "MMLU", SPLITS, "test", EXPECTED)]


def read(folder: Path) -> list[Record]:
    records = []
    for subject, split, path in split_files(folder, "MMLU", SPLITS, "test", EXPECTED):
        rows = read_csv(path)
        header = bool(rows) and [c.strip().lower() for c in rows[0][1]] == HEADER
        body = rows[1:] if header else rows
        if not body:
            raise DataError("file holds no questions", path)
        for line, row in body:
            check_columns(path, line, row, 6)
            question, *options, answer = row
            if header:
                if answer.strip() not in ("0", "1", "2", "3"):
                    raise DataError(f"answer {answer!r} is not one of the option indices 0-3", path, line)
                index = int(answer.strip())
            else:
                index = "ABCD".index(check_letter(answer, 4, path, line))
            records.append(
                Record(
                    subject,
                    split,
                    f"{rel(path, folder)}:{line}",
                    {"question": question, "choices": options, "answer": index},
                )
            )
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``cais/mmlu`` columns."""
    return {
        "question": rec.fields["question"],
        "subject": rec.subtask,
        "choices": rec.fields["choices"],
        "answer": rec.fields["answer"],
        ITEM_ID: rec.item_id,
    }


def hendrycks_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's MMLUDataset reads: ``<folder>/{dev,test}/<subject>_<split>.csv``,
    no header, answer letter, in the authors' order."""
    for split in ("dev", "test"):
        by_subject: dict[str, list[Record]] = {}
        for rec in records:
            by_subject.setdefault(rec.subtask, [])
            if rec.split == split:
                by_subject[rec.subtask].append(rec)
        for subject, recs in by_subject.items():
            target = folder / split / f"{subject}_{split}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                for rec in recs:
                    writer.writerow([rec.fields["question"], *rec.fields["choices"], "ABCD"[rec.fields["answer"]]])


def _mmlu_subject(cfg: dict) -> str | None:
    return cfg.get("dataset_name") if cfg.get("dataset_path") == "cais/mmlu" else None


def _oc_subject(dataset: dict) -> str | None:
    return dataset.get("name")


def _default(harness: str, shots: int, kind: str) -> str:
    if harness == "lm-eval":
        return "mmlu"
    return "mmlu_ppl" if kind == "base" else "mmlu_gen"


FORMAT = Format(
    name="mmlu",
    label="MMLU",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=5,
    lm_eval={
        "mmlu": LmEvalTask(
            variant="mmlu",
            folder="mmlu/default",
            subtask_of=_mmlu_subject,
            splits={"test": "test", "dev": "dev"},
            to_row=lm_eval_row,
            metric="acc",
            fewshot_split="dev",
            aggregation="micro",
            note="CSV rows -> the cais/mmlu columns (question, subject, choices, answer 0-3)",
        ),
    },
    opencompass={
        "mmlu_ppl": OpenCompassDataset(
            variant="mmlu_ppl",
            module="opencompass.configs.datasets.mmlu.mmlu_ppl",
            variable="mmlu_datasets",
            subtask_of=_oc_subject,
            layout=hendrycks_layout,
            shots=(5,),
            kinds=("base",),
            note="rows written in the hendrycks CSV layout its MMLUDataset reads (no header, answer letter)",
        ),
        "mmlu_gen": OpenCompassDataset(
            variant="mmlu_gen",
            module="opencompass.configs.datasets.mmlu.mmlu_gen",
            variable="mmlu_datasets",
            subtask_of=_oc_subject,
            layout=hendrycks_layout,
            shots=(0,),
            note="mmlu_gen is OpenCompass's 0-shot chain-of-thought prompt (mmlu_openai_simple_evals_gen_b618ea)",
        ),
    },
    default_variant=_default,
)
