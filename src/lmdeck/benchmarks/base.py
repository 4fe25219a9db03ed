"""Shared pieces of the benchmark loaders: the evaluation item, the data error,
file discovery and readers that keep line numbers, and prompt helpers.

Every loader reads a benchmark folder laid out as the benchmark's authors
distribute it and turns it into :class:`Item` objects whose ``prompt`` is the
complete text the model sees (few-shot exemplars included), ending exactly
where the answer starts.
"""
from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

LETTERS = "ABCDEFGHIJ"
KINDS = ("mcq", "gen", "code")


@dataclass(frozen=True)
class Item:
    """One evaluation item.

    ``kind`` is ``"mcq"`` (score the log-likelihood of each continuation in
    ``choices`` after ``prompt``), ``"gen"`` (generate, extract the answer,
    compare with ``answer``) or ``"code"`` (HumanEval: complete ``prompt``,
    run ``meta["test"]``).
    """

    subtask: str
    id: str
    kind: str
    prompt: str
    choices: tuple[str, ...] = ()
    answer: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Item {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.choices, tuple):
            object.__setattr__(self, "choices", tuple(self.choices))

    def __hash__(self) -> int:  # meta (a dict) is left out
        return hash((self.subtask, self.id, self.kind, self.prompt, self.choices, self.answer))

    def to_json(self) -> dict:
        return {
            "subtask": self.subtask,
            "id": self.id,
            "kind": self.kind,
            "prompt": self.prompt,
            "choices": list(self.choices),
            "answer": self.answer,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, d: dict) -> "Item":
        return cls(
            subtask=d["subtask"],
            id=d["id"],
            kind=d["kind"],
            prompt=d["prompt"],
            choices=tuple(d.get("choices") or ()),
            answer=d.get("answer", ""),
            meta=dict(d.get("meta") or {}),
        )


class DataError(ValueError):
    """Benchmark data that is missing or malformed.

    The message names the file (or folder) and, where it applies, the line
    (``line``) or another location such as ``example 3`` (``where``), e.g.
    ``data/demo/ceval/val/x_val.csv line 4: answer 'E' is not one of the options A-D``.
    """

    def __init__(self, message: str, path: str | Path | None = None,
                 line: int | None = None, where: str | None = None) -> None:
        loc = "" if path is None else str(path)
        if line is not None:
            loc += f" line {line}"
        if where:
            loc += f" {where}"
        super().__init__(f"{loc.strip()}: {message}" if loc.strip() else message)
        self.path = None if path is None else Path(path)
        self.line = line
        self.detail = message


# --------------------------------------------------------------------------
# Loader interface
# --------------------------------------------------------------------------

class Loader:
    """Base class of the per-format loaders (one instance per format in FORMATS)."""

    name: str = ""

    def source_files(self, folder: Path) -> list[Path]:
        """Sorted list of the files :meth:`load` reads from ``folder``."""
        raise NotImplementedError

    def load(self, folder: Path, shots: int) -> list[Item]:
        raise NotImplementedError


# --------------------------------------------------------------------------
# File discovery
# --------------------------------------------------------------------------

def require_folder(folder: str | Path) -> Path:
    path = Path(folder)
    if not path.exists():
        raise DataError("benchmark folder does not exist", path)
    if not path.is_dir():
        raise DataError("benchmark path is not a folder", path)
    return path


