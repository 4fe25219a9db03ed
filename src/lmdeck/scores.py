"""One tidy table of every score: measured rows parsed from the harness outputs, aggregated
per benchmark, and the numbers the paper reported, all on a 0-100 scale."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd

from lmdeck.harness import lmeval, opencompass

COLUMNS = ["model", "benchmark", "subtask", "harness", "metric", "shots", "score", "stderr", "n", "aggregation", "source",
           "harness_version", "model_sha256", "data_sha256", "started", "seconds", "device", "category", "table", "reference"]
AGGREGATE = "all"  # subtask label of a benchmark's headline row
PARSERS = {"lm-eval": lmeval.parse, "opencompass": opencompass.parse}
REPORTED_HEADER = ["model", "benchmark", "shots", "metric", "score", "source"]


class ScoresError(ValueError):
    pass


def aggregate(rows: pd.DataFrame, how: str) -> tuple[float, float, int]:
    """Combine subtasks: micro = weighted by item count (MMLU's and C-Eval's way), macro = plain mean.

    Subtasks are independent samples, so their standard errors add in quadrature.
    """
    n = rows["n"].astype(float)
    if how == "micro":
        weights = n / n.sum()
    else:
        weights = pd.Series(1.0 / len(rows), index=rows.index)
    score = float((weights * rows["score"]).sum())
    stderr = float(math.sqrt(((weights * rows["stderr"]) ** 2).sum())) if rows["stderr"].notna().all() else math.nan
    return score, stderr, int(n.sum())


FAILURE_COLUMNS = ["model", "benchmark", "harness", "error", "log"]


def measured_rows(manifests: list[Path], spec: dict, failures: list[dict] | None = None) -> list[dict]:
    """Parsed rows of every manifest; benchmarks whose evaluation failed go to `failures`."""
    benches = {b["name"]: b for b in spec["benchmarks"]}
    models = {m["name"]: m for m in spec["models"]}
    out = []
    for manifest_path in manifests:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        model = models.get(manifest["model"])
        if model is None:
            continue  # a model dropped from the config since this run
        for entry in manifest["benchmarks"]:
            bench = benches.get(entry["benchmark"])
            if bench is None:
                continue
            if entry.get("status", "ok") != "ok":
                if failures is not None:
                    failures.append({"model": model["name"], "benchmark": bench["name"],
                                     "harness": manifest["harness"], "error": entry.get("error", ""),
                                     "log": entry.get("log", "")})
                continue
            bench_dir = Path(entry["dir"])
            run = json.loads((bench_dir / "run.json").read_text(encoding="utf-8"))
            base = {
                "model": model["name"], "benchmark": bench["name"], "harness": manifest["harness"],
                "shots": bench.get("shots"), "source": "measured", "harness_version": run["harness_version"],
                "model_sha256": run["model_sha256"], "data_sha256": run["data_sha256"], "started": run["started"],
                "seconds": run["seconds"], "device": run.get("device", ""), "category": bench["category"],
                "table": model.get("kind", "base"),
                "reference": str(bench_dir),
            }
            # Local data is scored by lmdeck as "acc" (fraction correct; = pass@1 for greedy code);
            # a builtin task is read under the harness's own metric name.
            lookup = bench.get("metric", "acc") if bench.get("data", "builtin") == "builtin" else "acc"
            parsed = PARSERS[manifest["harness"]](bench_dir, lookup)
            subtasks = [{**base, **row, "metric": bench.get("metric", "acc")} for row in parsed]
            if not subtasks:
                raise ScoresError(f"{bench_dir}: the harness output holds no scores")
            frame = pd.DataFrame(subtasks)
            score, stderr, n = aggregate(frame, bench.get("aggregation", "micro"))
            out.extend(subtasks)
            out.append({**base, "subtask": AGGREGATE, "metric": subtasks[0]["metric"], "score": score,
                        "stderr": stderr, "n": n, "aggregation": bench.get("aggregation", "micro")})
    return out


def read_reported(path: str | Path, table: str, spec: dict) -> list[dict]:
    """Published scores; a bad header, a non-numeric or out-of-range score is an error naming the line."""
    path = Path(path)
    if not path.exists():
        raise ScoresError(f"reported: file {path} does not exist")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(frame.columns) != REPORTED_HEADER:
        raise ScoresError(f"{path} line 1: header must be {','.join(REPORTED_HEADER)}, got {','.join(frame.columns)}")
    categories = {b["name"]: b["category"] for b in spec["benchmarks"]}
    rows = []
    for i, rec in enumerate(frame.to_dict("records"), start=2):
        try:
            score = float(rec["score"])
        except ValueError:
            raise ScoresError(f"{path} line {i}: score {rec['score']!r} is not a number") from None
        if not 0.0 <= score <= 100.0:
            raise ScoresError(f"{path} line {i}: score {score} is outside 0-100")
        if rec["benchmark"] not in categories:
            continue  # a benchmark this report does not cover
        shots = re.match(r"\s*(\d+)", rec["shots"])
        rows.append({"model": rec["model"], "benchmark": rec["benchmark"], "subtask": AGGREGATE, "harness": "",
                     "metric": rec["metric"], "shots": int(shots.group(1)) if shots else None, "score": score,
                     "stderr": math.nan, "n": None, "aggregation": "", "source": "reported", "harness_version": "",
                     "model_sha256": "", "data_sha256": "", "started": "", "seconds": math.nan, "device": "",
                     "category": categories[rec["benchmark"]], "table": table, "reference": rec["source"]})
    return rows


def check_reported_as(spec: dict, reported_rows: list[dict]) -> None:
    known = {row["model"] for row in reported_rows}
    for i, model in enumerate(spec["models"]):
        target = model.get("reported_as")
        if target and target not in known:
            files = ", ".join(r["file"] for r in spec.get("reported", [])) or "no reported files"
            raise ScoresError(f"models[{i}].reported_as: {target!r} is not a model in the reported CSVs ({files})")


def build_table(manifests: list[Path], spec: dict, failures: list[dict] | None = None) -> pd.DataFrame:
    # Stable order so repeated runs write identical files: measured rows sorted, reported
    # rows in their files' order (the paper's order, which the tables keep).
    reported_rows = []
    for reported in spec.get("reported", []):
        reported_rows.extend(read_reported(reported["file"], reported["table"], spec))
    check_reported_as(spec, reported_rows)
    measured = measured_rows(manifests, spec, failures)
    rows = sorted(measured, key=lambda r: (r["model"], r["benchmark"], r["subtask"])) + reported_rows
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["n"] = frame["n"].astype("Int64")
    frame["shots"] = frame["shots"].astype("Int64")
    return frame


def write(frame: pd.DataFrame, csv_path: Path, parquet_path: Path | None = None) -> None:
    from lmdeck.fileio import atomic_path

    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.4f")
    if parquet_path:
        with atomic_path(parquet_path) as tmp:
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
    return pd.read_csv(csv_path, dtype={"model": str, "benchmark": str, "subtask": str, "reference": str},
                       keep_default_na=True)
