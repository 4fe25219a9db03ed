"""BIG-Bench Hard (Suzgun et al.): ``bbh/<task>.json`` (``{"canary": ..., "examples":
[{input, target}]}``; the one folder holding the ``*.json`` task files is found under the
benchmark folder) and, optionally, ``cot-prompts/<task>.txt`` (a canary line and a ``-----``
line, then the task description and the chain-of-thought exemplars ``Q: ...\\nA: Let's think
step by step.\\n...``, separated by blank lines). Evaluated: every example (split ``test``).

* lm-eval ``bbh_cot_fewshot`` (``bbh/cot_fewshot``): the ``SaylorTwift/bbh`` columns
  ``input, target`` (the authors' keys: a plain data swap). The task's own description,
  prompt ``Q: {input}\\nA: Let's think step by step.\\n`` and exemplars: the 3 CoT exemplars
  are fixed in each task YAML (``fewshot_config.samples``, ``first_n`` sampler, which honours
  fewer), so 1-3 shots; metric ``exact_match`` after the ``get-answer`` filter.
* lm-eval ``bbh_cot_zeroshot`` (``bbh/cot_zeroshot``): same columns, description +
  ``Q: {input}\\nA: Let's think step by step.``, 0 shots; metric ``exact_match`` after the
  ``flexible-extract`` filter (the one its group aggregates; ``strict-match`` is there too).

Both groups average with ``weight_by_size: true`` (micro). Subtask key: the task file stem,
which is lm-eval's ``dataset_name`` (e.g. ``boolean_expressions``).

The folder's ``cot-prompts`` files are read and checked (every exemplar must be a ``Q: ...`` /
``A: Let's think step by step.`` block) but never used for prompts: the native task carries
its own copy of the authors' exemplars. :func:`lmdeck.harness.exemplars.bbh_cot_prompt_differences`
compares the two:
the authors' files (BIG-Bench-Hard @ 9ee07bd; checked for boolean_expressions,
causal_judgement, date_understanding) agree exactly with lm-eval's copies, so there the
native prompt is the authors' CoT prompt; lmdeck's demo folder ships exemplars of its own,
which the native task does not see (it still prompts with the authors' exemplars).

* OpenCompass ``bbh_gen`` (base and chat models; the alias imports ``bbh_gen_ee62e9``): one
  dataset per task, abbr ``bbh-<task>``, ``name`` = the task file stem (the subtask key). Its
  BBHDataset reads ``<path>/<task>.json`` = ``{"examples": [{input, target}]}`` -- the authors'
  layout; lmdeck writes the examples back in order (the ``canary`` string is not carried). The
  prompt is OpenCompass's own: ``Follow the given examples and answer the question.\\n{hint}\\n\\n
  Q: {input}\\nA: Let's think step by step.`` where ``hint`` is its copy of the CoT prompt,
  ``configs/datasets/bbh/lib_prompt/<task>.txt`` (3 exemplars, fixed: 3 shots; its retriever is
  a ZeroRetriever) -- never the folder's ``cot-prompts`` (for the authors' files checked above,
  OpenCompass's copy is the text after their ``-----`` line, verbatim). The 17 multiple-choice
  tasks score with BBHEvaluator_mcq (``bbh_mcq_postprocess`` on prediction and target), the 10
  free-form ones with BBHEvaluator; both report ``score`` (0-100). OpenCompass's summary group
  ``bbh`` is the plain mean of the task scores (macro).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from lmdeck.formats.base import ITEM_ID, Format, LmEvalTask, OpenCompassDataset, Record
from lmdeck import names
from lmdeck.formats.files import (
    DataError,
    check_item_size,
    find_dir,
    get_field,
    no_files,
    read_json,
    read_text,
    rel,
    require_folder,
    unique_by,
)

EXPECTED = "bbh/<task>.json (+ cot-prompts/<task>.txt)"
COT_LEAD = "Let's think step by step."
HEADER_RULE = "\n-----\n"


def task_files(folder: Path) -> tuple[list[Path], dict[str, Path]]:
    """The task files and, per task stem, its cot-prompts file (matched by :func:`lmdeck.names.key`,
    so that a ``Boolean-Expressions.txt`` is checked with its task instead of silently skipped)."""
    folder = require_folder(folder)
    task_dir = find_dir(folder, None, "*.json", "BBH task")
    if task_dir is None:
        raise no_files(folder, "BBH", EXPECTED)
    tasks = sorted(task_dir.glob("*.json"))
    unique_by(tasks, lambda p: p.stem, folder, "task")
    prompt_dir = find_dir(folder, "cot-prompts", "*.txt", "BBH cot-prompts")
    prompt_files = sorted(prompt_dir.glob("*.txt")) if prompt_dir else []
    unique_by(prompt_files, lambda p: p.stem, folder, "cot-prompts task")
    by_key = {names.key(p.stem): p for p in prompt_files}
    prompts = {t.stem: by_key[names.key(t.stem)] for t in tasks if names.key(t.stem) in by_key}
    return tasks, prompts


def source_files(folder: Path) -> list[Path]:
    tasks, prompts = task_files(folder)
    return sorted(tasks + [prompts[t.stem] for t in tasks if t.stem in prompts])


def parse_cot_prompt(path: Path) -> tuple[str, list[dict]]:
    """``(description, [{input, target, line}])`` of a cot-prompts file, split the way lm-eval's
    generator split the authors' files (text after the ``-----`` line; description, then
    exemplars separated by blank lines); ``target`` is the exemplar's answer after
    ``A: Let's think step by step.\\n``, ``line`` the exemplar's first line in the file."""
    text = read_text(path).replace("\r\n", "\n")
    offset = text.rfind(HEADER_RULE)
    body_start = offset + len(HEADER_RULE) if offset >= 0 else 0
    first_line = text.count("\n", 0, body_start) + 1
    body = text[body_start:]
    description, *chunks = body.split("\n\nQ: ")
    if description.startswith("Q: "):  # no description: the body opens with an exemplar
        description, chunks = "", [description[3:], *chunks]
    if not chunks:
        raise DataError("no chain-of-thought exemplars ('Q: ...' blocks after the description)", path)
    exemplars = []
    pos = len(description)
    for chunk in chunks:
        pos = body.index("Q: " + chunk, pos)
        line = first_line + body.count("\n", 0, pos)
        question, sep, answer = chunk.partition("\nA: ")
        if not sep or not answer.startswith(COT_LEAD):
            raise DataError(f"exemplar has no 'A: {COT_LEAD}' line", path, line)
        exemplars.append({"input": question, "target": answer[len(COT_LEAD) :].lstrip("\n").rstrip("\n"), "line": line})
        pos += len(chunk)
    return description.strip(), exemplars


def read(folder: Path) -> list[Record]:
    tasks, prompts = task_files(folder)
    records = []
    for path in tasks:
        task = path.stem
        data = read_json(path)
        if not isinstance(data, dict):
            raise DataError('expected a JSON object with an "examples" list', path)
        examples = get_field(data, "examples", list, path)
        if not examples:
            raise DataError("file holds no examples", path)
        for i, ex in enumerate(examples):
            where = f"example {i}"
            if not isinstance(ex, dict):
                raise DataError(f"expected a JSON object, got {type(ex).__name__}", path, where=where)
            check_item_size(ex, path, where=where)
            text = get_field(ex, "input", str, path, where=where)
            target = get_field(ex, "target", str, path, where=where)
            records.append(Record(task, "test", f"{rel(path, Path(folder))}#{i}", {"input": text, "target": target}))
        if task in prompts:
            parse_cot_prompt(prompts[task])  # checked, not used (see the module docstring)
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``SaylorTwift/bbh`` columns."""
    return {"input": rec.fields["input"], "target": rec.fields["target"], ITEM_ID: rec.item_id}


