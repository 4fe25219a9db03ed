"""GAOKAO-Bench objective questions (Zhang et al.), as the authors distribute them:
``Data/Objective_Questions/<keyword>.json`` = ``{"keywords": <keyword>, "example": [{year,
category, question, answer, analysis, index, score}, ...]}`` (when no ``Objective_Questions``
folder exists, every ``*.json`` under the benchmark folder). The question text holds the options.

Answer forms: ``answer`` is a list; each element is one (sub-)question, and the letters inside
one element are ONE answer: ``["AC"]`` is one multi-select question whose answer is A and C,
``["A", "C"]`` two sub-questions answered A and C. Every element must be letters A-G.

Subtask = the file's keyword (its stem); item id = ``<file>#<position in "example">``.

OpenCompass only (lm-eval has no GAOKAO-Bench task). ``GaokaoBench_no_subjective_gen_d21e37``
(base models: the prompt as plain text) and ``GaokaoBench_no_subjective_gen_4c31db`` (chat
models: the same prompt as one HUMAN turn): 0-shot generation, ``GaokaoBenchDataset`` reads
``<path>/Multiple-choice_Questions/<keyword>.json`` and each dataset's evaluator is
``GaokaoBenchEvaluator_<type>`` (single_choice, multi_choice, multi_question_choice,
five_out_of_seven). Only the multiple-choice datasets are offered: the configs' fill-in-the-blank
datasets use the ``cloze`` evaluator, which scores a constant 0.

Points (OpenCompass's evaluator, per item): multi_choice gives 2 per element for the exact
letters, 1 when every predicted letter is in the answer, else 0 (max 2 x elements); the other
types 1 per element answered right (max = elements). A dataset's ``score`` is Σ points / Σ max
x 100. OpenCompass's summary group ``GaokaoBench`` weights the datasets with fixed weights (the
full datasets' total exam points); lmdeck's headline uses only the items present: the plain mean
of the subtask scores (macro), like OpenCompass's unweighted groups.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import Format, OpenCompassDataset, Record
from lmdeck.formats.files import (
    DataError,
    check_item_size,
    find_dir,
    get_field,
    glob_files,
    no_files,
    read_json,
    rel,
    unique_by,
)

EXPECTED = "Data/Objective_Questions/<keyword>.json"
FOLDER = "Multiple-choice_Questions"  # where GaokaoBenchDataset looks (the configs' `filename`)
# The multiple-choice datasets of OpenCompass's GaokaoBench configs (GaokaoBench_prompts.MCQ_prompts),
# keyword -> evaluator type; tests check this against the installed OpenCompass.
MCQ_TYPES = {
    "2010-2022_Math_II_MCQs": "single_choice",
    "2010-2022_Math_I_MCQs": "single_choice",
    "2010-2022_History_MCQs": "single_choice",
    "2010-2022_Biology_MCQs": "single_choice",
    "2010-2022_Political_Science_MCQs": "single_choice",
    "2010-2022_Physics_MCQs": "multi_choice",
    "2010-2022_Chemistry_MCQs": "single_choice",
    "2010-2013_English_MCQs": "single_choice",
    "2010-2022_Chinese_Modern_Lit": "multi_question_choice",
    "2010-2022_English_Fill_in_Blanks": "multi_question_choice",
    "2012-2022_English_Cloze_Test": "five_out_of_seven",
    "2010-2022_Geography_MCQs": "multi_question_choice",
    "2010-2022_English_Reading_Comp": "multi_question_choice",
    "2010-2022_Chinese_Lang_and_Usage_MCQs": "multi_question_choice",
}
_LETTERS = re.compile(r"[A-G]+")


def source_files(folder: Path) -> list[Path]:
    objective = find_dir(folder, "Objective_Questions", "*.json", "GAOKAO-Bench Objective_Questions")
    files = sorted(objective.glob("*.json")) if objective else glob_files(folder, "*.json")
    if not files:
        raise no_files(folder, "GAOKAO-Bench", EXPECTED)
    # Without an Objective_Questions folder the search is recursive: two files of one keyword
    # (two copies, or names that differ in case or -/_) would pool into one subtask.
    unique_by(files, lambda p: p.stem, folder, "keyword")
    for path in files:
        if path.stem not in MCQ_TYPES:
            raise DataError(
                f"{path.stem!r} is not one of the multiple-choice keywords of OpenCompass's "
                f"GaokaoBench configs ({', '.join(MCQ_TYPES)})",
                path,
            )
    return files


def check_answer(answer, path: Path, where: str) -> list[str]:
    """``answer`` as GAOKAO-Bench writes it: a non-empty list of letter strings (A-G)."""
    if not isinstance(answer, list):
        raise DataError(
            f'answer {answer!r} should be a list (one element per question; e.g. ["AC"] is one '
            'multi-select question, ["A", "C"] two questions)',
            path,
            where=where,
        )
    if not answer:
        raise DataError("empty answer list", path, where=where)
    for element in answer:
        if not isinstance(element, str) or not _LETTERS.fullmatch(element):
            raise DataError(f"answer element {element!r} is not letters A-G", path, where=where)
        if len(set(element)) != len(element):
            raise DataError(f"answer element {element!r} repeats a letter", path, where=where)
    return answer


def read(folder: Path) -> list[Record]:
    records = []
    for path in source_files(folder):
        data = read_json(path)
        if not isinstance(data, dict):
            raise DataError('expected a JSON object with an "example" list', path)
        keyword = data.get("keywords")
        if keyword is not None and keyword != path.stem:
            raise DataError(f'"keywords" is {keyword!r} but the file is named {path.name!r}', path)
        examples = get_field(data, "example", list, path)
        if not examples:
            raise DataError('"example" holds no questions', path)
        for i, ex in enumerate(examples):
            where = f"example {i}"
            if not isinstance(ex, dict):
                raise DataError("expected a JSON object", path, where=where)
            check_item_size(ex, path, where=where)
            question = get_field(ex, "question", str, path, where=where)
            if not question.strip():
                raise DataError("empty question", path, where=where)
            check_answer(ex.get("answer"), path, where)
            records.append(Record(path.stem, "test", f"{rel(path, folder)}#{i}", dict(ex)))
    return records


def gaokao_layout(records: Sequence[Record], folder: Path) -> None:
    """What GaokaoBenchDataset reads (``path + filename``): ``<folder>/Multiple-choice_Questions/
    <keyword>.json`` = {"keywords", "example": [the authors' entries, in order]}."""
    by_keyword: dict[str, list[dict]] = {}
    for rec in records:
        by_keyword.setdefault(rec.subtask, []).append(rec.fields)
    for keyword, examples in by_keyword.items():
        target = folder / FOLDER / f"{keyword}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps({"keywords": keyword, "example": examples}, ensure_ascii=False, indent=4), encoding="utf-8"
        )


def _oc_subject(dataset: dict) -> str | None:
    """The multiple-choice datasets only (``filename`` under ``/Multiple-choice_Questions/``)."""
    if not str(dataset.get("filename", "")).startswith(f"/{FOLDER}/"):
        return None
    return dataset.get("name")


def _default(harness: str, shots: int, kind: str) -> str:
    return "GaokaoBench_no_subjective_gen_d21e37" if kind == "base" else "GaokaoBench_no_subjective_gen_4c31db"


_MODULE = "opencompass.configs.datasets.GaokaoBench."
FORMAT = Format(
    name="gaokao",
    label="GAOKAO-Bench",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=0,
    eval_split="test",
    lm_eval={},
    opencompass={
        name: OpenCompassDataset(
            variant=name,
            module=_MODULE + name,
            variable="GaokaoBench_datasets",
            subtask_of=_oc_subject,
            layout=gaokao_layout,
            shots=(0,),
            metric="score",
            aggregation="micro",
            kinds=kinds,
            note="files laid out as `Multiple-choice_Questions/<keyword>.json`; points per "
            "item from GaokaoBenchEvaluator_<type>; headline Σ points / Σ maximum over "
            "the items present (OpenCompass's summary weights by full-dataset exam points)",
        )
        for name, kinds in (
            ("GaokaoBench_no_subjective_gen_d21e37", ("base",)),
            ("GaokaoBench_no_subjective_gen_4c31db", ("chat",)),
        )
    },
    default_variant=_default,
)
