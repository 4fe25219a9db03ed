"""The published scores (config `reported`: CSVs model,benchmark,shots,metric,score,source, then
any of the optional columns split, cot, subset: the paper's setting, for the verdict), read
and checked in one place: when Snakemake parses the workflow (so `snakemake -n` stops on a bad
file) and again by the merge that puts them in the score table (lmdeck.scores.read_reported).

Plain `csv`, no pandas: the files are small and the parse must stay quick.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

HEADER = ["model", "benchmark", "shots", "metric", "score", "source"]
# The paper's setting where it states it (lmdeck.stats.verdicts): a column absent or a cell left
# empty reads as "unknown".
OPTIONAL = ["split", "cot", "subset"]


class ReportedError(ValueError):
    """A bad reported CSV or a reference to it; the message names the file and line, or the field."""


@dataclass(frozen=True)
class Row:
    file: str
    line: int
    table: str
    model: str
    benchmark: str
    shots: str
    metric: str
    score: float
    source: str
    split: str | None = None
    cot: str | None = None
    subset: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        # What one cell of a results table shows (the deck's pivot is model × benchmark per table).
        return self.table, self.model, self.benchmark


def read_file(path: str | Path, table: str) -> list[Row]:
    """Every row of one CSV; a missing file, a bad header, a short or long row, a non-numeric or
    out-of-range score is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ReportedError(f"reported: file {path} does not exist")
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        extra = header[len(HEADER) :]
        if header[: len(HEADER)] != HEADER or not set(extra) <= set(OPTIONAL) or len(set(extra)) != len(extra):
            raise ReportedError(
                f"{path} line 1: header must be {','.join(HEADER)}, then any of the optional columns "
                f"{', '.join(OPTIONAL)} (each once), got {','.join(header)}"
            )
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(header):
                raise ReportedError(f"{path} line {line}: {len(cells)} columns, the header has {len(header)}")
            rec = dict(zip(header, cells))
            try:
                score = float(rec["score"])
            except ValueError:
                raise ReportedError(f"{path} line {line}: score {rec['score']!r} is not a number") from None
            if not 0.0 <= score <= 100.0:
                raise ReportedError(f"{path} line {line}: score {score} is outside 0-100")
            rows.append(
                Row(
                    str(path),
                    line,
                    table,
                    rec["model"],
                    rec["benchmark"],
                    rec["shots"],
                    rec["metric"],
                    score,
                    rec["source"],
                    *(rec.get(name, "").strip() or None for name in OPTIONAL),
                )
            )
    return rows


def read_all(config: dict) -> list[Row]:
    """The rows of every reported CSV for the config's benchmarks, in file order. A model ×
    benchmark given twice for one table is refused when the scores differ (which one the deck
    showed would be an accident); an exact repeat is dropped with a warning."""
    from lmdeck.console import notice

    covered = {b["name"] for b in config["benchmarks"]}
    kept: dict[tuple[str, str, str], Row] = {}
    for entry in config.get("reported", []):
        for row in read_file(entry["file"], entry["table"]):
            if row.benchmark not in covered:
                continue  # a benchmark this report does not cover
            first = kept.get(row.key)
            if first is None:
                kept[row.key] = row
                continue
            where = f"{first.file} line {first.line} and " + (
                f"line {row.line}" if row.file == first.file else f"{row.file} line {row.line}"
            )
            what = f"{row.model} × {row.benchmark} (table {row.table})"
            if row.score != first.score:
                raise ReportedError(
                    f"{where}: {what} is given twice, with scores {first.score:g} and {row.score:g}; keep one"
                )
            notice(f"warning: {where}: {what} is given twice with the same score; the first is used")
    return list(kept.values())


def check_reported_as(config: dict, rows: list[Row]) -> None:
    """Every `models[i].reported_as` names a model of the reported table of the model's kind (the
    one reported-vs-measured compares with: lmdeck.tables.reported_vs_measured)."""
    for i, model in enumerate(config["models"]):
        target, table = model.get("reported_as"), model.get("kind", "base")
        known = sorted({row.model for row in rows if row.table == table})
        if target and target not in known:
            files = ", ".join(r["file"] for r in config.get("reported", []) if r["table"] == table)
            there = f"{files}; models there: {', '.join(known) or 'none'}" if files else "no CSV for that table"
            raise ReportedError(
                f"models[{i}].reported_as: {target!r} is not a model in the reported CSVs of the "
                f"{table} table ({there})"
            )


def check(config: dict) -> list[Row]:
    """All of the above, as the workflow's parse runs it; returns the rows."""
    rows = read_all(config)
    check_reported_as(config, rows)
    return rows
