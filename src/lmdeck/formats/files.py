"""Reading the authors' files: the data error, file discovery, and readers that keep
line numbers so that every complaint names the file and line."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

LETTERS = "ABCDEFGHIJ"


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


def split_files(folder: Path, label: str, suffixes: dict[str, str], required: str,
                expected: str) -> list[tuple[str, str, Path]]:
    """``[(subject, split, file)]`` of a one-CSV-per-subject-and-split layout (MMLU, C-Eval,
    CMMLU): ``<split>/<subject><suffix>.csv`` for each split in ``suffixes`` (e.g.
    ``{"dev": "_dev", "test": "_test"}``), the split folders found wherever they sit under
    ``folder``. The ``required`` split must exist; two files of one split whose subject names
    meet (case, ``-`` vs ``_``) are refused, naming both."""
    out = []
    for split, suffix in suffixes.items():
        pattern = f"*{suffix}.csv"
        split_dir = find_dir(folder, split, pattern, f"{label} {split}")
        if split_dir is None:
            if split == required:
                raise no_files(folder, label, expected)
            continue
        files = sorted(split_dir.glob(pattern))
        unique_by(files, lambda p, s=suffix: subject_key(stem_without(p, s)), folder, f"{split} subject")
        out += [(stem_without(p, suffix), split, p) for p in files]
    return sorted(out)


def subject_key(name: str) -> str:
    """How subject names are compared for collisions: case and ``-``/``_``/space folded."""
    return name.lower().replace("-", "_").replace(" ", "_")


def stem_without(path: Path, suffix: str) -> str:
    """File stem with a trailing ``suffix`` (e.g. ``"_test"``) removed."""
    stem = path.stem
    return stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem
