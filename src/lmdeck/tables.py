"""Pivot tables from the tidy scores: model x benchmark (grouped by category, with an average)
and reported vs measured. Markdown through tabulate, with CSV beside it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from lmdeck.fileio import atomic_path, write_text
from lmdeck.markdown import MISSING, MISSING_NOTE, fmt, score_text
from lmdeck.messages import t
from lmdeck.scores import AGGREGATE
from lmdeck.stats import AVERAGE
from lmdeck.settings import ReportSpec
from lmdeck.stats.verdicts import verdict

CATEGORY_ORDER = ["exams", "math", "coding", "reasoning"]


def benchmark_order(spec: ReportSpec) -> list[str]:
    """Benchmarks grouped by category (exams, math, coding, reasoning), config order within."""
    return [b.name for cat in CATEGORY_ORDER for b in spec.benchmarks if b.category == cat]


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[scores["subtask"] == AGGREGATE]


def primary_harness(spec: ReportSpec) -> dict[str, str]:
    """The harness a benchmark is shown with by default: the first it lists."""
    return {b.name: b.harnesses[0] for b in spec.benchmarks}


def measured_headline(scores: pd.DataFrame, spec: ReportSpec, primary: bool = True) -> pd.DataFrame:
    """Measured headline rows of each benchmark's first harness (``primary``) or of the others."""
    rows = headline(scores)
    rows = rows[rows["source"] == "measured"]
    first = rows["benchmark"].map(primary_harness(spec))
    return rows[(rows["harness"] == first) == primary]


HARNESS_NAMES = {"lm-eval": "lm-eval", "opencompass": "OpenCompass"}


def row_label(model: str, source: str, spec: ReportSpec, harness: str | None = None) -> str:
    names = {m.name: m.display_name for m in spec.models}
    if source != "measured":
        return model
    return (
        t("labels.measured_harness", name=names[model], harness=HARNESS_NAMES.get(harness, harness))
        if harness
        else t("labels.measured", name=names[model])
    )


def score_pivot(scores: pd.DataFrame, spec: ReportSpec, table: str) -> pd.DataFrame:
    """Rows: reported models first (file order), then measured; columns: benchmarks + Average."""
    reported = headline(scores)
    reported = reported[reported["source"] == "reported"]
    rows = pd.concat([reported, measured_headline(scores, spec)])
    rows = rows[rows["table"] == table]
    if rows.empty and not any(m.kind == table for m in spec.models):
        return pd.DataFrame(columns=benchmark_order(spec) + ["Average"])
    labels = [row_label(m, s, spec) for m, s in zip(rows["model"], rows["source"])]
    # Reported numbers not yet checked against the paper (allow_draft) say so on their row.
    drafts = set(rows.loc[rows["draft"].eq(True), "model"]) if "draft" in rows else set()
    labels = [
        t("labels.draft", label=label) if s == "reported" and m in drafts else label
        for label, m, s in zip(labels, rows["model"], rows["source"])
    ]
    # A benchmark run through a second harness: its numbers get their own row, never mixed in.
    others = measured_headline(scores, spec, primary=False)
    others = others[others["table"] == table]
    labels += [row_label(m, "measured", spec, h) for m, h in zip(others["model"], others["harness"])]
    rows = pd.concat([rows, others]).assign(label=labels)
    order = list(dict.fromkeys(rows.sort_values("source", kind="stable", ascending=False)["label"]))
    # A configured model whose evaluation failed still gets its row, all dashes.
    order += [
        label
        for label in (row_label(m.name, "measured", spec) for m in spec.models if m.kind == table)
        if label not in order
    ]
    pivot = rows.pivot(index="label", columns="benchmark", values="score")
    pivot = pivot.reindex(index=order, columns=benchmark_order(spec))
    # An average over a partial row would compare unlike things: only complete rows get one.
    pivot["Average"] = pivot.mean(axis=1).where(pivot.notna().all(axis=1))
    pivot.index.name = "Model"
    return pivot


def chart_labels(rows: pd.DataFrame, spec: ReportSpec, table: str) -> list[str]:
    """The bars of a table's charts, in the table's order: reported models as their files list them
    (the paper's order), then the measured ones in config order. `rows`: labelled headline rows."""
    labels = list(dict.fromkeys(rows[rows["source"] == "reported"]["label"]))
    present = set(rows["label"])
    measured = (row_label(m.name, "measured", spec) for m in spec.models if m.kind == table)
    return labels + [label for label in measured if label in present]


