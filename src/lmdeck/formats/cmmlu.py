"""CMMLU (Li et al.): ``data/{dev,test}/<subject>.csv`` wherever the split folders sit under the
benchmark folder, header ``,Question,A,B,C,D,Answer`` (first column: the row index, unnamed),
answer letter A-D. Evaluated: ``test``; exemplars: ``dev``.

* lm-eval ``cmmlu``: ``lm_eval/tasks/cmmlu/cmmlu_<subject>.yaml`` reads the splits ``test`` and
  ``dev`` (first-n exemplars) with the ``haonan-li/cmmlu`` columns
  ``Question, A, B, C, D, Answer``; its group weights subtasks by size (micro).
* OpenCompass ``cmmlu_ppl`` (base models; ``cmmlu_ppl_8b9c76``: 5-shot ``FixKRetriever`` over dev
  rows 0-4, per-option perplexity) / ``cmmlu_gen`` (chat models; ``cmmlu_0shot_cot_gen_305931``:
  0-shot chain of thought, answer read with ``答案: X``). ``CMMLUDataset`` opens
  ``<path>/{dev,test}/<subject>.csv``, skips the header and asserts 7 columns per row; both
  files are laid out for every subject. Its summary group ``cmmlu`` is the plain mean of the
  subjects (macro).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
from lmdeck.formats.files import DataError, check_letter, read_csv_records, rel, split_files

SPLITS = {"dev": "", "test": ""}
EXPECTED = "data/{dev,test}/<subject>.csv (header ,Question,A,B,C,D,Answer)"
COLUMNS = ["Question", "A", "B", "C", "D", "Answer"]


def source_files(folder: Path) -> list[Path]:
    return [path for _, _, path in split_files(folder, "CMMLU", SPLITS, "test", EXPECTED)]


def read(folder: Path) -> list[Record]:
    records = []
    for subject, split, path in split_files(folder, "CMMLU", SPLITS, "test", EXPECTED):
        header, rows = read_csv_records(path, COLUMNS)
        if len(header) != 7:
            raise DataError(f"header {header} should have 7 columns (row index, {', '.join(COLUMNS)})", path, 1)
        if not rows:
            raise DataError("file holds no questions", path)
        first = header[0]
        for line, row in rows:
            if not row["Question"].strip():
                raise DataError("empty question", path, line)
            fields = {c: row[c] for c in COLUMNS}
            fields["Answer"] = check_letter(row["Answer"], 4, path, line)
            fields["row"] = row[first]
            records.append(Record(subject, split, f"{rel(path, folder)}:{line}", fields))
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``haonan-li/cmmlu`` columns."""
    return {**{c: rec.fields[c] for c in COLUMNS}, ITEM_ID: rec.item_id}


def cmmlu_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's CMMLUDataset reads: ``<folder>/{dev,test}/<subject>.csv``, the authors'
    header and 7 columns, every subject in both splits, rows in the authors' order."""
    subjects = sorted({r.subtask for r in records})
    for split in ("dev", "test"):
        for subject in subjects:
            target = folder / split / f"{subject}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["", *COLUMNS])
                for rec in records:
                    if rec.subtask == subject and rec.split == split:
                        writer.writerow([rec.fields.get("row", ""), *(rec.fields[c] for c in COLUMNS)])


def _lm_eval_subject(cfg: dict) -> str | None:
    return cfg.get("dataset_name") if cfg.get("dataset_path") == "haonan-li/cmmlu" else None


def _oc_subject(dataset: dict) -> str | None:
    return dataset.get("name")


def _default(harness: str, shots: int, kind: str) -> str:
    if harness == "lm-eval":
        return "cmmlu"
    return "cmmlu_ppl" if kind == "base" else "cmmlu_gen"


FORMAT = Format(
    name="cmmlu",
    label="CMMLU",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=5,
    eval_split="test",
    lm_eval={
        "cmmlu": LmEvalTask(
            variant="cmmlu",
            folder="cmmlu",
            subtask_of=_lm_eval_subject,
            splits={"test": "test", "dev": "dev"},
            to_row=lm_eval_row,
            metric="acc",
            fewshot_split="dev",
            aggregation="micro",
            note="the authors' CSV columns as they are (Question, A-D, Answer)",
        ),
    },
    opencompass={
        "cmmlu_ppl": OpenCompassDataset(
            variant="cmmlu_ppl",
            module="opencompass.configs.datasets.cmmlu.cmmlu_ppl",
            variable="cmmlu_datasets",
            subtask_of=_oc_subject,
            layout=cmmlu_layout,
            shots=(5,),
            kinds=("base",),
            note="the authors' data/{dev,test}/<subject>.csv, byte for byte",
        ),
        "cmmlu_gen": OpenCompassDataset(
            variant="cmmlu_gen",
            module="opencompass.configs.datasets.cmmlu.cmmlu_gen",
            variable="cmmlu_datasets",
            subtask_of=_oc_subject,
            layout=cmmlu_layout,
            shots=(0,),
            note="cmmlu_gen is OpenCompass's 0-shot chain-of-thought prompt",
        ),
    },
    default_variant=_default,
)
