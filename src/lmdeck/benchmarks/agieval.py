"""AGIEval (Zhong et al.).

Files: ``data/v1/<task>.jsonl`` (keys ``passage, question, options, label,
answer, other``; the folder holding the task files is found under the benchmark
folder) and, for ``shots > 0``, ``data/few_shot_prompts.csv`` (header
``,<task>,...``; rows ``sample N`` holding a Python-literal record and
``explanation N``).

Items (subtask = task name, id = ``<task>/<line index>``):

* records with options -> ``mcq``, choices (" A", " B", ...) for the options,
  answer = ``label``; a label list with several letters (jec-qa, gaokao-physics)
  -> ``gen`` with the letters joined ("AC");
* records without options (cloze: gaokao-mathcloze, math) -> ``gen`` with
  answer = ``answer``.

Prompts follow the AGIEval authors' code (AGIEval src/dataset_loader.py, as
vendored in opencompass/datasets/agieval/dataset_loader.py):

* 0-shot = ``convert_zero_shot``:
  English MCQ ``{passage}Q: {question} Answer Choices: {options joined by " "}\\nA: Among A through {last}, the answer is``;
  Chinese MCQ ``{passage}问题：{question} 选项：{options}\\n答案：从A到{last}, 我们应选择``;
  English cloze ``{passage}Q: {question}\\nA: The answer is``;
  Chinese cloze ``{passage}问题：{question}\\n答案：``.
* k-shot (``shots > 0``, exemplars from few_shot_prompts.csv, first k samples) =
  the "few-shot" (no explanation) setting of ``combine_prompt``/``concat_prompt``/
  ``convert_few_shot``: header "Here are the answers for the problems in the exam.\\n"
  (Chinese: "以下是考试中各个问题的答案。\\n"), each exemplar
  ``Problem i.   {passage} {question}\\nChoose from the following options:    {options}\\nThe answer is therefore {label}\\n\\n``
  (Chinese: ``问题 i.   ...\\n从以下选项中选择:    ...\\n答案是 {label}\\n\\n``), then the
  query in the same form; AGIEval lets the model write the answer line, we end
  the prompt with its lead-in ("The answer is therefore" / "答案是") so that
  the scored continuation is " A". No token-length truncation.

Language: AGIEval's task lists; tasks not listed are Chinese when the question
contains CJK characters.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from .base import (LETTERS, DataError, Item, Loader, check_letter, find_dir, find_file, get_field,
                   letter_choices, no_files, read_csv, read_jsonl, rel)

ENGLISH_TASKS = {"lsat-ar", "lsat-lr", "lsat-rc", "logiqa-en", "sat-math", "sat-en", "aqua-rat",
                 "sat-en-without-passage", "gaokao-english", "math"}
CHINESE_TASKS = {"logiqa-zh", "jec-qa-kd", "jec-qa-ca", "gaokao-chinese", "gaokao-geography",
                 "gaokao-history", "gaokao-biology", "gaokao-chemistry", "gaokao-physics",
                 "gaokao-mathqa", "gaokao-mathcloze"}
_CJK = re.compile(r"[\u4e00-\u9fff]")
FEW_SHOT_FILE = "few_shot_prompts.csv"


def is_chinese(task: str, question: str) -> bool:
    if task in ENGLISH_TASKS:
        return False
    return task in CHINESE_TASKS or bool(_CJK.search(question))


def zero_shot(rec: dict) -> str:
    passage, question, options, zh = rec["passage"], rec["question"], rec["options"], rec["zh"]
    if options:
        last = LETTERS[rec["n_options"] - 1]
        if zh:
            return f"{passage}问题：{question} 选项：{' '.join(options)}\n答案：从A到{last}, 我们应选择"
        return f"{passage}Q: {question} Answer Choices: {' '.join(options)}\nA: Among A through {last}, the answer is"
    if zh:
        return f"{passage}问题：{question}\n答案："
    return f"{passage}Q: {question}\nA: The answer is"


def few_shot_input(rec: dict, number: int) -> str:
    """AGIEval's ``question_input`` for exemplar/query ``number`` (1-based)."""
    passage, question, options, zh = rec["passage"], rec["question"], rec["options"], rec["zh"]
    if options:
        if zh:
            return f"问题 {number}.   {passage} {question}\n从以下选项中选择:    {' '.join(options)}\n"
        return f"Problem {number}.   {passage} {question}\nChoose from the following options:    {' '.join(options)}\n"
    if zh:
        return f"问题 {number}.   {question}\n"
    return f"Problem {number}.   {question}\n"