DELTA_COLUMNS = ["Model", "Reported as", "Benchmark", "Reported", "Measured", "CI low", "CI high", "Delta", "Verdict"]


def reported_vs_measured(scores: pd.DataFrame, spec: ReportSpec) -> pd.DataFrame:
    """Per model with `reported_as` and benchmark: both numbers, the measured 95 % interval, the
    delta and the verdict (lmdeck.stats.verdicts)."""
    rows = headline(scores)
    reported_rows = rows[rows["source"] == "reported"]
    primary = measured_headline(scores, spec)
    benches = {b.name: b for b in spec.benchmarks}
    out = []
    for model in spec.models:
        target = model.reported_as
        if not target:
            continue
        measured = {r["benchmark"]: r for r in primary[primary["model"] == model.name].to_dict("records")}
        # The reported table of the model's own kind (a model can be listed in both tables).
        reported = reported_rows[reported_rows["table"] == model.kind]
        printed = printed_scores(reported)
        reported = {(r["model"], r["benchmark"]): r for r in reported.to_dict("records")}
        for bench in benchmark_order(spec):
            got, want = measured.get(bench), reported.get((target, bench))
            score = got["score"] if got else math.nan
            wanted = want["score"] if want else math.nan
            out.append(
                {
                    "Model": model.display_name,
                    "Reported as": target,
                    "Benchmark": bench,
                    # Reported as the paper printed it ("46.20"); the delta is computed from the number.
                    "Reported": printed.get((target, bench), wanted),
                    "Measured": score,
                    "CI low": got["ci_low"] if got else math.nan,
                    "CI high": got["ci_high"] if got else math.nan,
                    "Delta": score - wanted,
                    "Verdict": verdict(model, got, want, benches[bench]),
                }
            )
    return pd.DataFrame(out, columns=DELTA_COLUMNS)


