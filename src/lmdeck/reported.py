"""The published scores (config `reported`: CSVs model,benchmark,shots,metric,score,source, then
any of the optional columns split, cot, subset (the paper's setting, for the verdict) and draft), read
and checked in one place: when Snakemake parses the workflow (so `snakemake -n` stops on a bad
file) and again by the merge that puts them in the score table (lmdeck.scores.read_reported).

Plain `csv`, no pandas: the files are small and the parse must stay quick.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from lmdeck.settings import Config, ReportSpec

HEADER = ["model", "benchmark", "shots", "metric", "score", "source"]
# The paper's setting where it states it (lmdeck.stats.verdicts): a column absent or a cell left
# empty reads as "unknown".
SETTING_COLUMNS = ["split", "cot", "subset"]
# An optional column: a row with anything in it is a draft (`lmdeck extract-reported` marks
# every row it reads off a PDF), refused unless the config entry says `allow_draft: true`.
DRAFT_COLUMN = "draft"
OPTIONAL = [*SETTING_COLUMNS, DRAFT_COLUMN]


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
    draft: bool = False
    score_printed: str = ""  # the score cell as the source printed it ("46.20"): shown as is, never re-rounded
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
                    bool(rec.get(DRAFT_COLUMN, "").strip()),
                    rec["score"].strip(),
                    *(rec.get(name, "").strip() or None for name in SETTING_COLUMNS),
                )
            )
    return rows


def read_all(config: Config | ReportSpec) -> list[Row]:
    """The rows of every reported CSV for the config's benchmarks, in file order. A model ×
    benchmark given twice for one table is refused when the scores differ (which one the deck
    showed would be an accident); an exact repeat is dropped with a warning."""
    from lmdeck.console import notice

    covered = {b.name for b in config.benchmarks}
    kept: dict[tuple[str, str, str], Row] = {}
    for i, entry in enumerate(config.reported):
        rows = read_file(entry.file, entry.table)
        draft = next((row for row in rows if row.draft), None)
        if draft and not entry.allow_draft:
            raise ReportedError(
                f"{draft.file} line {draft.line}: {draft.model} × {draft.benchmark} is marked draft (read off the "
                f"paper by lmdeck extract-reported, not yet checked): check the row against the paper and clear "
                f"its {DRAFT_COLUMN} cell, or set reported[{i}].allow_draft: true to show it marked as draft"
            )
        for row in rows:
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


def check_reported_as(config: Config | ReportSpec, rows: list[Row]) -> None:
    """Every `models[i].reported_as` names a model of the reported table of the model's kind (the
    one reported-vs-measured compares with: lmdeck.tables.reported_vs_measured)."""
    for i, model in enumerate(config.models):
        target, table = model.reported_as, model.kind
        known = sorted({row.model for row in rows if row.table == table})
        if target and target not in known:
            files = ", ".join(r.file for r in config.reported if r.table == table)
            there = f"{files}; models there: {', '.join(known) or 'none'}" if files else "no CSV for that table"
            raise ReportedError(
                f"models[{i}].reported_as: {target!r} is not a model in the reported CSVs of the "
                f"{table} table ({there})"
            )


def check(config: Config | ReportSpec) -> list[Row]:
    """All of the above, as the workflow's parse runs it; returns the rows."""
    rows = read_all(config)
    check_reported_as(config, rows)
    return rows