def few_shot_prompt(demos: list[dict], rec: dict) -> str:
    zh = rec["zh"]
    head = "以下是考试中各个问题的答案。\n" if zh else "Here are the answers for the problems in the exam.\n"
    lead = "答案是" if zh else "The answer is therefore"
    parts = [head]
    for i, demo in enumerate(demos, 1):
        parts.append(few_shot_input(demo, i) + f"{lead} {demo['gold']}\n\n")
    parts.append(few_shot_input(rec, len(demos) + 1) + lead)
    return "".join(parts)


def normalise(rec: dict, task: str, path: Path, line: int | None = None, where: str | None = None) -> dict:
    """Checks one record; returns ``{passage, question, options, n_options, zh, kind, gold}``."""
    question = get_field(rec, "question", str, path, line, where)
    passage = get_field(rec, "passage", str, path, line, where, optional=True) or ""
    options = get_field(rec, "options", list, path, line, where, optional=True) or []
    zh = is_chinese(task, question)
    # AGIEval treats a one-element options list as 4 (Chinese) / 5 (English) options
    n = len(options) if len(options) != 1 else (4 if zh else 5)
    if options:
        label = get_field(rec, "label", (str, list), path, line, where)
        labels = [label] if isinstance(label, str) else label
        if not labels:
            raise DataError("empty label list", path, line, where)
        letters = [check_letter(x, n, path, line, where, what="label") for x in labels]
        kind, gold = ("mcq" if len(letters) == 1 else "gen"), "".join(letters)
    else:
        gold = get_field(rec, "answer", (str, int, float), path, line, where)
        kind, gold = "gen", str(gold)
    return {"passage": passage, "question": question, "options": [str(o) for o in options],
            "n_options": n, "zh": zh, "kind": kind, "gold": gold}


def read_few_shot(path: Path, task: str) -> list[dict]:
    """The ``sample N`` records of ``task``'s column, in N order, normalised."""
    rows = read_csv(path)
    if not rows:
        return []
    header = rows[0][1]
    column = "sat-en" if task == "sat-en-without-passage" else task
    if column not in header:
        return []
    col = header.index(column)
    samples = []
    for line, row in rows[1:]:
        label = row[0].strip() if row else ""
        m = re.fullmatch(r"sample (\d+)", label)
        if not m or col >= len(row) or not row[col].strip():
            continue
        try:
            rec = ast.literal_eval(row[col])
        except (ValueError, SyntaxError) as e:
            raise DataError(f"{column} sample {m.group(1)} is not a Python literal ({e})", path, line) from None
        if not isinstance(rec, dict):
            raise DataError(f"{column} sample {m.group(1)} is not a record", path, line)
        demo = normalise(rec, task, path, line, where=f"({column} sample {m.group(1)})")
        if task == "sat-en-without-passage":
            demo["passage"] = ""
        samples.append((int(m.group(1)), demo))
    return [demo for _, demo in sorted(samples, key=lambda s: s[0])]


class AgievalLoader(Loader):
    name = "agieval"

    def _files(self, folder: Path) -> tuple[list[Path], Path | None]:
        task_dir = find_dir(folder, None, "*.jsonl", "AGIEval task")
        if task_dir is None:
            raise no_files(folder, "AGIEval", "data/v1/<task>.jsonl")
        return sorted(task_dir.glob("*.jsonl")), find_file(folder, FEW_SHOT_FILE, "AGIEval few-shot prompt")

    def source_files(self, folder: Path) -> list[Path]:
        tasks, few = self._files(folder)
        return sorted(tasks + ([few] if few else []))

    def load(self, folder: Path, shots: int) -> list[Item]:
        tasks, few = self._files(folder)
        items: list[Item] = []
        for path in tasks:
            task = path.stem
            demos = read_few_shot(few, task)[:shots] if shots > 0 and few else []
            for i, (line, raw) in enumerate(read_jsonl(path)):
                rec = normalise(raw, task, path, line)
                prompt = few_shot_prompt(demos, rec) if demos else zero_shot(rec)
                mcq = rec["kind"] == "mcq"
                items.append(Item(
                    subtask=task,
                    id=f"{task}/{i}",
                    kind=rec["kind"],
                    prompt=prompt,
                    choices=letter_choices(rec["n_options"]) if mcq else (),
                    answer=rec["gold"],
                    meta={"file": rel(path, folder), "line": line, "language": "zh" if rec["zh"] else "en",
                          "n_shots": len(demos)},
                ))
        return items