def _task_of(prefix: str):
    def subtask_of(cfg: dict) -> str | None:
        task = cfg.get("task", "")
        return cfg.get("dataset_name") if task.startswith(prefix) and cfg.get("dataset_name") else None

    return subtask_of


def bbh_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's BBHDataset reads: ``<folder>/<task>.json`` = ``{"examples": [{input,
    target}, ...]}``, the authors' examples in their order."""
    by_task: dict[str, list[dict]] = {}
    for rec in records:
        by_task.setdefault(rec.subtask, []).append({"input": rec.fields["input"], "target": rec.fields["target"]})
    folder.mkdir(parents=True, exist_ok=True)
    for task, examples in by_task.items():
        (folder / f"{task}.json").write_text(
            json.dumps({"examples": examples}, ensure_ascii=False, indent=4), encoding="utf-8"
        )


def _oc_task(dataset: dict) -> str | None:
    return dataset.get("name") if str(dataset.get("abbr", "")).startswith("bbh-") else None


def _default(harness: str, shots: int, kind: str) -> str:
    if harness == "opencompass":
        return "bbh_gen"
    return "bbh_cot_zeroshot" if shots == 0 else "bbh_cot_fewshot"


FORMAT = Format(
    name="bbh",
    label="BBH",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=3,  # cot_fewshot's num_fewshot
    lm_eval={
        "bbh_cot_fewshot": LmEvalTask(
            variant="bbh_cot_fewshot",
            folder="bbh/cot_fewshot",
            subtask_of=_task_of("bbh_cot_fewshot_"),
            splits={"test": "test"},
            to_row=lm_eval_row,
            metric="exact_match,get-answer",
            shots=(1, 2, 3),
            aggregation="micro",
            note="exemplars: the 3 CoT exemplars fixed in lm-eval's task YAMLs",
        ),
        "bbh_cot_zeroshot": LmEvalTask(
            variant="bbh_cot_zeroshot",
            folder="bbh/cot_zeroshot",
            subtask_of=_task_of("bbh_cot_zeroshot_"),
            splits={"test": "test"},
            to_row=lm_eval_row,
            metric="exact_match,flexible-extract",
            shots=(0,),
            aggregation="micro",
        ),
    },
    opencompass={
        "bbh_gen": OpenCompassDataset(
            variant="bbh_gen",
            module="opencompass.configs.datasets.bbh.bbh_gen",
            variable="bbh_datasets",
            subtask_of=_oc_task,
            layout=bbh_layout,
            shots=(3,),
            metric="score",
            aggregation="macro",
            note="the authors' <task>.json examples written back as they are (canary dropped); prompt: "
            "OpenCompass's own 3-shot CoT hint, configs/datasets/bbh/lib_prompt/<task>.txt, not the "
            "folder's cot-prompts",
        ),
    },
    default_variant=_default,
)
