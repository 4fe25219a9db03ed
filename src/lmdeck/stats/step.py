"""The statistics step (`lmdeck stats`): the paired comparisons of the results tables and the
harness agreement, from the scores and the per-item records; and the intervals the merge adds
to the scores. Written as CSVs that the tables, figures and deck data read, so a template edit
never recomputes them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lmdeck.fileio import atomic_path
from lmdeck.settings import ReportSpec
from lmdeck.stats.agreement import harness_agreement
from lmdeck.stats.intervals import add_intervals, item_matrices
from lmdeck.stats.paired import comparisons

__all__ = ["add_intervals", "compute", "write"]

HEADLINE = ["model", "benchmark", "harness", "score", "aggregation", "metric", "variant", "table"]


def measured_headline(scores: pd.DataFrame) -> pd.DataFrame:
    rows = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    return rows[HEADLINE].reset_index(drop=True)


def compute(scores: pd.DataFrame, samples: pd.DataFrame, spec: ReportSpec) -> dict[str, pd.DataFrame]:
    """{comparisons, agreement, disagreements}."""
    headline = measured_headline(scores)
    matrices = item_matrices(samples, with_text=True)
    primary = {b.name: b.harnesses[0] for b in spec.benchmarks}
    order = [b.name for b in spec.benchmarks]
    agreement, disagreements = harness_agreement(matrices, headline)
    return {
        "comparisons": comparisons(headline, matrices, spec, primary, order),
        "agreement": agreement,
        "disagreements": disagreements,
    }


def write(frames: dict[str, pd.DataFrame], paths: dict[str, Path]) -> None:
    for name, frame in frames.items():
        with atomic_path(Path(paths[name])) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")


def read(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    # Only an empty cell is missing: a prediction "NA" or "None" stays text.
    return {name: pd.read_csv(path, keep_default_na=False, na_values=[""]) for name, path in paths.items()}
