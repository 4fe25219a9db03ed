"""The integrity index of the per-benchmark cache: what a finished benchmark's folder held when
the harness job wrote it, kept apart from that folder.

`results/raw/<harness>/<model>/.cache-index/<benchmark>.json` maps every file under
`results/raw/<harness>/<model>/<benchmark>/` (its path inside the folder, run.json included) to
its sha256. The job writes it right after run.json. A later job reuses the benchmark, and the
scores stage reads it, only when the folder is still exactly that: no file changed, missing or
added. It guards against accidental edits, partial writes and corruption, not against someone
who rewrites the index as well.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmdeck import fileio

INDEX_DIR = ".cache-index"
SHOWN = 3  # file names a reason lists, per kind of difference


def index_path(bench_dir: Path) -> Path:
    """Beside the benchmark folders, never inside the folder it covers."""
    bench_dir = Path(bench_dir)
    return bench_dir.parent / INDEX_DIR / f"{bench_dir.name}.json"


def file_digests(bench_dir: Path) -> dict[str, str]:
    bench_dir = Path(bench_dir)
    return {
        p.relative_to(bench_dir).as_posix(): fileio.sha256_file(p) for p in sorted(bench_dir.rglob("*")) if p.is_file()
    }


def record(bench_dir: Path) -> None:
    """Called once the benchmark's folder is complete (run.json written)."""
    fileio.write_json(index_path(bench_dir), {"files": file_digests(bench_dir)})


def forget(bench_dir: Path) -> None:
    """The folder is about to be evaluated again: nothing may vouch for it meanwhile."""
    index_path(bench_dir).unlink(missing_ok=True)


def _names(kind: str, names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{kind} {', '.join(names[:SHOWN])}{more}"


def problem(bench_dir: Path) -> str | None:
    """Why the folder is not what its job wrote (a short phrase naming the files), or None."""
    path = index_path(bench_dir)
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["files"]
        if not isinstance(recorded, dict):
            raise TypeError
    except FileNotFoundError:
        return f"there is no record of what its job wrote ({path} is missing)"
    except (OSError, ValueError, KeyError, TypeError):
        return f"the record of what its job wrote ({path}) is unreadable"
    actual = file_digests(bench_dir)
    changed = sorted(n for n in recorded.keys() & actual.keys() if recorded[n] != actual[n])
    missing = sorted(recorded.keys() - actual.keys())
    added = sorted(actual.keys() - recorded.keys())
    if not (changed or missing or added):
        return None
    parts = [
        _names(kind, names)
        for kind, names in (("changed:", changed), ("missing:", missing), ("not written by its job:", added))
        if names
    ]
    return f"its results changed since they were written ({'; '.join(parts)})"
