"""Reading the authors' files: the data error, file discovery, and readers that keep
line numbers so that every complaint names the file and line."""

from __future__ import annotations

import csv
import gzip
import io
import json
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from lmdeck import names
from lmdeck.settings import Limits

LETTERS = "ABCDEFGHIJ"


class DataError(ValueError):
    """Benchmark data that is missing or malformed.

    The message names the file (or folder) and, where it applies, the line
    (``line``) or another location such as ``example 3`` (``where``), e.g.
    ``data/demo/ceval/val/x_val.csv line 4: answer 'E' is not one of the options A-D``.
    """

    def __init__(
        self, message: str, path: str | Path | None = None, line: int | None = None, where: str | None = None
    ) -> None:
        loc = "" if path is None else str(path)
        if line is not None:
            loc += f" line {line}"
        if where:
            loc += f" {where}"
        super().__init__(f"{loc.strip()}: {message}" if loc.strip() else message)
        self.path = None if path is None else Path(path)
        self.line = line
        self.detail = message


class NoDataFiles(DataError):
    """A benchmark folder without any of its format's files (refused at parse, before any job)."""


# --------------------------------------------------------------------------
# Size limits (config `limits`): checked while reading, so that one huge item or file is
# refused with its file and line instead of driving a job out of memory
# --------------------------------------------------------------------------

KIB, MIB = 1024, 1024 * 1024

_LIMITS: ContextVar[Limits | None] = ContextVar("lmdeck_data_limits", default=None)


def _limits() -> Limits:
    return _LIMITS.get() or Limits.default()


@contextmanager
def using_limits(limits: Limits) -> Iterator[Limits]:
    """The limits every reader below applies while the block runs (default: the schema's
    ``limits``). The defaults are far above the real benchmarks' largest (a few KiB per item, a
    few MiB per file: MATH, GSM8K train, AGIEval lsat-rc, GAOKAO reading comprehension, MMLU
    professional_law)."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / KIB:.1f} KiB" if n >= KIB else f"{n} bytes"


def _item_limit() -> str:
    return f"the limit of {_size(_limits().max_item_bytes)} per item (limits.max_item_kib)"


def _file_limit() -> str:
    return f"the limit of {_size(_limits().max_file_bytes)} per file (limits.max_file_mib)"


def check_file_size(path: Path) -> None:
    """The file's size on disk against ``limits.max_file_mib`` (cheap: the directory listing)."""
    size = Path(path).stat().st_size
    if size > _limits().max_file_bytes:
        raise DataError(f"file is {_size(size)}, over {_file_limit()}", path)


