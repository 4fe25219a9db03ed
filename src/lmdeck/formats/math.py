"""MATH (Hendrycks et al.), in either form its problems are distributed in; keys ``problem,
level, type, solution`` (final answer in ``\\boxed{...}``):

* per-problem JSON, as in the authors' tarball: ``MATH/{train,test}/<type folder>/<n>.json``
  (type folders ``algebra``, ``counting_and_probability``, ``geometry``,
  ``intermediate_algebra``, ``number_theory``, ``prealgebra``, ``precalculus``); the folder
  and the ``type`` field must agree. Item id: the file, e.g. ``MATH/test/algebra/1.json``.
* JSON lines, one problem per line (e.g. ``data/math/test.jsonl``): every ``*.jsonl`` under
  the benchmark folder is evaluated except ``train.jsonl``, which is the train split. Item id
  ``<file>:<line>``.

A folder holding both forms is refused. Subtask key: lm-eval's ``dataset_name`` for the
problem's ``type`` (``"Counting & Probability"`` -> ``counting_and_probability``, ...); an
unknown type is refused. Every solution must hold a final ``\\boxed{...}`` (or ``\\boxed x``)
answer that lm-eval's ``process_docs`` can extract (it fails on the whole task otherwise).

* lm-eval ``minerva_math`` (``minerva_math/minerva_math_<type>.yaml``, not ``minerva_math500``):
  the ``EleutherAI/hendrycks_math`` columns ``problem, level, type, solution`` (the authors'
  keys: a plain data swap; the task's ``process_docs`` computes ``answer``). Prompt
  ``Problem:\\n{problem}\\n\\nSolution:`` after the 4 exemplars fixed in its
  ``utils.list_fewshot_samples`` (``first_n`` sampler: 0-4 shots), never from the data.
  Metrics ``exact_match`` (the default here) and ``math_verify``.
* lm-eval ``hendrycks_math`` (``hendrycks_math/hendrycks_math_<type>.yaml``, not
  ``hendrycks_math500``): same columns, prompt ``Problem: {problem}\\nAnswer:``, 0 shots,
  metric ``exact_match``.

Both groups average with ``weight_by_size: true`` (micro). The train split, when shipped, is
written as the tasks' ``train`` split; neither task draws exemplars from it.

* OpenCompass ``math_gen`` (base and chat models; the alias imports ``math_gen_a58d9d``): ONE
  dataset, abbr ``math`` -- OpenCompass does not split MATH by type. Its MATHDataset reads one
  JSON object ``<path>/math.json`` = ``{id: {problem, level, type, solution}}`` (it keeps
  ``problem`` and, as the reference, ``extract_boxed_answer(solution)``; its test and train
  splits are both that file). lmdeck converts: the evaluated records, in the authors' order,
  become that object keyed by item id, the authors' fields whole; the train split is not
  written (the config never reads exemplars from data). Prompt: the 4 exemplars fixed in its
  template as HUMAN/BOT turns, then ``Problem:\\n{problem}\\nSolution:\\n`` (ZeroRetriever): 4 shots;
  MATHVerifyEvaluator (math-verify), ``accuracy``. Subtask key: ``math`` for every item (the one
  dataset), not the type: its per-item rows carry ``math``, and its score is the pooled accuracy.
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
    find_file,
    get_field,
    glob_files,
    no_files,
    read_json,
    read_jsonl,
    rel,
    require_folder,
    unique_by,
)

EXPECTED = "MATH/{train,test}/<type>/<n>.json or <split>.jsonl (e.g. data/math/test.jsonl, + train.jsonl)"
# MATH's `type` values -> EleutherAI/hendrycks_math config names (lm-eval's dataset_name).
TYPES = {
    "Algebra": "algebra",
    "Counting & Probability": "counting_and_probability",
    "Geometry": "geometry",
    "Intermediate Algebra": "intermediate_algebra",
    "Number Theory": "number_theory",
    "Prealgebra": "prealgebra",
    "Precalculus": "precalculus",
}
SPLITS = ("train", "test")
HF_DATASET = "EleutherAI/hendrycks_math"


# ---------------------------------------------------------------------------
# The final answer, as lm-eval's process_docs extracts it (hendrycks_math/minerva_math utils)
# ---------------------------------------------------------------------------


def boxed_answer(solution: str) -> str | None:
    """The final answer as lm-eval's own ``process_docs`` extracts it (its ``remove_boxed`` of its
    ``last_boxed_only_string``); None where that code would fail (no box, unbalanced braces, a
    final ``\\fbox``), so such a file is refused here instead of crashing the task."""
    from lm_eval.tasks.hendrycks_math.utils import last_boxed_only_string, remove_boxed

    try:
        return remove_boxed(last_boxed_only_string(solution))
    except (AssertionError, TypeError, IndexError):
        return None


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def _json_layout(folder: Path) -> list[tuple[str, str, Path]]:
    """``[(split, type folder, file)]`` of the per-problem JSON layout."""
    found = [p for p in glob_files(folder, "*.json") if p.parent.parent.name in SPLITS]
    split_dirs: dict[str, set[Path]] = {}
    for p in found:
        split_dirs.setdefault(p.parent.parent.name, set()).add(p.parent.parent)
    for split, dirs in split_dirs.items():
        if len(dirs) > 1:
            listed = ", ".join(sorted(rel(d, folder) for d in dirs))
            raise DataError(
                f"found several MATH {split} folders ({listed}); pass the folder that holds only one of them", folder
            )
    out = []
    for p in found:
        if p.parent.name not in TYPES.values():
            raise DataError(
                f"folder {p.parent.name!r} is not one of MATH's type folders ({', '.join(sorted(TYPES.values()))})",
                p.parent,
            )
        out.append((p.parent.parent.name, p.parent.name, p))
    return sorted(out, key=lambda t: (SPLITS.index(t[0]), t[1], _natural(t[2])))


def _natural(path: Path) -> tuple:
    return (0, int(path.stem), "") if path.stem.isdigit() else (1, 0, path.name)


def _jsonl_layout(folder: Path) -> list[tuple[str, Path]]:
    """``[(split, file)]`` of the JSON-lines form: ``train.jsonl`` is train, the rest test."""
    # names compared as everywhere (lmdeck.names): a `Train.jsonl` is the train split, and
    # beside a `train.jsonl` it is a second copy (refused by find_file), never extra test problems
    evals = [p for p in glob_files(folder, "*.jsonl") if names.key(p.name) != names.key("train.jsonl")]
    unique_by(evals, lambda p: p.stem, folder, "file")
    train = find_file(folder, "train.jsonl", "MATH train.jsonl")
    return [("test", p) for p in evals] + ([("train", train)] if train else [])


def _layout(folder: Path) -> tuple[list, list]:
    folder = require_folder(folder)
    per_problem, jsonl = _json_layout(folder), _jsonl_layout(folder)
    if per_problem and jsonl:
        raise DataError(
            "holds MATH both as per-problem JSON files and as JSON lines "
            f"({rel(per_problem[0][2], folder)}, {rel(jsonl[0][1], folder)}); pass one of them",
            folder,
        )
    if not any(s == "test" for s, *_ in per_problem) and not any(s == "test" for s, _ in jsonl):
        raise no_files(folder, "MATH", EXPECTED)
    return per_problem, jsonl


def source_files(folder: Path) -> list[Path]:
    per_problem, jsonl = _layout(folder)
    return sorted([p for *_, p in per_problem] + [p for _, p in jsonl])


def _problem(obj, path: Path, line: int | None = None, folder_type: str | None = None) -> tuple[str, dict]:
    """``(subtask, fields)`` of one checked problem."""
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {type(obj).__name__}", path, line)
    fields = {key: get_field(obj, key, str, path, line) for key in ("problem", "level", "type", "solution")}
    subtask = TYPES.get(fields["type"])
    if subtask is None:
        raise DataError(f"type {fields['type']!r} is not one of MATH's types ({', '.join(TYPES)})", path, line)
    if folder_type is not None and subtask != folder_type:
        raise DataError(f"type {fields['type']!r} does not belong in the {folder_type!r} folder", path, line)
    if boxed_answer(fields["solution"]) is None:
        raise DataError("solution has no final \\boxed{...} answer", path, line)
    return subtask, fields


def read(folder: Path) -> list[Record]:
    per_problem, jsonl = _layout(folder)
    folder = Path(folder)
    records = []
    for split, type_folder, path in per_problem:
        problem = read_json(path)
        check_item_size(problem, path)
        subtask, fields = _problem(problem, path, folder_type=type_folder)
        records.append(Record(subtask, split, rel(path, folder), fields))
    for split, path in jsonl:
        rows = read_jsonl(path)
        if not rows:
            raise DataError("file holds no problems", path)
        for line, obj in rows:
            subtask, fields = _problem(obj, path, line)
            records.append(Record(subtask, split, f"{rel(path, folder)}:{line}", fields))
    return records


def lm_eval_row(rec: Record) -> dict:
    """The ``EleutherAI/hendrycks_math`` columns."""
    return {**{k: rec.fields[k] for k in ("problem", "level", "type", "solution")}, ITEM_ID: rec.item_id}


def _per_type(cfg: dict) -> str | None:
    """The type a ``<family>_<type>`` task evaluates (the ``*_math500`` tasks read another dataset)."""
    name = cfg.get("dataset_name")
    return name if cfg.get("dataset_path") == HF_DATASET and name in TYPES.values() else None


OC_SUBTASK = "math"  # OpenCompass's one MATH dataset (abbr ``math``): every item's subtask there
OC_FILE = "math.json"  # MATHDataset's default file_name


def opencompass_layout(records: Sequence[Record], folder: Path) -> None:
    """What OpenCompass's MATHDataset reads: ``<folder>/math.json`` = ``{item id: {problem, level,
    type, solution}}``, the evaluated records in the authors' order (their fields whole)."""
    data = {
        r.item_id: {k: r.fields[k] for k in ("problem", "level", "type", "solution")}
        for r in records
        if r.split == FORMAT.eval_split
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OC_FILE).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _oc_math(dataset: dict) -> str | None:
    return OC_SUBTASK if dataset.get("abbr") == "math" else None