def printed_scores(scores: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Reported headline scores as their source printed them, by (model, benchmark): the pivot's
    cell (label, column) of a reported row (a reported row's label is its model)."""
    if "score_printed" not in scores:
        return {}
    rows = headline(scores)
    rows = rows[(rows["source"] == "reported") & rows["score_printed"].notna()]
    return {
        (m, b): score_text(s, str(t))
        for m, b, s, t in zip(rows["model"], rows["benchmark"], rows["score"], rows["score_printed"])
    }


def delta_display(delta: pd.DataFrame) -> pd.DataFrame:
    """The reported-vs-measured table as shown: the interval as one "[low, high]" cell."""
    interval = [
        MISSING if math.isnan(lo) or math.isnan(hi) else f"[{lo:.1f}, {hi:.1f}]"
        for lo, hi in zip(delta["CI low"], delta["CI high"])
    ]
    shown = delta.drop(columns=["CI low", "CI high"])
    shown.insert(shown.columns.get_loc("Measured") + 1, "95 % CI", interval)
    return shown


VERDICT_NOTE = (
    "Delta = measured − reported, in points. Verdict: consistent = the reported number lies inside the "
    "measured 95 % interval; above/below by = how far the reported number lies outside it; not comparable: why."
)
BOLD_NOTE = (
    "Bold: among the measured models of a column, the best and every model not significantly worse "
    "(paired test against the best, Holm, α = 0.05); among the reported numbers, the best."
)


def bold_mask(
    pivot: pd.DataFrame, scores: pd.DataFrame, spec: ReportSpec, comparisons: pd.DataFrame | None, table: str
) -> pd.DataFrame:
    """Which cells of a results table are bold: the measured models tied best per column (the
    comparisons of lmdeck.stats.paired), and the best reported number; nothing in a column where
    a group has a single row."""
    mask = pd.DataFrame(False, index=pivot.index, columns=pivot.columns)
    rows = headline(scores)
    paper = set(rows.loc[(rows["source"] == "reported") & (rows["table"] == table), "model"])
    paper_rows = [label for label in pivot.index if label in paper]
    for column in pivot.columns:
        values = pivot.loc[paper_rows, column].dropna()
        if len(values) >= 2:
            mask.loc[values.index[values == values.max()], column] = True
    if comparisons is not None and not comparisons.empty:
        mark_tied_best(mask, spec, comparisons, table)
    # A lone value in a column is not "best" of anything.
    mask.loc[:, pivot.count() <= 1] = False
    return mask


def mark_tied_best(mask: pd.DataFrame, spec: ReportSpec, comparisons: pd.DataFrame, table: str) -> None:
    """Marks in `mask` the measured models tied best per column (lmdeck.stats.paired's best-vs-rest rows)."""
    primary = primary_harness(spec)
    mine = comparisons[(comparisons["table"] == table) & comparisons["best_vs_rest"].astype(bool)]
    for r in mine.itertuples(index=False):
        harness = r.harness if isinstance(r.harness, str) else ""
        own_row = r.benchmark == AVERAGE or harness == primary.get(r.benchmark)
        for model, bold in ((r.model_a, True), (r.model_b, bool(r.tied_best))):
            label = row_label(model, "measured", spec, None if own_row else harness)
            if bold and label in mask.index and r.benchmark in mask.columns:
                mask.loc[label, r.benchmark] = True


def pivot_markdown(
    pivot: pd.DataFrame, bold: pd.DataFrame | None = None, printed: dict[tuple[str, str], str] | None = None
) -> str:
    """Cells marked in `bold` (bold_mask) in bold; missing cells as the dash, never 0; `printed`
    cells as their source printed them."""
    printed = printed or {}
    body = [
        [escape_cell(str(label))]
        + [
            fmt(
                v,
                bold=bold is not None and not math.isnan(v) and bool(bold.loc[label, c]),
                printed=printed.get((label, c)),
            )
            for c, v in row.items()
        ]
        for label, row in pivot.iterrows()
    ]
    headers = [escape_cell(shown_name(pivot.index.name or ""))] + [
        escape_cell(shown_name(str(c))) for c in pivot.columns
    ]
    return tabulate(
        body,
        headers=headers,
        tablefmt="pipe",
        disable_numparse=True,
        colalign=["left"] + ["right"] * len(pivot.columns),
    )


def shown_name(name: str) -> str:
    """A score table's own column names (the CSV's, always English) as the deck's language says them."""
    return {"Model": t("labels.model"), "Average": t("labels.average")}.get(name, name)


def shown_names(pivot: pd.DataFrame) -> pd.DataFrame:
    """`pivot` with its label and average columns named in the deck's language (the table images)."""
    pivot = pivot.rename(columns=shown_name)
    pivot.index.name = shown_name(pivot.index.name or "")
    return pivot


def frame_markdown(frame: pd.DataFrame) -> str:
    body = [
        [fmt(v) if isinstance(v, float) else escape_cell(str(v)) for v in row] for row in frame.itertuples(index=False)
    ]
    return tabulate(body, headers=list(frame.columns), tablefmt="pipe", disable_numparse=True)


def escape_cell(text: str) -> str:
    """Keep user text literal inside a Markdown table cell (no HTML, no column breaks)."""
    from lmdeck.markdown import escape

    return escape(text)


def write_tables(
    scores: pd.DataFrame, spec: ReportSpec, out_dir: Path, comparisons: pd.DataFrame | None = None
) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    frames = {f"{table}": score_pivot(scores, spec, table) for table in ("base", "chat")}
    for name, pivot in frames.items():
        bold = bold_mask(pivot, scores, spec, comparisons, name)
        printed = printed_scores(scores[scores["table"] == name])
        write_text(out_dir / f"{name}.md", pivot_markdown(pivot, bold, printed) + f"\n\n{BOLD_NOTE} {MISSING_NOTE}\n")
        with atomic_path(out_dir / f"{name}.csv") as tmp:
            pivot.to_csv(tmp, float_format="%.2f")
        written += [out_dir / f"{name}.md", out_dir / f"{name}.csv"]
    delta = reported_vs_measured(scores, spec)
    write_text(out_dir / "reported_vs_measured.md", frame_markdown(delta_display(delta)) + f"\n\n{VERDICT_NOTE}\n")
    with atomic_path(out_dir / "reported_vs_measured.csv") as tmp:
        delta.to_csv(tmp, index=False, float_format="%.2f")
    written += [out_dir / "reported_vs_measured.md", out_dir / "reported_vs_measured.csv"]
    return written