def check_item_size(item: Any, path: Path, line: int | None = None, where: str | None = None) -> None:
    """One item of a JSON document (its JSON text) against ``limits.max_item_kib``."""
    size = len(json.dumps(item, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > _limits().max_item_bytes:
        raise DataError(f"item is {_size(size)}, over {_item_limit()}", path, line, where)


class _Capped(io.RawIOBase):
    """A binary stream that fails as soon as more than ``limits.max_file_mib`` bytes have come
    out of it: a ``.gz`` file is counted decompressed, so a gzip bomb stops at the limit."""

    def __init__(self, raw, path: Path) -> None:
        super().__init__()
        self._raw, self._path, self._read = raw, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer) or 0
        self._read += n
        if self._read > _limits().max_file_bytes:
            what = "decompressed, it is" if self._path.name.endswith(".gz") else "file is"
            raise DataError(f"{what} over {_file_limit()}", self._path)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


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
    dirs = sorted(
        {p.parent for p in glob_files(root, pattern) if name is None or names.key(p.parent.name) == names.key(name)}
    )
    if len(dirs) > 1:
        listed = ", ".join(rel(d, root) or "." for d in dirs)
        raise DataError(f"found several {what} folders ({listed}); pass the folder that holds only one of them", root)
    return dirs[0] if dirs else None


def find_file(root: Path, name: str, what: str) -> Path | None:
    """The one file called ``name`` under ``root`` (None when absent; DataError when there are
    several, names compared with :func:`lmdeck.names.key`: ``Test.jsonl`` beside ``test.jsonl``
    is a second copy, not a file to skip)."""
    found = [p for p in glob_files(root, "*") if names.key(p.name) == names.key(name)]
    if len(found) > 1:
        listed = ", ".join(rel(p, root) for p in found)
        raise DataError(f"found several {what} files ({listed}); pass the folder that holds only one of them", root)
    return found[0] if found else None


def no_files(root: Path, fmt: str, expected: str) -> NoDataFiles:
    return NoDataFiles(f"no {fmt} files found (expected {expected})", root)


def refuse_collisions(
    items: Iterable, name: Callable[[Any], str], where: Path, what: str, describe: Callable[[Any], str] = str
) -> None:
    """DataError (at ``where``) naming both when two of ``items`` have names that meet under
    :func:`lmdeck.names.key` (case, ``-``/``_``/``.``/space)."""
    try:
        names.refuse_collisions(items, name, what, describe)
    except names.NameCollision as err:
        raise DataError(str(err), where) from None


def unique_by(paths: Iterable[Path], name: Callable[[Path], str], root: Path, what: str) -> None:
    """Two files whose names (e.g. subjects) meet would be one subtask: refused, naming both."""
    refuse_collisions(paths, name, root, f"{what} names", lambda p: rel(p, root))


# --------------------------------------------------------------------------
# Readers (all keep line numbers for error messages)
# --------------------------------------------------------------------------


def _open_binary(path: Path) -> io.BufferedReader:
    """The file's bytes (decompressed for ``.gz``), failing past ``limits.max_file_mib``."""
    path = Path(path)
    check_file_size(path)
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb", buffering=0)
    return io.BufferedReader(_Capped(raw, path))


def _open_text(path: Path, newline: str | None = "") -> io.TextIOWrapper:
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", newline=newline)


def _capped_lines(f, path: Path) -> Iterator[str]:
    """The physical lines of a text stream, each read no further than ``limits.max_item_kib``
    (an item spans at least one line), so one huge line is refused before it is in memory."""
    limit = _limits().max_item_bytes
    n = 0
    while line := f.readline(limit + 1):
        n += 1
        if len(line) > limit:  # characters; each is at least one byte
            raise DataError(f"line is over {_item_limit()}", path, n)
        yield line


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """csv's own field limit (process-wide) set to the item limit while one file is read."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def read_csv(path: Path) -> list[tuple[int, list[str]]]:
    """Rows of a CSV file as ``(line, cells)``; ``line`` is the 1-based physical
    line where the record starts (quoted cells may span lines). Blank lines are skipped.
    A row over ``limits.max_item_kib`` is refused with its line."""
    out: list[tuple[int, list[str]]] = []
    limit = _limits().max_item_bytes
    try:
        with _open_text(path) as f, _csv_field_limit(limit):
            reader = csv.reader(_capped_lines(f, path))
            start = 1
            try:
                for row in reader:
                    if sum(len(cell.encode("utf-8", "surrogatepass")) for cell in row) > limit:
                        raise DataError(f"row is over {_item_limit()}", path, start)
                    if row and any(cell.strip() for cell in row):
                        out.append((start, row))
                    start = reader.line_num + 1
            except csv.Error as e:
                if "field limit" in str(e):
                    raise DataError(f"a cell is over {_item_limit()}", path, start) from None
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
    """Objects of a JSON-lines file (``.gz`` allowed) as ``(line, obj)``; blank lines skipped.
    Each line is read no further than ``limits.max_item_kib`` before it is parsed."""
    out: list[tuple[int, dict]] = []
    limit = _limits().max_item_bytes
    try:
        with _open_binary(path) as f:
            n = 0
            while raw := f.readline(limit + 1):
                n += 1
                if len(raw) > limit:
                    raise DataError(f"line is over {_item_limit()}", path, n)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DataError(f"not UTF-8 text ({e.reason})", path, n) from None
                if n == 1:
                    text = text.removeprefix("\ufeff")
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path, n) from None
                if not isinstance(obj, dict):
                    raise DataError(f"expected a JSON object, got {type(obj).__name__}", path, n)
                out.append((n, obj))
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DataError(f"cannot read file ({e})", path) from None
    return out


def read_json(path: Path) -> Any:
    """One JSON document (within ``limits.max_file_mib``); its items are checked by the caller
    (:func:`check_item_size`)."""
    try:
        with _open_text(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg} at column {e.colno})", path, e.lineno) from None
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason})", path) from None


def read_text(path: Path) -> str:
    """A whole text file (within ``limits.max_file_mib``), universal newlines."""
    try:
        with _open_text(path, newline=None) as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason})", path) from None


def get_field(
    obj: dict,
    key: str,
    types: type | tuple,
    path: Path,
    line: int | None = None,
    where: str | None = None,
    optional: bool = False,
) -> Any:
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


def check_letter(
    value: Any, n: int, path: Path, line: int | None = None, where: str | None = None, what: str = "answer"
) -> str:
    """``value`` must be one of the first ``n`` option letters; returns it."""
    letter = value.strip() if isinstance(value, str) else value
    if not isinstance(letter, str) or letter not in tuple(LETTERS[:n]):
        raise DataError(f"{what} {value!r} is not one of the options {letter_range(n)}", path, line, where)
    return letter


def split_files(
    folder: Path, label: str, suffixes: dict[str, str], required: str, expected: str
) -> list[tuple[str, str, Path]]:
    """``[(subject, split, file)]`` of a one-CSV-per-subject-and-split layout (MMLU, C-Eval,
    CMMLU): ``<split>/<subject><suffix>.csv`` for each split in ``suffixes`` (e.g.
    ``{"dev": "_dev", "test": "_test"}``), the split folders found wherever they sit under
    ``folder``. The ``required`` split must exist; two files of one split whose subject names
    meet under :func:`lmdeck.names.key` (case, ``-`` vs ``_``) are refused, naming both."""
    out = []
    for split, suffix in suffixes.items():
        pattern = f"*{suffix}.csv"
        split_dir = find_dir(folder, split, pattern, f"{label} {split}")
        if split_dir is None:
            if split == required:
                raise no_files(folder, label, expected)
            continue
        files = sorted(split_dir.glob(pattern))
        unique_by(files, lambda p, s=suffix: stem_without(p, s), folder, f"{split} subject")
        out += [(stem_without(p, suffix), split, p) for p in files]
    return sorted(out)


def stem_without(path: Path, suffix: str) -> str:
    """File stem with a trailing ``suffix`` (e.g. ``"_test"``) removed."""
    stem = path.stem
    return stem[: -len(suffix)] if suffix and stem.endswith(suffix) else stem
