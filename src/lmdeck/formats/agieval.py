"""AGIEval (Zhong et al.): ``data/v1/<task>.jsonl`` (the one folder holding the task files is
found under the benchmark folder; keys ``passage, question, options, label, answer, other``,
some tasks omit some keys). A ``data/few_shot_prompts.csv`` beside them is ignored: lm-eval's
AGIEval tasks are zero-shot only.

lm-eval ``agieval`` (``agieval/<task>.yaml``, dataset ``hails/agieval-<task>``) -- a
**converted prompt**, not a plain data swap: the hails datasets hold AGIEval's zero-shot
prompt already built, not the authors' fields. lmdeck rebuilds exactly those columns from the
authors' files (hails/agieval-math's card: "processed as in that repo, following
dmayhem93/agieval-*", from ruixiangcui/AGIEval @ 5c77d073):

* ``query``: the authors' ``convert_zero_shot`` (AGIEval ``src/dataset_loader.py``; OpenCompass
  vendors it as ``opencompass/datasets/agieval/dataset_loader.py``), ported verbatim:
  English MCQ ``{passage}Q: {question} Answer Choices: {options joined by " "}\\nA: Among A
  through {last letter}, the answer is``; Chinese MCQ ``{passage}问题：{question} 选项：{options}\\n
  答案：从A到{last letter}, 我们应选择``; English cloze (``math``) ``{passage}Q: {question}\\nA: The
  answer is``; Chinese cloze (``gaokao-mathcloze``) ``{passage}问题：{question}\\n答案：``. A null
  passage is "", a one-element options list counts as 5 (English) / 4 (Chinese) options, as
  in the authors' code. The task lists (which task is English/Chinese, MCQ/cloze) are AGIEval's.
* MCQ tasks: ``choices`` = the options verbatim (e.g. ``"(A)2"``), ``gold`` = the list of the
  label letters' indices: one for a single label, several for a label list (jec-qa-*,
  gaokao-physics in v1). lm-eval scores ``acc`` = the highest-likelihood choice is in ``gold``
  (its ``utils.process_results_mcqa``), so a multi-answer item counts as right when the model
  picks any one of its correct options -- lm-eval's rule, kept.
* cloze tasks: ``answer`` = the authors' ``answer`` (numbers written as text).

Subtask key: the task file stem (``gaokao-biology``), lm-eval's ``dataset_path``
``hails/agieval-<stem>``; a stem outside AGIEval's task lists is refused (the authors' code
has no prompt for it). Metric ``acc``; lm-eval's ``agieval`` group averages with
``weight_by_size: true`` (micro). Item ids ``<file>:<line>``.

OpenCompass ``agieval_gen`` (base and chat models; the alias imports ``agieval_gen_5c79b4``):
one dataset per task, abbr ``agieval-<task>``, ``name`` = the task file stem (the subtask key;
its 21 tasks are AGIEval's). Its AGIEvalDataset_v2 (``setting_name='zero-shot'``) reads
``<path>/<task>.jsonl`` with the authors' keys -- their own layout, a plain data swap: lmdeck
writes each record back as a JSON line ``{passage, question, options, label, answer}`` in the
authors' order (``other``, which no loader reads, is not carried; a one-letter label list is
written as the letter, which the loader reads the same). The loader builds ``question`` =
passage + question, ``options`` = the options joined by newlines, the reference = the label
letters joined (``"AB"``) or, for cloze tasks, the ``answer``. The prompt is OpenCompass's own
(not AGIEval's ``convert_zero_shot``): a one-line task introduction, ``{question}\\n{options}\\n``
and ``The answer is `` / ``答案是： ``; 0 shots; generation up to 1024 tokens. Evaluators, the
config's own: single-answer tasks AccEvaluator on ``first_option_postprocess`` (options
``ABCDE``), the multi-answer tasks (gaokao-physics, jec-qa-kd, jec-qa-ca) AccEvaluator on
``first_capital_postprocess_multi`` (the exact letter set), both ``accuracy``; the cloze tasks
(math, gaokao-mathcloze) AGIEvalEvaluator (``parse_math_answer`` + ``is_equiv``), which reports
``score`` -- same 0-100 scale, another key. OpenCompass's summary group ``agieval`` is the plain
mean of the task scores (macro).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
from lmdeck.formats.files import (
    DataError,
    check_letter,
    find_dir,
    get_field,
    no_files,
    read_jsonl,
    rel,
    require_folder,
    unique_by,
)

EXPECTED = "data/v1/<task>.jsonl"
HF_PREFIX = "hails/agieval-"

# AGIEval's task lists (src/dataset_loader.py).
ENGLISH_QA = [
    "lsat-ar",
    "lsat-lr",
    "lsat-rc",
    "logiqa-en",
    "sat-math",
    "sat-en",
    "aqua-rat",
    "sat-en-without-passage",
    "gaokao-english",
]
CHINESE_QA = [
    "logiqa-zh",
    "jec-qa-kd",
    "jec-qa-ca",
    "gaokao-chinese",
    "gaokao-geography",
    "gaokao-history",
    "gaokao-biology",
    "gaokao-chemistry",
    "gaokao-physics",
    "gaokao-mathqa",
]
ENGLISH_CLOZE = ["math"]
CHINESE_CLOZE = ["gaokao-mathcloze"]
TASKS = ENGLISH_QA + CHINESE_QA + ENGLISH_CLOZE + CHINESE_CLOZE
OPTION_STRING = "ABCDEFG"


def convert_zero_shot(line: dict, dataset_name: str) -> str:
    """AGIEval's zero-shot prompt for one record (``line``: the authors' keys)."""
    passage = line["passage"] if line["passage"] is not None else ""
    if dataset_name in ENGLISH_QA:
        count = len(line["options"])
        if count == 1:
            count = 5
        return (
            passage
            + "Q: "
            + line["question"]
            + " "
            + "Answer Choices: "
            + " ".join(line["options"])
            + "\n"
            + "A: Among A through {}, the answer is".format(OPTION_STRING[count - 1])
        )
    if dataset_name in CHINESE_QA:
        count = len(line["options"])
        if count == 1:
            count = 4
        return (
            passage
            + "问题："
            + line["question"]
            + " "
            + "选项："
            + " ".join(line["options"])
            + "\n"
            + "答案：从A到{}, 我们应选择".format(OPTION_STRING[count - 1])
        )
    if dataset_name in ENGLISH_CLOZE:
        return passage + "Q: " + line["question"] + "\n" + "A: The answer is"
    if dataset_name in CHINESE_CLOZE:
        return passage + "问题：" + line["question"] + "\n" + "答案："
    raise ValueError(f"AGIEval has no zero-shot prompt for task {dataset_name!r}")


def _files(folder: Path) -> list[Path]:
    folder = require_folder(folder)
    task_dir = find_dir(folder, None, "*.jsonl", "AGIEval task")
    if task_dir is None:
        raise no_files(folder, "AGIEval", EXPECTED)
    files = sorted(task_dir.glob("*.jsonl"))
    unique_by(files, lambda p: p.stem, folder, "task")
    for path in files:
        if path.stem not in TASKS:
            raise DataError(
                f"{path.stem!r} is not one of AGIEval's tasks ({', '.join(sorted(TASKS))}); "
                "its zero-shot prompt is not defined",
                path,
            )
    return files


def source_files(folder: Path) -> list[Path]:
    return _files(folder)


def _record(obj: dict, task: str, path: Path, line: int) -> dict:
    """The checked fields AGIEval's prompt and lm-eval's columns are built from."""
    question = get_field(obj, "question", str, path, line)
    passage = get_field(obj, "passage", str, path, line, optional=True)
    if task in ENGLISH_CLOZE or task in CHINESE_CLOZE:
        answer = get_field(obj, "answer", (str, int, float), path, line)
        if isinstance(answer, bool):
            raise DataError("field 'answer' should be str/int/float, got bool", path, line)
        return {"passage": passage, "question": question, "answer": str(answer)}
    options = get_field(obj, "options", list, path, line)
    if not options:
        raise DataError("empty 'options' list", path, line)
    for i, option in enumerate(options):
        if not isinstance(option, str):
            raise DataError(f"option {i + 1} should be str, got {type(option).__name__}", path, line)
    count = len(options) if len(options) != 1 else (5 if task in ENGLISH_QA else 4)
    if count > len(OPTION_STRING):
        raise DataError(f"{count} options; AGIEval's prompt names at most A-{OPTION_STRING[-1]}", path, line)
    label = get_field(obj, "label", (str, list), path, line)
    labels = [label] if isinstance(label, str) else label
    if not labels:
        raise DataError("empty 'label' list", path, line)
    letters = [check_letter(x, count, path, line, what="label") for x in labels]
    if len(set(letters)) != len(letters):
        raise DataError(f"label {label!r} repeats a letter", path, line)
    return {"passage": passage, "question": question, "options": options, "label": letters}


def read(folder: Path) -> list[Record]:
    records = []
    for path in _files(folder):
        rows = read_jsonl(path)
        if not rows:
            raise DataError("file holds no questions", path)
        for line, obj in rows:
            records.append(
                Record(path.stem, "test", f"{rel(path, Path(folder))}:{line}", _record(obj, path.stem, path, line))
            )
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``hails/agieval-<task>`` columns: ``query, choices, gold`` (MCQ) or ``query, answer``."""
    fields = rec.fields
    row = {"query": convert_zero_shot(fields, rec.subtask)}
    if "options" in fields:
        row["choices"] = list(fields["options"])
        row["gold"] = [OPTION_STRING.index(letter) for letter in fields["label"]]
    else:
        row["answer"] = fields["answer"]
    return {**row, ITEM_ID: rec.item_id}