def _default(harness: str, shots: int, kind: str) -> str:
    if harness == "opencompass":
        return "math_gen"
    return "hendrycks_math" if shots == 0 else "minerva_math"


FORMAT = Format(
    name="math",
    label="MATH",
    expected=EXPECTED,
    read=read,
    source_files=source_files,
    default_shots=4,  # minerva_math's num_fewshot
    lm_eval={
        "minerva_math": LmEvalTask(
            variant="minerva_math",
            folder="minerva_math",
            subtask_of=_per_type,
            splits={"test": "test", "train": "train"},
            to_row=lm_eval_row,
            metric="exact_match",
            shots=(0, 1, 2, 3, 4),
            aggregation="micro",
            note="exemplars: the 4 fixed in lm-eval's minerva_math utils.list_fewshot_samples",
        ),
        "hendrycks_math": LmEvalTask(
            variant="hendrycks_math",
            folder="hendrycks_math",
            subtask_of=_per_type,
            splits={"test": "test", "train": "train"},
            to_row=lm_eval_row,
            metric="exact_match",
            shots=(0,),
            aggregation="micro",
        ),
    },
    opencompass={
        "math_gen": OpenCompassDataset(
            variant="math_gen",
            module="opencompass.configs.datasets.math.math_gen",
            variable="math_datasets",
            subtask_of=_oc_math,
            subtask_key=lambda rec: OC_SUBTASK,
            layout=opencompass_layout,
            shots=(4,),
            metric="accuracy",
            aggregation="micro",
            note="the evaluated problems as one math.json {item id: {problem, level, type, solution}}; one "
            "dataset, subtask `math` (no per-type split); exemplars: the 4 fixed in its prompt template",
        ),
    },
    default_variant=_default,
)