def glob_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` (recursively) matching ``pattern``, hidden paths skipped, sorted."""
    out = []
    for p in root.rglob(pattern):
        parts = p.relative_to(root).parts
        if p.is_file() and not any(part.startswith(".") for part in parts):
            out.append(p)
    return sorted(out)


def rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form (for ``meta`` and messages)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def find_dir(root: Path, name: str | None, pattern: str, what: str) -> Path | None:
    """The one folder under ``root`` (``root`` included) called ``name`` (any name
    when None) that directly holds files matching ``pattern``.

    None when there is none; DataError when there are several (e.g. two copies
    of the same benchmark in different layouts) -- the caller must point at one.
    """
    dirs = sorted({p.parent for p in glob_files(root, pattern)
                   if name is None or p.parent.name == name})
    if len(dirs) > 1:
        listed = ", ".join(rel(d, root) or "." for d in dirs)
        raise DataError(f"found several {what} folders ({listed}); "
                        "pass the folder that holds only one of them", root)
    return dirs[0] if dirs else None


def find_file(root: Path, name: str, what: str) -> Path | None:
    """The one file called ``name`` under ``root`` (None when absent; DataError when
    there are several)."""
    found = glob_files(root, name)
    if len(found) > 1:
        listed = ", ".join(rel(p, root) for p in found)
        raise DataError(f"found several {what} files ({listed}); pass the folder that holds only one of them", root)
    return found[0] if found else None


def no_files(root: Path, fmt: str, expected: str) -> DataError:
    return DataError(f"no {fmt} files found (expected {expected})", root)


def unique_by(paths: Iterable[Path], key, root: Path, what: str) -> None:
    """DataError when two files give the same ``key`` (e.g. same subject name)."""
    seen: dict[str, Path] = {}
    for p in paths:
        k = key(p)
        if k in seen:
            raise DataError(f"two files give the same {what} {k!r}: "
                            f"{rel(seen[k], root)} and {rel(p, root)}", root)
        seen[k] = p


# --------------------------------------------------------------------------
# Readers (all keep line numbers for error messages)
# --------------------------------------------------------------------------

def _open_text(path: Path):
    path = Path(path)
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_csv(path: Path) -> list[tuple[int, list[str]]]:
    """Rows of a CSV file as ``(line, cells)``; ``line`` is the 1-based physical
    line where the record starts (quoted cells may span lines). Blank lines are skipped."""
    out: list[tuple[int, list[str]]] = []
    try:
        with _open_text(path) as f:
            reader = csv.reader(f)
            start = 1
            try:
                for row in reader:
                    if row and any(cell.strip() for cell in row):
                        out.append((start, row))
                    start = reader.line_num + 1
            except csv.Error as e:
                raise DataError(f"malformed CSV ({e})", path, reader.line_num) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    return out


def read_csv_records(path: Path, required: Sequence[str]) -> tuple[list[str], list[tuple[int, dict]]]:
    """A CSV file with a header row: checks that the ``required`` columns are
    there and every row has as many cells as the header. Returns
    ``(header, [(line, {column: value})])``."""
    rows = read_csv(path)
    if not rows:
        raise DataError("file is empty (no header row)", path)
    hline, header = rows[0]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"header {header} lacks column(s) {missing}", path, hline)
    records = []
    for line, row in rows[1:]:
        check_columns(path, line, row, len(header))
        records.append((line, dict(zip(header, row))))
    return header, records


def check_columns(path: Path, line: int, row: Sequence[str], n: int) -> None:
    if len(row) != n:
        raise DataError(f"expected {n} columns, got {len(row)}", path, line)


def read_jsonl(path: Path) -> list[tuple[int, dict]]:
    """Objects of a JSON-lines file (``.gz`` allowed) as ``(line, obj)``; blank lines skipped."""
    out: list[tuple[int, dict]] = []
    try:
        with _open_text(path) as f:
            for n, text in enumerate(f, 1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path, n) from None
                if not isinstance(obj, dict):
                    raise DataError(f"expected a JSON object, got {type(obj).__name__}", path, n)
                out.append((n, obj))
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason})", path) from None
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read file ({e})", path) from None
    return out


def read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path, e.lineno) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason})", path) from None


def get_field(obj: dict, key: str, types: type | tuple, path: Path,
              line: int | None = None, where: str | None = None, optional: bool = False) -> Any:
    """``obj[key]`` checked against ``types``; DataError naming file/line otherwise.
    With ``optional`` a missing key or null gives None."""
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise DataError(f"missing field {key!r}", path, line, where)
    value = obj[key]
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else "/".join(t.__name__ for t in types)
        raise DataError(f"field {key!r} should be {names}, got {type(value).__name__}", path, line, where)
    return value


# --------------------------------------------------------------------------
# Answers and prompts
# --------------------------------------------------------------------------

def letter_range(n: int) -> str:
    return "A" if n == 1 else f"A-{LETTERS[n - 1]}"


def check_letter(value: Any, n: int, path: Path, line: int | None = None,
                 where: str | None = None, what: str = "answer") -> str:
    """``value`` must be one of the first ``n`` option letters; returns it."""
    letter = value.strip() if isinstance(value, str) else value
    if not isinstance(letter, str) or letter not in tuple(LETTERS[:n]):
        raise DataError(f"{what} {value!r} is not one of the options {letter_range(n)}", path, line, where)
    return letter


def letter_choices(n: int) -> tuple[str, ...]:
    """Continuations scored for an n-option MCQ: (" A", " B", ...)."""
    return tuple(" " + c for c in LETTERS[:n])


def mcq_block(question: str, options: Sequence[str], lead: str) -> str:
    """lm-evaluation-harness MMLU/C-Eval/CMMLU block:
    ``{question.strip()}\\nA. {a}\\nB. {b}\\n...\\n{lead}``."""
    lines = [question.strip()]
    lines += [f"{letter}. {opt}" for letter, opt in zip(LETTERS, options)]
    return "\n".join(lines) + "\n" + lead


@dataclass
class McqRow:
    """A parsed multiple-choice row (before prompts are built)."""

    question: str
    options: tuple[str, ...]
    answer: str
    line: int
    meta: dict = field(default_factory=dict)


def read_header_mcq(path: Path, question: str, answer: str, options: Sequence[str] = ("A", "B", "C", "D"),
                    extra: dict[str, str] | None = None) -> list[McqRow]:
    """MCQ rows of a CSV file with a header (C-Eval, CMMLU): ``question``, ``options``
    and ``answer`` name the columns; ``extra`` maps meta keys to further columns."""
    _, records = read_csv_records(path, [question, *options, answer])
    return [McqRow(question=r[question],
                   options=tuple(r[c] for c in options),
                   answer=check_letter(r[answer], len(options), path, line),
                   line=line,
                   meta={k: r[c] for k, c in (extra or {}).items() if c in r})
            for line, r in records]


def mcq_items(subject: str, rows: Sequence[McqRow], exemplars: Sequence[McqRow],
              description: str, lead: str, shots: int, meta: dict) -> list[Item]:
    """Items for one subject in the lm-evaluation-harness multiple_choice layout:
    ``description + (block + " " + letter + "\\n\\n") * k + block``, with
    ``block = mcq_block(..., lead)`` and choices ``(" A", " B", ...)``.
    ``k = min(shots, len(exemplars))`` (the first k exemplars, like lm-eval's first_n sampler)."""
    used = list(exemplars[:max(shots, 0)])
    context = description + "".join(
        mcq_block(ex.question, ex.options, lead) + " " + ex.answer + "\n\n" for ex in used)
    items = []
    for i, row in enumerate(rows):
        items.append(Item(
            subtask=subject,
            id=f"{subject}/{i}",
            kind="mcq",
            prompt=context + mcq_block(row.question, row.options, lead),
            choices=letter_choices(len(row.options)),
            answer=row.answer,
            meta={**meta, "line": row.line, "n_shots": len(used), **row.meta},
        ))
    return items


def stem_without(path: Path, suffix: str) -> str:
    """File stem with a trailing ``suffix`` (e.g. ``"_test"``) removed."""
    stem = path.stem
    return stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem


class CsvMcqLoader(Loader):
    """Loader for the MMLU-style layout shared by MMLU, C-Eval and CMMLU: one CSV
    per subject and split, ``<eval_split>/<subject><eval_suffix>.csv`` evaluated,
    exemplars from ``dev/<subject><dev_suffix>.csv``; split folders are found
    wherever they sit under the benchmark folder."""

    label = ""          # human name used in messages, e.g. "MMLU"
    eval_split = "test"
    eval_suffix = "_test"
    dev_suffix = "_dev"
    lead = "Answer:"
    expected_hint = ""  # extra note for the "no files" error

    def read_rows(self, path: Path) -> list[McqRow]:
        raise NotImplementedError

    def description(self, subject: str) -> str:
        raise NotImplementedError

    def subjects(self, folder: Path) -> list[tuple[str, Path, Path | None]]:
        """``[(subject, eval_file, dev_file_or_None)]`` sorted by subject."""
        eval_glob, dev_glob = f"*{self.eval_suffix}.csv", f"*{self.dev_suffix}.csv"
        eval_dir = find_dir(folder, self.eval_split, eval_glob, f"{self.label} {self.eval_split}")
        if eval_dir is None:
            raise no_files(folder, self.label,
                           f"{self.eval_split}/<subject>{self.eval_suffix}.csv{self.expected_hint}")
        dev_dir = find_dir(folder, "dev", dev_glob, f"{self.label} dev")
        devs = {stem_without(p, self.dev_suffix): p for p in dev_dir.glob(dev_glob)} if dev_dir else {}
        out = []
        for path in sorted(eval_dir.glob(eval_glob)):
            subject = stem_without(path, self.eval_suffix)
            out.append((subject, path, devs.get(subject)))
        return sorted(out)

    def source_files(self, folder: Path) -> list[Path]:
        return sorted(p for _, ev, dev in self.subjects(folder) for p in (ev, dev) if p is not None)

    def load(self, folder: Path, shots: int) -> list[Item]:
        items: list[Item] = []
        for subject, path, dev in self.subjects(folder):
            exemplars = self.read_rows(dev) if shots > 0 and dev is not None else []
            items += mcq_items(subject, self.read_rows(path), exemplars, self.description(subject),
                               self.lead, shots, {"file": rel(path, folder)})
        return items