def _hails_task(cfg: dict) -> str | None:
    path = cfg.get("dataset_path") or ""
    return path[len(HF_PREFIX) :] if path.startswith(HF_PREFIX) else None


def authors_row(rec: Record) -> dict:
    """One record as a line of the authors' ``data/v1/<task>.jsonl`` (the keys AGIEval's loaders
    read: ``passage, question, options, label, answer``; ``label`` a letter or a list of letters)."""
    fields = rec.fields
    label = fields.get("label")
    if label is not None and len(label) == 1:
        label = label[0]
    return {
        "passage": fields["passage"],
        "question": fields["question"],
        "options": fields.get("options"),
        "label": label,
        "answer": fields.get("answer"),
    }


def agieval_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's AGIEvalDataset_v2 reads: ``<folder>/<task>.jsonl``, one record per line
    in the authors' order."""
    by_task: dict[str, list[str]] = {}
    for rec in records:
        by_task.setdefault(rec.subtask, []).append(json.dumps(authors_row(rec), ensure_ascii=False) + "\n")
    folder.mkdir(parents=True, exist_ok=True)
    for task, lines in by_task.items():
        (folder / f"{task}.jsonl").write_text("".join(lines), encoding="utf-8")


def _oc_task(dataset: dict) -> str | None:
    return dataset.get("name") if str(dataset.get("abbr", "")).startswith("agieval-") else None


def _default(harness: str, shots: int, kind: str) -> str:
    return "agieval" if harness == "lm-eval" else "agieval_gen"


FORMAT = Format(
    name="agieval",
    label="AGIEval",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=0,
    lm_eval={
        "agieval": LmEvalTask(
            variant="agieval",
            folder="agieval",
            subtask_of=_hails_task,
            splits={"test": "test"},
            to_row=lm_eval_row,
            metric="acc",
            shots=(0,),
            aggregation="micro",
            note="converted prompt: query/choices/gold built by AGIEval's convert_zero_shot",
        ),
    },
    opencompass={
        "agieval_gen": OpenCompassDataset(
            variant="agieval_gen",
            module="opencompass.configs.datasets.agieval.agieval_gen",
            variable="agieval_datasets",
            subtask_of=_oc_task,
            layout=agieval_layout,
            shots=(0,),
            metric="accuracy",
            aggregation="macro",
            note="the authors' <task>.jsonl lines written back (passage, question, options, label, answer; "
            "`other` dropped); OpenCompass's own prompt, not AGIEval's; the cloze tasks' AGIEvalEvaluator "
            "reports `score`, the others `accuracy`",
        ),
    },
    default_variant=_default,
)
