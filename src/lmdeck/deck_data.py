"""What the deck shows that comes from the scores: result tables, reported-vs-measured deltas,
what was not evaluated, provenance. Written as one JSON per report (`lmdeck deck-data`), so
the deck step is templating only: a template or text edit re-renders without pandas or the
scores (lmdeck.deck).

Values are JSON types; the tables are Markdown that lmdeck generated (cells escaped by
lmdeck.tables), which lmdeck.deck marks safe by key (`with_markup`).
"""

from __future__ import annotations

import math
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from lmdeck import __version__, examples, messages, resources, tables
from lmdeck import config as lmconfig
from lmdeck.console import notice
from lmdeck.fileio import write_json
from lmdeck.messages import t
from lmdeck.settings import ReportSpec
from lmdeck.stats import ALL_PAIRS_UP_TO

REPO = resources.checkout()  # None for an installed package: no commit to report


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def job_times(benchmarks_dir: Path) -> list[dict]:
    """Wall time per harness job, from Snakemake's `benchmark:` files."""
    rows = []
    for tsv in sorted(Path(benchmarks_dir).glob("*/*.tsv")):
        if tsv.parent.name not in {"lm_eval", "opencompass", "build_model"}:
            continue
        frame = pd.read_csv(tsv, sep="\t")
        rows.append(
            {
                "job": f"{tsv.parent.name} {tsv.stem}",
                "seconds": float(frame["s"].iloc[-1]),
                "max_rss_mb": float(frame["max_rss"].iloc[-1]) if "max_rss" in frame else math.nan,
            }
        )
    return rows


def provenance(scores: pd.DataFrame, spec: ReportSpec, benchmarks_dir: Path) -> dict:
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    models = []
    for model in spec.models:
        rows = measured[measured["model"] == model.name]
        sha = sorted(set(rows["model_sha256"].dropna()))
        models.append(
            {
                "name": model.display_name,
                "source": t("provenance.built", architecture=model.build.architecture) if model.build else model.path,
                "revision": model.revision,
                "sha256": ", ".join(s[:16] for s in sha) or "–",
            }
        )
    data = [
        {"benchmark": name, "sha256": str(sha)[:16]}
        for name, sha in measured.drop_duplicates("benchmark")[["benchmark", "data_sha256"]].itertuples(index=False)
    ]
    devices = sorted(set(measured["device"].dropna()) - {""}) if "device" in measured else []
    started = sorted(measured["started"].dropna())
    return {
        "versions": [
            ("lmdeck", __version__),
            ("lm-eval", package_version("lm_eval")),
            ("OpenCompass", package_version("opencompass")),
            ("transformers", package_version("transformers")),
            ("torch", package_version("torch")),
            ("Snakemake", package_version("snakemake")),
        ],
        "git_commit": git_commit(REPO) if REPO else "unknown",
        "run_date": started[-1] if started else "–",
        "hardware": ", ".join(devices) or "–",
        "models": models,
        "data": data,
        "jobs": job_times(benchmarks_dir),
        "tasks": native_tasks(measured),
    }


def native_tasks(measured: pd.DataFrame) -> list[dict]:
    """Which task of which harness produced each benchmark's numbers, with its shots, metric, the
    headline's aggregation and any generation-length override."""
    out = []
    for row in measured.drop_duplicates(["benchmark", "harness", "variant"]).itertuples(index=False):
        gen = getattr(row, "max_gen_toks", None)
        out.append(
            {
                "benchmark": row.benchmark,
                "harness": row.harness,
                "variant": str(row.variant),
                "origin": str(getattr(row, "task_origin", "native")),
                "shots": _int_or_dash(row.shots),
                "metric": str(row.metric),
                "aggregation": str(row.aggregation),
                "max_gen_toks": _int_or_dash(gen),
            }
        )
    return out


def _int_or_dash(value) -> str:
    try:
        return "–" if value is None or math.isnan(float(value)) else str(int(value))
    except (TypeError, ValueError):
        return str(value)


