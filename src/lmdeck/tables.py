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

CATEGORY_ORDER = ["exams", "math", "coding", "reasoning"]


def benchmark_order(spec: dict) -> list[str]:
    """Benchmarks grouped by category (exams, math, coding, reasoning), config order within."""
    benches = spec["benchmarks"]
    return [b["name"] for cat in CATEGORY_ORDER for b in benches if b["category"] == cat]


def headline(scores: pd.DataFrame) -> pd.DataFrame:
    return scores[scores["subtask"] == AGGREGATE]


def primary_harness(spec: dict) -> dict[str, str]:
    """The harness a benchmark is shown with by default: the first it lists."""
    return {b["name"]: b["harness"] if isinstance(b["harness"], str) else b["harness"][0] for b in spec["benchmarks"]}


def measured_headline(scores: pd.DataFrame, spec: dict, primary: bool = True) -> pd.DataFrame:
    """Measured headline rows of each benchmark's first harness (``primary``) or of the others."""
    rows = headline(scores)
    rows = rows[rows["source"] == "measured"]
    first = rows["benchmark"].map(primary_harness(spec))
    return rows[(rows["harness"] == first) == primary]


HARNESS_NAMES = {"lm-eval": "lm-eval", "opencompass": "OpenCompass"}


def row_label(model: str, source: str, spec: dict, harness: str | None = None) -> str:
    names = {m["name"]: m.get("display_name", m["name"]) for m in spec["models"]}
    if source != "measured":
        return model
    return (
        t("labels.measured_harness", name=names[model], harness=HARNESS_NAMES.get(harness, harness))
        if harness
        else t("labels.measured", name=names[model])
    )


def score_pivot(scores: pd.DataFrame, spec: dict, table: str) -> pd.DataFrame:
    """Rows: reported models first (file order), then measured; columns: benchmarks + Average."""
    reported = headline(scores)
    reported = reported[reported["source"] == "reported"]
    rows = pd.concat([reported, measured_headline(scores, spec)])
    rows = rows[rows["table"] == table]
    if rows.empty and not any(m.get("kind", "base") == table for m in spec["models"]):
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
        for label in (row_label(m["name"], "measured", spec) for m in spec["models"] if m.get("kind", "base") == table)
        if label not in order
    ]
    pivot = rows.pivot(index="label", columns="benchmark", values="score")
    pivot = pivot.reindex(index=order, columns=benchmark_order(spec))
    # An average over a partial row would compare unlike things: only complete rows get one.
    pivot["Average"] = pivot.mean(axis=1).where(pivot.notna().all(axis=1))
    pivot.index.name = "Model"
    return pivot


def chart_labels(rows: pd.DataFrame, spec: dict, table: str) -> list[str]:
    """The bars of a table's charts, in the table's order: reported models as their files list them
    (the paper's order), then the measured ones in config order. `rows`: labelled headline rows."""
    labels = list(dict.fromkeys(rows[rows["source"] == "reported"]["label"]))
    present = set(rows["label"])
    measured = (row_label(m["name"], "measured", spec) for m in spec["models"] if m.get("kind", "base") == table)
    return labels + [label for label in measured if label in present]


def reported_vs_measured(scores: pd.DataFrame, spec: dict) -> pd.DataFrame:
    rows = headline(scores)
    tolerance = spec.get("tolerance", 5.0)
    reported_rows = rows[rows["source"] == "reported"]
    primary = measured_headline(scores, spec)
    out = []
    for model in spec["models"]:
        target = model.get("reported_as")
        if not target:
            continue
        measured = primary[primary["model"] == model["name"]].set_index("benchmark")
        # The reported table of the model's own kind (a model can be listed in both tables).
        reported = reported_rows[reported_rows["table"] == model.get("kind", "base")]
        printed = printed_scores(reported)
        reported = reported.set_index(["model", "benchmark"])["score"]
        for bench in benchmark_order(spec):
            got = measured["score"].get(bench, math.nan)
            want = reported.get((target, bench), math.nan)
            delta = got - want
            # Reported as the paper printed it ("46.20"); the delta is computed from the number.
            shown = printed.get((target, bench), want)
            out.append(
                {
                    "Model": model.get("display_name", model["name"]),
                    "Reported as": target,
                    "Benchmark": bench,
                    "Reported": shown,
                    "Measured": got,
                    "Delta": delta,
                    "Flag": "⚠" if abs(delta) > tolerance else ("" if not math.isnan(delta) else MISSING),
                }
            )
    return pd.DataFrame(out, columns=["Model", "Reported as", "Benchmark", "Reported", "Measured", "Delta", "Flag"])


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


def pivot_markdown(pivot: pd.DataFrame, printed: dict[tuple[str, str], str] | None = None) -> str:
    """Best score per column in bold (only where there is something to beat: two values or more);
    missing cells as the dash, never 0; `printed` cells as their source printed them."""
    printed = printed or {}
    best = pivot.max(axis=0, skipna=True).where(pivot.count() > 1)
    body = [
        [escape_cell(str(label))]
        + [fmt(v, bold=not math.isnan(v) and v == best[c], printed=printed.get((label, c))) for c, v in row.items()]
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


def write_tables(scores: pd.DataFrame, spec: dict, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    written = []
    frames = {f"{table}": score_pivot(scores, spec, table) for table in ("base", "chat")}
    for name, pivot in frames.items():
        printed = printed_scores(scores[scores["table"] == name])
        write_text(out_dir / f"{name}.md", pivot_markdown(pivot, printed) + f"\n\n{MISSING_NOTE}\n")
        with atomic_path(out_dir / f"{name}.csv") as tmp:
            pivot.to_csv(tmp, float_format="%.2f")
        written += [out_dir / f"{name}.md", out_dir / f"{name}.csv"]
    delta = reported_vs_measured(scores, spec)
    write_text(
        out_dir / "reported_vs_measured.md",
        frame_markdown(delta)
        + f"\n\nDelta = measured − reported; ⚠ marks |delta| > {spec.get('tolerance', 5.0):g} points.\n",
    )
    with atomic_path(out_dir / "reported_vs_measured.csv") as tmp:
        delta.to_csv(tmp, index=False, float_format="%.2f")
    written += [out_dir / "reported_vs_measured.md", out_dir / "reported_vs_measured.csv"]
    return written
