"""C-Eval (Huang et al.): the ``ceval/ceval-exam`` release, ``{dev,val,test}/<subject>_<split>.csv``
wherever the split folders sit under the benchmark folder.

Header ``id,question,A,B,C,D,answer[,explanation]`` (dev carries an explanation; the test split
ships without answers). Evaluated: ``val``; exemplars: ``dev``. Unlabelled ``test`` rows are read
(and checked) only so that OpenCompass's loader finds the file it opens.

* lm-eval ``ceval-valid``: ``lm_eval/tasks/ceval/ceval-valid_<subject>.yaml`` reads the splits
  ``val`` (evaluated) and ``dev`` (first-n exemplars) with the CSV's own columns; its group
  weights subtasks by size (micro).
* OpenCompass ``ceval_ppl`` (base models: per-option perplexity) / ``ceval_gen`` (chat models:
  generation, first capital letter): both 5-shot with ``FixKRetriever`` over ``dev`` rows 0-4,
  only the ``val`` datasets (abbr ``ceval-<subject>``). ``CEvalDataset`` opens
  ``<path>/{dev,val,test}/<subject>_<split>.csv`` with a header, so all three are laid out (a
  header-only test file when the authors ship none). Its summary group ``ceval`` is the plain
  mean of the subjects (macro).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
from lmdeck.formats.files import DataError, check_letter, read_csv_records, rel, split_files

SPLITS = {"dev": "_dev", "val": "_val", "test": "_test"}
EXPECTED = "{dev,val,test}/<subject>_<split>.csv (header id,question,A,B,C,D,answer)"
COLUMNS = ["id", "question", "A", "B", "C", "D", "answer", "explanation"]
REQUIRED = ["id", "question", "A", "B", "C", "D"]


def source_files(folder: Path) -> list[Path]:
    return [path for _, _, path in split_files(folder, "C-Eval", SPLITS, "val", EXPECTED)]


def read(folder: Path) -> list[Record]:
    records = []
    for subject, split, path in split_files(folder, "C-Eval", SPLITS, "val", EXPECTED):
        labelled = split != "test"
        header, rows = read_csv_records(path, REQUIRED + (["answer"] if labelled else []))
        if not rows and split != "test":
            raise DataError("file holds no questions", path)
        for line, row in rows:
            if not row["question"].strip():
                raise DataError("empty question", path, line)
            if labelled or row.get("answer", "").strip():
                row["answer"] = check_letter(row["answer"], 4, path, line)
            records.append(
                Record(subject, split, f"{rel(path, folder)}:{line}", {c: row[c] for c in COLUMNS if c in row})
            )
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``ceval/ceval-exam`` columns: the CSV's own."""
    return {**rec.fields, ITEM_ID: rec.item_id}


def ceval_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's CEvalDataset reads: ``<folder>/{dev,val,test}/<subject>_<split>.csv``
    with a header, every subject in every split (header only where the authors ship no rows),
    rows in the authors' order."""
    subjects = sorted({r.subtask for r in records})
    for split in ("dev", "val", "test"):
        for subject in subjects:
            recs = [r for r in records if r.subtask == subject and r.split == split]
            present = {k for r in recs for k in r.fields}
            header = [c for c in COLUMNS if c in present] or (REQUIRED + (["answer"] if split != "test" else []))
            target = folder / split / f"{subject}_{split}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(header)
                for rec in recs:
                    writer.writerow([rec.fields.get(c, "") for c in header])


def _lm_eval_subject(cfg: dict) -> str | None:
    return cfg.get("dataset_name") if cfg.get("dataset_path") == "ceval/ceval-exam" else None


def _oc_subject(dataset: dict) -> str | None:
    """The ``val`` datasets only (abbr ``ceval-<subject>``), never ``ceval-test-*``."""
    if dataset.get("reader_cfg", {}).get("test_split") != "val":
        return None
    return dataset.get("name")


def _default(harness: str, shots: int, kind: str) -> str:
    if harness == "lm-eval":
        return "ceval-valid"
    return "ceval_ppl" if kind == "base" else "ceval_gen"


FORMAT = Format(
    name="ceval",
    label="C-Eval",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=5,
    eval_split="val",
    lm_eval={
        "ceval-valid": LmEvalTask(
            variant="ceval-valid",
            folder="ceval",
            subtask_of=_lm_eval_subject,
            splits={"val": "val", "dev": "dev"},
            to_row=lm_eval_row,
            metric="acc",
            fewshot_split="dev",
            aggregation="micro",
            note="the authors' CSV columns as they are (id, question, A-D, answer)",
        ),
    },
    opencompass={
        "ceval_ppl": OpenCompassDataset(
            variant="ceval_ppl",
            module="opencompass.configs.datasets.ceval.ceval_ppl",
            variable="ceval_datasets",
            subtask_of=_oc_subject,
            layout=ceval_layout,
            shots=(5,),
            kinds=("base",),
            note="dev/val/test CSVs as the authors ship them (an empty test file if none)",
        ),
        "ceval_gen": OpenCompassDataset(
            variant="ceval_gen",
            module="opencompass.configs.datasets.ceval.ceval_gen",
            variable="ceval_datasets",
            subtask_of=_oc_subject,
            layout=ceval_layout,
            shots=(5,),
        ),
    },
    default_variant=_default,
)