def benchmark_slides(spec: ReportSpec) -> list[dict]:
    """Per category, its benchmarks as the benchmark slides show them: the text the config gives,
    and how each harness runs it (shots, metric) for the config's models."""
    kind = spec.models[0].kind if spec.models else "base"
    by_category = []
    for category in tables.CATEGORY_ORDER:
        benches = [
            {
                "name": b.name,
                "reference": b.reference,
                "description": b.description,
                "runs": " · ".join(
                    " ".join((tables.HARNESS_NAMES[r.harness], t("benchmarks.shots", shots=r.shots), r.metric))
                    for r in lmconfig.harness_runs(b, kind=kind)
                ),
            }
            for b in spec.benchmarks
            if b.category == category
        ]
        if benches:
            by_category.append({"category": category, "benchmarks": benches})
    return by_category


def not_evaluated(scores: pd.DataFrame, spec: ReportSpec, failures: pd.DataFrame, table: str) -> list[str]:
    """Cells of one results table (base/chat) the config asked for that have no measured score,
    per harness where a benchmark runs through two, with the log to read when it failed."""
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    have = set(zip(measured["model"], measured["benchmark"], measured["harness"]))
    logs = {(f["model"], f["benchmark"], f.get("harness", "")): f["log"] for f in failures.to_dict("records")}
    out = []
    for m in (m for m in spec.models if m.kind == table):
        for b in spec.benchmarks:
            harnesses = b.harnesses
            for harness in harnesses:
                if (m.name, b.name, harness) in have:
                    continue
                log = logs.get((m.name, b.name, harness))
                which = (
                    t("labels.not_evaluated_harness", harness=tables.HARNESS_NAMES.get(harness, harness))
                    if len(harnesses) > 1
                    else ""
                )
                out.append(f"{m.name} × {b.name}{which}" + (t("labels.failed", log=log) if log else ""))
    return out


def printed(scores: pd.DataFrame, table: str) -> dict:
    return tables.printed_scores(scores[scores["table"] == table])


COMPARISON_ROWS_PER_SLIDE = 10
DISAGREEMENTS_SHOWN = 8
PREDICTION_CHARS = 40


