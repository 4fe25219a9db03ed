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
from lmdeck.console import notice
from lmdeck.fileio import write_json
from lmdeck.messages import t

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


def provenance(scores: pd.DataFrame, spec: dict, benchmarks_dir: Path) -> dict:
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    models = []
    for model in spec["models"]:
        rows = measured[measured["model"] == model["name"]]
        sha = sorted(set(rows["model_sha256"].dropna()))
        models.append(
            {
                "name": model.get("display_name", model["name"]),
                "source": model.get(
                    "path", t("provenance.built", architecture=model.get("build", {}).get("architecture", ""))
                ),
                "revision": model.get("revision", "main"),
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


def benchmark_slides(spec: dict) -> list[dict]:
    by_category = []
    for category in tables.CATEGORY_ORDER:
        benches = [b for b in spec["benchmarks"] if b["category"] == category]
        if benches:
            by_category.append({"category": category, "benchmarks": benches})
    return by_category


def not_evaluated(scores: pd.DataFrame, spec: dict, failures: pd.DataFrame, table: str) -> list[str]:
    """Cells of one results table (base/chat) the config asked for that have no measured score,
    per harness where a benchmark runs through two, with the log to read when it failed."""
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    have = set(zip(measured["model"], measured["benchmark"], measured["harness"]))
    logs = {(f["model"], f["benchmark"], f.get("harness", "")): f["log"] for f in failures.to_dict("records")}
    out = []
    for m in (m for m in spec["models"] if m.get("kind", "base") == table):
        for b in spec["benchmarks"]:
            harnesses = [b["harness"]] if isinstance(b["harness"], str) else b["harness"]
            for harness in harnesses:
                if (m["name"], b["name"], harness) in have:
                    continue
                log = logs.get((m["name"], b["name"], harness))
                which = (
                    t("labels.not_evaluated_harness", harness=tables.HARNESS_NAMES.get(harness, harness))
                    if len(harnesses) > 1
                    else ""
                )
                out.append(f"{m['name']} × {b['name']}{which}" + (t("labels.failed", log=log) if log else ""))
    return out


def printed(scores: pd.DataFrame, table: str) -> dict:
    return tables.printed_scores(scores[scores["table"] == table])


# The reported-vs-measured table's columns (the CSV's, always English) -> their catalog keys.
DELTA_COLUMNS = {
    "Benchmark": "reported_vs_measured.benchmark",
    "Reported as": "reported_vs_measured.reported_as",
    "Reported": "reported_vs_measured.reported",
    "Measured": "reported_vs_measured.measured",
    "Delta": "reported_vs_measured.delta",
    "Flag": "reported_vs_measured.flag",
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
    spec: dict,
    scores: pd.DataFrame,
    failures: pd.DataFrame | None,
    benchmarks_dir: Path,
    samples: pd.DataFrame | None = None,
    language: str | None = None,
) -> dict:
    """The deck data, its texts (table headers, row labels, notes) in `language` (default: the schema's)."""
    with messages.speaking(language or messages.default_language()):
        return _build(spec, scores, failures, benchmarks_dir, samples)


def _build(
    spec: dict,
    scores: pd.DataFrame,
    failures: pd.DataFrame | None,
    benchmarks_dir: Path,
    samples: pd.DataFrame | None,
) -> dict:
    from lmdeck.scores import FAILURE_COLUMNS

    failures = failures if failures is not None else pd.DataFrame(columns=FAILURE_COLUMNS)
    base = tables.score_pivot(scores, spec, "base")
    chat = tables.score_pivot(scores, spec, "chat")
    delta = tables.reported_vs_measured(scores, spec)
    return {
        "categories": benchmark_slides(spec),
        "n_benchmarks": len(spec["benchmarks"]),
        "models": spec["models"],
        "base_table": tables.pivot_markdown(base, printed(scores, "base")) if len(base) else None,
        "chat_table": tables.pivot_markdown(chat, printed(scores, "chat")) if len(chat) else None,
        "delta_tables": delta_tables(delta),
        "not_evaluated": {t: not_evaluated(scores, spec, failures, t) for t in ("base", "chat")},
        "tolerance": spec.get("tolerance", 5),
        "provenance": provenance(scores, spec, benchmarks_dir),
        # One item per benchmark, from the per-item records (the examples slides).
        "examples": examples.pick(samples, spec, tables.benchmark_order(spec)) if samples is not None else [],
    }


def write(
    out: Path,
    spec: dict,
    scores_csv: Path,
    failures_csv: Path,
    benchmarks_dir: Path,
    samples: Path | None = None,
    language: str | None = None,
) -> None:
    from lmdeck.scores import read, read_failures

    items = pd.read_parquet(samples) if samples else None
    write_json(out, build(spec, read(scores_csv), read_failures(failures_csv), benchmarks_dir, items, language))
