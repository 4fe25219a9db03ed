"""The shape of a format descriptor: what lmdeck knows about one benchmark's files and how
each harness's OWN task reads them.

A descriptor reads the authors' folder into checked :class:`Record` objects (one per item,
each with a stable id naming its file and line) and, per harness, names the native task
(lm-eval: a built-in task YAML that lmdeck ``include:``s with only the data source swapped;
OpenCompass: a dataset config whose ``path`` lmdeck replaces) and converts the records into
the columns or file layout that task reads. Prompts, few-shot sampling, stop sequences,
filters and metrics stay the harness's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from lmdeck.formats.files import DataError
from lmdeck.settings import HARNESSES

ITEM_ID = "lmdeck_id"  # the column every converted row carries: the item's stable id


@dataclass(frozen=True)
class Record:
    """One item as its authors wrote it, checked. ``item_id`` is ``<file>:<line>`` (JSON-lines
    and CSV files) or ``<file>#<index>`` (an item list inside one JSON document), with the
    file relative to the benchmark folder."""

    subtask: str
    split: str
    item_id: str
    fields: dict

    def to_json(self) -> dict:
        return {"subtask": self.subtask, "split": self.split, "item_id": self.item_id, "fields": self.fields}

    @classmethod
    def from_json(cls, d: dict) -> "Record":
        return cls(d["subtask"], d["split"], d["item_id"], d["fields"])


@dataclass(frozen=True)
class LmEvalTask:
    """One lm-eval task family (a "variant", e.g. ``mmlu`` or ``minerva_math``).

    ``folder`` is the family's YAML folder under ``lm_eval/tasks``; ``subtask_of`` maps one
    built-in task config (includes resolved) to the lmdeck subtask it evaluates, or None when
    the YAML is not part of this variant. ``splits`` maps each split the task reads (its
    ``test_split``/``validation_split``/``fewshot_split``/``training_split`` names) to the
    authors' split that fills it; ``to_row`` converts one record into the task's columns.
    """

    variant: str
    folder: str
    subtask_of: Callable[[dict], str | None]
    splits: Mapping[str, str]
    to_row: Callable[[Record], dict]
    metric: str = "acc"
    # None: any count up to the rows of `fewshot_split` (the task samples them from data);
    # a tuple: the counts the task can honour (its exemplars are fixed in its YAML).
    shots: tuple[int, ...] | None = None
    fewshot_split: str | None = None
    # How lm-eval's own group combines the subtasks: "micro" (weight_by_size) or "macro".
    aggregation: str = "micro"
    note: str = ""


@dataclass(frozen=True)
class OpenCompassDataset:
    """One OpenCompass dataset config (e.g. ``ceval_ppl``): ``module``'s list ``variable``;
    ``subtask_of`` maps one dataset dict to the lmdeck subtask (None: not this benchmark's);
    ``layout`` writes the records as its loader reads them under a folder that then becomes
    the dataset's ``path`` (``path_key``), and returns any further per-dataset overrides."""

    variant: str
    module: str
    variable: str
    subtask_of: Callable[[dict], str | None]
    layout: Callable[[Sequence[Record], Path], None]
    # The counts the config runs. A FixKRetriever's are its fixed rows; under a ZeroRetriever the
    # exemplars (if any) are fixed in the prompt template, and this one value states how many.
    shots: tuple[int, ...]
    metric: str = "accuracy"
    aggregation: str = "macro"  # OpenCompass's summary groups: plain mean of subsets
    kinds: tuple[str, ...] = ("base", "chat")
    path_key: str = "path"
    note: str = ""
    # The subtask a record is evaluated under here, when the config's datasets group the items
    # otherwise than the records' own subtasks (MATH: one dataset for all seven types); None: its own.
    subtask_key: Callable[[Record], str] | None = None


@dataclass
class Format:
    """A benchmark format: its files, its checks, and its native tasks per harness."""

    name: str
    label: str
    expected: str  # the layout, for messages: "data/{dev,test}/<subject>_<split>.csv"
    read: Callable[[Path], list[Record]]
    source_files: Callable[[Path], list[Path]]
    lm_eval: dict[str, LmEvalTask] = field(default_factory=dict)
    opencompass: dict[str, OpenCompassDataset] = field(default_factory=dict)
    # variant chosen when the config names none: (harness, shots, model kind) -> variant
    default_variant: Callable[[str, int, str], str] | None = None
    eval_split: str = "test"
    cluster_key: str = "subtask"  # items sharing context, for interval estimates
    default_shots: int = 0

    def variants(self, harness: str) -> Mapping[str, LmEvalTask | OpenCompassDataset]:
        return self.lm_eval if harness == "lm-eval" else self.opencompass

    def harnesses(self) -> list[str]:
        return [h for h in HARNESSES if self.variants(h)]

    def variant(self, harness: str, name: str | None, shots: int, kind: str = "base"):
        """The native task this benchmark runs through ``harness``: ``name`` when given (checked),
        else the default for the shot count and model kind."""
        variants = self.variants(harness)
        if not variants:
            offered = ", ".join(self.harnesses()) or "none"
            raise DataError(f"{self.label} has no native {harness} task in lmdeck (harnesses: {offered})")
        if name is None:
            name = self.default_variant(harness, shots, kind) if self.default_variant else next(iter(variants))
            if not honours(variants[name], shots):
                # Another native task for this model kind that runs this many shots, if any.
                name = next(
                    (n for n, t in variants.items() if honours(t, shots) and kind in getattr(t, "kinds", (kind,))), name
                )
        if name not in variants:
            raise DataError(f"{self.label}: unknown {harness} variant {name!r}; choose one of {sorted(variants)}")
        return variants[name]


def allowed_shots(task: LmEvalTask | OpenCompassDataset, records: Sequence[Record] | None = None) -> list[int] | None:
    """The shot counts ``task`` can honour; None = any count up to the exemplars available
    (bounded by ``records`` when given)."""
    if isinstance(task, OpenCompassDataset) or task.shots is not None:
        return list(task.shots)
    if records is None:
        return None
    authors_split = task.splits.get(task.fewshot_split or "", "")
    per_subtask: dict[str, int] = {}
    for rec in records:
        per_subtask.setdefault(rec.subtask, 0)
        if rec.split == authors_split:
            per_subtask[rec.subtask] += 1
    return list(range(0, min(per_subtask.values(), default=0) + 1))


def honours(task: LmEvalTask | OpenCompassDataset, shots: int) -> bool:
    """Whether the task can run ``shots`` exemplars (data-bound counts are checked by the data step)."""
    allowed = allowed_shots(task)
    return allowed is None or shots in allowed


def check_shots(fmt: Format, harness: str, task, shots: int, records: Sequence[Record] | None = None) -> None:
    allowed = allowed_shots(task, records)
    if allowed is None or shots in allowed:
        return
    if isinstance(task, LmEvalTask) and task.shots is None:
        raise DataError(
            f"{fmt.label}: shots {shots} but the {task.variant!r} task draws its exemplars from "
            f"the '{task.splits.get(task.fewshot_split or '', '?')}' split, which holds "
            f"{max(allowed)} per subject; allowed: 0-{max(allowed)}"
        )
    listed = ", ".join(map(str, allowed))
    raise DataError(f"{fmt.label}: shots {shots} is not what {harness}'s {task.variant!r} task runs; allowed: {listed}")