def _number(value, digits: int = 1) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def _p_value(value) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _short(text, limit: int = PREDICTION_CHARS) -> str:
    text = " ".join(str(text if isinstance(text, str) else "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_names(spec: ReportSpec) -> dict[str, str]:
    return {m.name: m.display_name for m in spec.models}


def comparison_slides(comparisons: pd.DataFrame, spec: ReportSpec) -> list[dict]:
    """The paired-comparison slide(s) per results table: every pair with at most
    ALL_PAIRS_UP_TO measured models, else best vs rest only; in pages that fit a slide."""
    names = display_names(spec)
    out = []
    for table in ("base", "chat"):
        rows = comparisons[comparisons["table"] == table]
        if rows.empty:
            continue
        n_models = sum(m.kind == table for m in spec.models)
        if n_models > ALL_PAIRS_UP_TO:
            rows = rows[rows["best_vs_rest"].astype(bool)]
        shown = [
            {
                "column": f"{r.benchmark}, {tables.HARNESS_NAMES.get(r.harness, r.harness)}"
                if isinstance(r.harness, str) and r.harness
                else r.benchmark,
                "model_a": names.get(r.model_a, r.model_a),
                "model_b": names.get(r.model_b, r.model_b),
                "difference": _number(r.difference),
                "interval": f"[{_number(r.ci_low)}, {_number(r.ci_high)}]",
                "p_value": _p_value(r.p_value),
                "p_holm": _p_value(r.p_holm),
                "test": r.test,
                "tied": bool(r.tied_best) if bool(r.best_vs_rest) else None,
            }
            for r in rows.itertuples(index=False)
        ]
        pages = [shown[i : i + COMPARISON_ROWS_PER_SLIDE] for i in range(0, len(shown), COMPARISON_ROWS_PER_SLIDE)]
        out.append({"table": table, "all_pairs": n_models <= ALL_PAIRS_UP_TO, "pages": pages})
    return out


def agreement_slide(agreement: pd.DataFrame, disagreements: pd.DataFrame, spec: ReportSpec) -> dict:
    """Harness agreement per benchmark × model, where the task definitions differ, and the
    first disagreeing items."""
    names = display_names(spec)
    rows, definitions = [], {}
    for r in agreement.itertuples(index=False):
        rows.append(
            {
                "benchmark": r.benchmark,
                "model": names.get(r.model, r.model),
                "harness_a": tables.HARNESS_NAMES.get(r.harness_a, r.harness_a),
                "harness_b": tables.HARNESS_NAMES.get(r.harness_b, r.harness_b),
                "score_a": _number(r.score_a),
                "score_b": _number(r.score_b),
                "difference": _number(r.difference),
                "interval": f"[{_number(r.ci_low)}, {_number(r.ci_high)}]",
                "p_value": _p_value(r.p_value),
                "agreement": _number(r.agreement, 0),
                "kappa": _number(r.kappa, 2),
                "disagreeing": int(r.disagreeing),
                "n": int(r.n),
            }
        )
        definitions.setdefault(
            r.benchmark,
            {
                "benchmark": r.benchmark,
                "harness_a": tables.HARNESS_NAMES.get(r.harness_a, r.harness_a),
                "harness_b": tables.HARNESS_NAMES.get(r.harness_b, r.harness_b),
                "task_a": str(r.task_a),
                "task_b": str(r.task_b),
                "metric_a": str(r.metric_a),
                "metric_b": str(r.metric_b),
                "aggregation_a": str(r.aggregation_a),
                "aggregation_b": str(r.aggregation_b),
                "prompts_differ": int(r.prompts_differ),
                "n": int(r.n),
                "metric_differs": str(r.metric_a) != str(r.metric_b) or str(r.task_a) != str(r.task_b),
                "aggregation_differs": str(r.aggregation_a) != str(r.aggregation_b),
            },
        )
    items = [
        {
            "benchmark": r.benchmark,
            "model": names.get(r.model, r.model),
            "item_id": str(r.item_id),
            "target": _short(r.target, 12),
            "prediction_a": _short(r.prediction_a),
            "prediction_b": _short(r.prediction_b),
        }
        for r in disagreements.head(DISAGREEMENTS_SHOWN).itertuples(index=False)
    ]
    return {
        "rows": rows,
        "definitions": list(definitions.values()),
        "examples": items,
        "more_items": max(0, len(disagreements) - DISAGREEMENTS_SHOWN),
    }


def setup_rows(scores: pd.DataFrame, spec: ReportSpec) -> list[dict]:
    """Per benchmark (tables' order) and harness: items, shots, metric and the smallest difference
    between two models its item count can detect (lmdeck.stats.power)."""
    from lmdeck.stats.power import min_detectable_difference

    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    out = []
    for bench in tables.benchmark_order(spec):
        rows = measured[measured["benchmark"] == bench].drop_duplicates("harness")
        for r in rows.itertuples(index=False):
            if pd.isna(r.n):
                continue
            n = int(r.n)
            mdd = min_detectable_difference(n)
            out.append(
                {
                    "benchmark": bench,
                    "harness": tables.HARNESS_NAMES.get(r.harness, r.harness),
                    "n_items": n,
                    "shots": _int_or_dash(r.shots),
                    "metric": str(r.metric),
                    "mdd": "> 50" if math.isinf(mdd) else f"{mdd:.1f}",
                }
            )
    return out


def empty_stats() -> dict[str, pd.DataFrame]:
    from lmdeck.stats.agreement import DISAGREEMENT_COLUMNS, SUMMARY_COLUMNS
    from lmdeck.stats.paired import COLUMNS

    return {
        "comparisons": pd.DataFrame(columns=COLUMNS),
        "agreement": pd.DataFrame(columns=SUMMARY_COLUMNS),
        "disagreements": pd.DataFrame(columns=DISAGREEMENT_COLUMNS),
    }


# The reported-vs-measured table's columns (the CSV's, always English) -> their catalog keys.
DELTA_COLUMNS = {
    "Benchmark": "reported_vs_measured.benchmark",
    "Reported": "reported_vs_measured.reported",
    "Measured": "reported_vs_measured.measured",
    "95 % CI": "reported_vs_measured.interval",
    "Delta": "reported_vs_measured.delta",
    "Verdict": "reported_vs_measured.verdict",
}


def delta_tables(delta: pd.DataFrame) -> list[tuple[str, str]]:
    """One reported-vs-measured table per model, the benchmark leading each row (the model is the
    slide's heading). A model whose reported counterpart has no score at all is left out, with a note."""
    out = []
    for model, rows in delta.groupby("Model", sort=False):
        if rows["Reported"].isna().all():
            notice(
                f"lmdeck deck-data: {model}: no reported scores of {rows['Reported as'].iloc[0]!r} to compare with; "
                "left out of reported vs. reproduced"
            )
            continue
        shown = rows[list(DELTA_COLUMNS)].rename(columns={c: t(key) for c, key in DELTA_COLUMNS.items()})
        out.append((model, tables.frame_markdown(shown)))
    return out


def build(
    spec: ReportSpec,
    scores: pd.DataFrame,
    failures: pd.DataFrame | None,
    benchmarks_dir: Path,
    samples: pd.DataFrame | None = None,
    stats: dict[str, pd.DataFrame] | None = None,
    language: str | None = None,
) -> dict:
    """The deck data, its texts (table headers, row labels, notes) in `language` (default: the schema's)."""
    with messages.speaking(language or messages.default_language()):
        return _build(spec, scores, failures, benchmarks_dir, samples, stats)


def _build(
    spec: ReportSpec,
    scores: pd.DataFrame,
    failures: pd.DataFrame | None,
    benchmarks_dir: Path,
    samples: pd.DataFrame | None,
    stats: dict[str, pd.DataFrame] | None,
) -> dict:
    """`samples`: the per-item records (the examples slides); `stats`: the statistics step's frames
    (lmdeck.stats.step); without them the deck has no tied-best bolding, comparisons or harness
    agreement."""
    from lmdeck.scores import FAILURE_COLUMNS

    failures = failures if failures is not None else pd.DataFrame(columns=FAILURE_COLUMNS)
    stats = stats if stats is not None else empty_stats()
    pivots = {table: tables.score_pivot(scores, spec, table) for table in ("base", "chat")}
    marked = {
        table: tables.pivot_markdown(
            pivot, tables.bold_mask(pivot, scores, spec, stats["comparisons"], table), printed(scores, table)
        )
        if len(pivot)
        else None
        for table, pivot in pivots.items()
    }
    delta = tables.delta_display(tables.reported_vs_measured(scores, spec))
    return {
        "categories": benchmark_slides(spec),
        "n_benchmarks": len(spec.benchmarks),
        "models": [
            {"name": m.name, "display_name": m.display_name, "kind": m.kind, "reported_as": m.reported_as}
            for m in spec.models
        ],
        "base_table": marked["base"],
        "chat_table": marked["chat"],
        # One slide per model, whom it is compared with in the heading; the benchmark leads each row.
        "delta_tables": delta_tables(delta),
        "reported_as": dict(zip(delta["Model"], delta["Reported as"])),
        "not_evaluated": {t: not_evaluated(scores, spec, failures, t) for t in ("base", "chat")},
        "comparison_slides": comparison_slides(stats["comparisons"], spec),
        "agreement": agreement_slide(stats["agreement"], stats["disagreements"], spec),
        "setup": setup_rows(scores, spec),
        "provenance": provenance(scores, spec, benchmarks_dir),
        # One item per benchmark, from the per-item records (the examples slides).
        "examples": examples.pick(samples, spec, tables.benchmark_order(spec)) if samples is not None else [],
    }


def write(
    out: Path,
    spec: ReportSpec,
    scores_csv: Path,
    failures_csv: Path,
    benchmarks_dir: Path,
    samples: Path | None = None,
    stats_csvs: dict[str, Path] | None = None,
    language: str | None = None,
) -> None:
    from lmdeck.scores import read, read_failures
    from lmdeck.stats.step import read as read_stats

    items = pd.read_parquet(samples) if samples else None
    stats = read_stats(stats_csvs) if stats_csvs else None
    data = build(spec, read(scores_csv), read_failures(failures_csv), benchmarks_dir, items, stats, language)
    write_json(out, data)
