"""One tidy table of every score: measured rows parsed from the harness outputs, aggregated
per benchmark, and the numbers the paper reported, all on a 0-100 scale."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from lmdeck import reported
from lmdeck.harness import adapter, cache_index
from lmdeck.settings import ReportSpec

COLUMNS = [
    "model",
    "benchmark",
    "subtask",
    "harness",
    "metric",
    "shots",
    "score",
    "stderr",
    "ci_low",
    "ci_high",
    "ci_method",
    "ci_resamples",
    "ci_seed",
    "n",
    "aggregation",
    "source",
    "variant",
    "task",
    "task_origin",
    "max_gen_toks",
    "harness_version",
    "model_sha256",
    "data_sha256",
    "started",
    "seconds",
    "device",
    "category",
    "table",
    "reference",
    "draft",  # a reported number not yet checked against the paper (lmdeck.reported, allow_draft)
    "score_printed",
    "split",
    "cot",
    "subset",
]
SAMPLE_COLUMNS = [
    "model",
    "harness",
    "benchmark",
    "subtask",
    "task",
    "item_id",
    "prompt",
    "prediction",
    "target",
    "score",
    "max_score",
    "metric",
]
KEY = ["model", "benchmark", "subtask", "harness", "metric"]
AGGREGATE = "all"  # subtask label of a benchmark's headline row
REPORTED_HEADER = reported.HEADER
# A subtask score and the mean of its items may differ by float rounding only.
SCORE_TOLERANCE = 1e-6


class ScoresError(ValueError):
    pass


def headline(items: pd.DataFrame, how: str) -> float:
    """The benchmark's headline (0-100) from its per-item records: micro = all items pooled
    (Σ points / Σ maximum; lm-eval's size-weighted groups), macro = plain mean of the subtask
    scores (OpenCompass's summary groups). Only the items present count: no fixed
    full-dataset weights."""
    if how == "micro":
        return 100.0 * items["score"].sum() / items["max_score"].sum()
    per_subtask = items.groupby("subtask")[["score", "max_score"]].sum()
    return float((100.0 * per_subtask["score"] / per_subtask["max_score"]).mean())


def headline_stderr(rows: pd.DataFrame, how: str) -> float:
    """Subtasks are independent samples: their standard errors add in quadrature, with the
    headline's weights."""
    n = rows["n"].astype(float)
    weights = n / n.sum() if how == "micro" else pd.Series(1.0 / len(rows), index=rows.index)
    if not rows["stderr"].notna().all():
        return math.nan
    return float(math.sqrt(((weights * rows["stderr"]) ** 2).sum()))


FAILURE_COLUMNS = ["model", "benchmark", "harness", "error", "log"]


def check_against_samples(rows: list[dict], items: pd.DataFrame, bench_dir: Path) -> None:
    """Every subtask row must be what its items say: same count, same score. A mismatch means
    lost or extra items, and is never shown."""
    for row in rows:
        mine = items[items["task"] == row["task"]]
        if row["n"] is not None and len(mine) != row["n"]:
            raise ScoresError(
                f"{bench_dir}: task {row['task']!r} reports n = {row['n']} but its per-item "
                f"records hold {len(mine)} items"
            )
        if mine.empty:
            raise ScoresError(f"{bench_dir}: task {row['task']!r} has no per-item records")
        from_items = 100.0 * mine["score"].sum() / mine["max_score"].sum()
        if abs(from_items - row["score"]) > SCORE_TOLERANCE * 100:
            raise ScoresError(
                f"{bench_dir}: task {row['task']!r} reports {row['score']:.6f} but its items give {from_items:.6f}"
            )
        row["n"] = len(mine)


def measured_rows(
    manifests: list[Path],
    spec: ReportSpec,
    failures: list[dict] | None = None,
    samples: list[pd.DataFrame] | None = None,
) -> list[dict]:
    """Parsed rows of every manifest (subtasks: the harness's numbers; headline: from the
    items); benchmarks whose evaluation failed go to `failures`, items to `samples`."""
    benches = {b.name: b for b in spec.benchmarks}
    models = {m.name: m for m in spec.models}
    out = []
    for manifest_path in manifests:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        model = models.get(manifest["model"])
        if model is None:
            continue  # a model dropped from the config since this run
        harness = manifest["harness"]
        for entry in manifest["benchmarks"]:
            bench = benches.get(entry["benchmark"])
            if bench is None:
                continue
            if entry.get("status", "ok") != "ok":
                if failures is not None:
                    failures.append(
                        {
                            "model": model.name,
                            "benchmark": bench.name,
                            "harness": harness,
                            "error": entry.get("error", ""),
                            "log": entry.get("log", ""),
                        }
                    )
                continue
            run_spec = entry["run"]
            bench_dir = Path(entry["dir"])
            # Only what the harness job wrote is read: not a folder edited or damaged since.
            why = cache_index.problem(bench_dir)
            if why:
                raise ScoresError(
                    f"{bench_dir}: {why}; its scores are not read. Run its harness job again to "
                    f"re-evaluate it: snakemake --forcerun {manifest_path}"
                )
            run = json.loads((bench_dir / "run.json").read_text(encoding="utf-8"))
            base = {
                "model": model.name,
                "benchmark": bench.name,
                "harness": harness,
                "source": "measured",
                "variant": run_spec["variant"],
                "task_origin": "native",
                "max_gen_toks": run_spec.get("max_gen_toks"),
                "harness_version": run["harness_version"],
                "model_sha256": run["model_sha256"],
                "data_sha256": run["data_sha256"],
                "started": run["started"],
                "seconds": run["seconds"],
                "device": run.get("device", ""),
                "category": bench.category,
                "table": model.kind,
                "reference": str(bench_dir),
            }
            metric = run_spec["metric"]
            parsed = adapter(harness).parse(bench_dir, metric)
            if not parsed:
                raise ScoresError(f"{bench_dir}: the harness output holds no scores")
            items = pd.DataFrame(adapter(harness).parse_samples(bench_dir, metric), columns=SAMPLE_COLUMNS[3:])
            check_against_samples(parsed, items, bench_dir)
            used = {row["shots"] for row in parsed if row.get("shots") is not None}
            if used and used != {run_spec["shots"]}:
                raise ScoresError(
                    f"{bench_dir}: {run_spec['shots']} shots were asked for, the harness reports {sorted(used)}"
                )
            how = run_spec["aggregation"]
            subtasks = [
                {**base, **row, "shots": row.get("shots", run_spec["shots"]), "aggregation": ""} for row in parsed
            ]
            frame = pd.DataFrame(subtasks)
            out.extend(subtasks)
            out.append(
                {
                    **base,
                    "subtask": AGGREGATE,
                    "task": "",
                    "metric": subtasks[0]["metric"],
                    "shots": subtasks[0]["shots"],
                    "score": headline(items, how),
                    "stderr": headline_stderr(frame, how),
                    "n": len(items),
                    "aggregation": how,
                }
            )
            if samples is not None:
                samples.append(items.assign(model=model.name, harness=harness, benchmark=bench.name))
    return out


def read_reported(spec: ReportSpec) -> list[dict]:
    """Published scores as score rows, in their files' order. The checks (file and line of a bad
    header or score, a model × benchmark given twice, `reported_as`) are lmdeck.reported's, the
    same the workflow's parse runs."""
    try:
        found = reported.check(spec)
    except reported.ReportedError as err:
        raise ScoresError(str(err)) from None
    categories = {b.name: b.category for b in spec.benchmarks}
    rows = []
    for rec in found:
        shots = re.match(r"\s*(\d+)", rec.shots)
        rows.append(
            {
                "model": rec.model,
                "benchmark": rec.benchmark,
                "subtask": AGGREGATE,
                "harness": "",
                "variant": "",
                "task": "",
                "task_origin": "",
                "max_gen_toks": None,
                "metric": rec.metric,
                "shots": int(shots.group(1)) if shots else None,
                "score": rec.score,
                "stderr": math.nan,
                "n": None,
                "aggregation": "",
                "source": "reported",
                "harness_version": "",
                "model_sha256": "",
                "data_sha256": "",
                "started": "",
                "seconds": math.nan,
                "device": "",
                "category": categories[rec.benchmark],
                "table": rec.table,
                "reference": rec.source,
                "draft": rec.draft,
                "score_printed": rec.score_printed,
                "split": rec.split,
                "cot": rec.cot,
                "subset": rec.subset,
            }
        )
    return rows


def refuse_duplicate_keys(frame: pd.DataFrame) -> None:
    """One row per model × benchmark × subtask × harness × metric (and source), never two."""
    dup = frame[frame.duplicated(KEY + ["source", "table"], keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        where = ", ".join(f"{k}={first[k]!r}" for k in KEY)
        raise ScoresError(f"two score rows share the key {where} (source {first['source']}); refusing to keep one")


def samples_table(samples: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(samples, ignore_index=True) if samples else pd.DataFrame(columns=SAMPLE_COLUMNS)
    frame = frame[SAMPLE_COLUMNS].sort_values(["model", "harness", "benchmark", "subtask", "item_id"], kind="stable")
    dup = frame[frame.duplicated(["model", "harness", "benchmark", "item_id", "metric"], keep=False)]
    if not dup.empty:
        raise ScoresError(
            f"item {dup.iloc[0]['item_id']!r} appears twice in the per-item records of "
            f"{dup.iloc[0]['model']} × {dup.iloc[0]['benchmark']} ({dup.iloc[0]['harness']})"
        )
    return frame.reset_index(drop=True)


def build_table(
    manifests: list[Path],
    spec: ReportSpec,
    failures: list[dict] | None = None,
    samples: list[pd.DataFrame] | None = None,
) -> pd.DataFrame:
    # Stable order so repeated runs write identical files: measured rows sorted, reported
    # rows in their files' order (the paper's order, which the tables keep).
    reported_rows = read_reported(spec)
    measured = measured_rows(manifests, spec, failures, samples)
    rows = sorted(measured, key=lambda r: (r["model"], r["benchmark"], r["subtask"], r["harness"])) + reported_rows
    frame = pd.DataFrame(rows, columns=COLUMNS)
    refuse_duplicate_keys(frame)
    frame["n"] = frame["n"].astype("Int64")
    frame["shots"] = frame["shots"].astype("Int64")
    frame["draft"] = frame["draft"].eq(True)  # measured rows (no value) are never drafts
    return frame


def write(frame: pd.DataFrame, csv_path: Path, parquet_path: Path | None = None) -> None:
    from lmdeck.fileio import atomic_path

    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.4f")
    if parquet_path:
        with atomic_path(parquet_path) as tmp:
            frame.to_parquet(tmp, index=False)


def write_samples(frame: pd.DataFrame, path: Path) -> None:
    from lmdeck.fileio import atomic_path

    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_failures(failures: list[dict], path: Path) -> None:
    from lmdeck.fileio import atomic_path

    with atomic_path(path) as tmp:
        pd.DataFrame(failures, columns=FAILURE_COLUMNS).to_csv(tmp, index=False)


def read_failures(path: Path) -> pd.DataFrame:
    if not Path(path).exists():
        return pd.DataFrame(columns=FAILURE_COLUMNS)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def read(csv_path: Path) -> pd.DataFrame:
    text = ("model", "benchmark", "subtask", "reference", "score_printed", "ci_method", "split", "cot", "subset")
    return pd.read_csv(csv_path, dtype={c: str for c in text}, keep_default_na=True)
