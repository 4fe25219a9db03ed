"""Paired comparisons of measured models on the same items, and the results tables' tied-best groups.

Per results-table column (a benchmark's headline through one harness, or the Average), the
best model is tested against each other model (k − 1 tests, Holm within the column): the best
and every model not significantly worse are "tied best" (bold); a column with one model has
none. With at most ``ALL_PAIRS_UP_TO`` models every pair is listed as well (the deck's
"Paired comparison" slide). The test: McNemar's (exact below ``EXACT_BELOW`` discordant pairs)
where the score is a plain proportion of 0/1 items; otherwise a paired bootstrap, whose
resamples are the intervals' own (lmdeck.stats.intervals). The difference's interval is that
paired bootstrap's in both cases.
"""

from __future__ import annotations

import gc
import itertools
import math

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from lmdeck.stats import ALL_PAIRS_UP_TO, AVERAGE
from lmdeck.stats.intervals import ALPHA, RESAMPLES, ItemMatrix, exact_interval, replicates, scheme
from lmdeck.settings import ReportSpec

EXACT_BELOW = 25  # discordant pairs; the chi-square approximation is poor below this
__all__ = ["ALL_PAIRS_UP_TO", "AVERAGE", "COLUMNS", "comparisons", "mcnemar_p"]
COLUMNS = [
    "table",
    "benchmark",
    "harness",
    "model_a",
    "model_b",
    "score_a",
    "score_b",
    "difference",
    "ci_low",
    "ci_high",
    "test",
    "p_value",
    "p_holm",
    "best_vs_rest",
    "tied_best",
]


def mcnemar_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided McNemar p-value of two models' 0/1 scores on the same items."""
    a_only = int(((a == 1) & (b == 0)).sum())
    b_only = int(((a == 0) & (b == 1)).sum())
    if a_only + b_only == 0:
        return 1.0
    both = int(((a == 1) & (b == 1)).sum())
    neither = int(((a == 0) & (b == 0)).sum())
    table = [[both, a_only], [b_only, neither]]
    exact = a_only + b_only < EXACT_BELOW
    return float(mcnemar(table, exact=exact, correction=not exact).pvalue)


def holm_adjusted(p_values: list[float]) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels multipletests). Its Holm branch runs gc.collect() on
    every call, which walks every live object (a large run's per-item records: seconds over all
    columns); what is alive is frozen out of that walk for the call."""
    gc.freeze()
    try:
        return multipletests(p_values, alpha=ALPHA, method="holm")[1]
    finally:
        gc.unfreeze()


def bootstrap_p(differences: np.ndarray) -> np.ndarray:
    """Two-sided p-values of paired bootstrap differences (resamples × pairs): twice the smaller
    share of replicates on either side of zero, with the +1 correction of a resampling test."""
    below = ((differences <= 0).sum(axis=0) + 1) / (len(differences) + 1)
    above = ((differences >= 0).sum(axis=0) + 1) / (len(differences) + 1)
    return np.minimum(1.0, 2.0 * np.minimum(below, above))


def difference_interval(differences: np.ndarray, point: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of the paired differences, holding the point difference. Where nothing
    varies (identical answers) it is ± the exact upper bound of a discordance never seen in n items."""
    low, high = np.percentile(differences, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)], axis=0)
    flat = np.ptp(differences, axis=0) <= 1e-9
    if flat.any():
        _, bound = exact_interval(np.zeros(1), n_items)
        low = np.where(flat, point - bound[0], low)
        high = np.where(flat, point + bound[0], high)
    return np.clip(np.minimum(low, point), -100, 100), np.clip(np.maximum(high, point), -100, 100)


class Column:
    """One results-table column's models with their scores and bootstrap replicates."""

    def __init__(
        self, table: str, benchmark: str, harness: str, models: list[str], scores, reps, n_items: int, items=None
    ):
        self.table, self.benchmark, self.harness = table, benchmark, harness
        self.models, self.scores, self.reps, self.n_items = models, np.asarray(scores, float), reps, n_items
        self.items = items  # (matrix, how) for a single benchmark column, None for the Average

    def mcnemar_ready(self) -> bool:
        if self.items is None:
            return False
        m, how = self.items
        return m.binary and scheme(len(m.cluster_names), how) == "item"

    def compare(self, pairs: list[tuple[int, int]]) -> list[dict]:
        a_idx = np.array([a for a, _ in pairs])
        b_idx = np.array([b for _, b in pairs])
        diffs = self.reps[:, a_idx] - self.reps[:, b_idx]
        point = self.scores[a_idx] - self.scores[b_idx]
        low, high = difference_interval(diffs, point, self.n_items)
        if self.mcnemar_ready():
            m = self.items[0]
            cols = [m.column(self.models[i]) for i in range(len(self.models))]
            p = np.array([mcnemar_p(m.score[:, cols[a]], m.score[:, cols[b]]) for a, b in pairs])
            test = "McNemar"
        else:
            p, test = bootstrap_p(diffs), "paired bootstrap"
        return [
            {
                "table": self.table,
                "benchmark": self.benchmark,
                "harness": self.harness,
                "model_a": self.models[a],
                "model_b": self.models[b],
                "score_a": self.scores[a],
                "score_b": self.scores[b],
                "difference": point[k],
                "ci_low": low[k],
                "ci_high": high[k],
                "test": test,
                "p_value": float(p[k]),
            }
            for k, (a, b) in enumerate(pairs)
        ]

    def rows(self) -> list[dict]:
        if len(self.models) < 2:
            return []
        best = int(np.argmax(self.scores))  # the first of equal bests, in model order
        rest = [j for j in range(len(self.models)) if j != best]
        out = self.compare([(best, j) for j in rest])
        holm = holm_adjusted([r["p_value"] for r in out])
        for row, adjusted in zip(out, holm):
            row.update(p_holm=float(adjusted), best_vs_rest=True, tied_best=bool(adjusted >= ALPHA))
        if len(self.models) <= ALL_PAIRS_UP_TO:
            others = [(a, b) for a, b in itertools.combinations(rest, 2)]
            # The higher score first, so every difference reads as a lead.
            others = [(a, b) if self.scores[a] >= self.scores[b] else (b, a) for a, b in others]
            for row in self.compare(others) if others else []:
                out.append({**row, "p_holm": math.nan, "best_vs_rest": False, "tied_best": False})
        return out


def comparisons(
    headline: pd.DataFrame,
    matrices: list[ItemMatrix],
    spec: ReportSpec,
    primary: dict[str, str],
    order: list[str],
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """Every results-table column's comparisons. `headline`: the measured headline rows
    (model, benchmark, harness, score, aggregation, table); `primary`: each benchmark's first
    harness; `order`: the tables' benchmark order."""
    # Models given other items than the rest (a separate matrix) cannot be paired with them: the
    # largest group per harness × benchmark is compared (assigned last, so it wins).
    by_key = {(m.harness, m.benchmark): m for m in sorted(matrices, key=lambda m: len(m.models))}
    how = {(r.benchmark, r.harness): r.aggregation for r in headline.itertuples(index=False)}
    score = {(r.model, r.benchmark, r.harness): r.score for r in headline.itertuples(index=False)}
    model_order = [m.name for m in spec.models]
    rows: list[dict] = []
    for table in ("base", "chat"):
        names = [m.name for m in spec.models if m.kind == table]
        # Per benchmark and harness: the replicates of the table's models that ran it.
        reps: dict[tuple[str, str], tuple[list[str], np.ndarray]] = {}
        for bench in order:
            for harness in harnesses_of(spec, bench):
                m = by_key.get((harness, bench))
                if m is None:
                    continue
                models = [n for n in names if n in m.models and (n, bench, harness) in score]
                if not models:
                    continue
                aggregation = how.get((bench, harness), "micro")
                mine = restrict(m, models)
                column_reps = replicates(mine, aggregation, resamples)
                reps[(harness, bench)] = (models, column_reps, len(m.item_ids))
                scores = [score[(n, bench, harness)] for n in models]
                rows += Column(
                    table, bench, harness, models, scores, column_reps, len(m.item_ids), (mine, aggregation)
                ).rows()
        rows += average_rows(table, names, order, primary, reps, score)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # Stable order: table, then the tables' column order, then the model order.
    rank = {b: i for i, b in enumerate(order + [AVERAGE])}
    frame = frame.assign(
        _b=frame["benchmark"].map(rank),
        _a=frame["model_a"].map(model_order.index),
        _m=frame["model_b"].map(model_order.index),
    )
    frame = frame.sort_values(
        ["table", "_b", "harness", "best_vs_rest", "_a", "_m"],
        ascending=[True, True, True, False, True, True],
        kind="stable",
    )
    return frame.drop(columns=["_b", "_a", "_m"]).reset_index(drop=True)


def restrict(m: ItemMatrix, models: list[str]) -> ItemMatrix:
    cols = [m.column(n) for n in models]
    return ItemMatrix(
        m.harness, m.benchmark, models, m.item_ids, m.clusters, m.cluster_names, m.score[:, cols], m.max_score[:, cols]
    )


def harnesses_of(spec: ReportSpec, bench: str) -> tuple[str, ...]:
    return next(b.harnesses for b in spec.benchmarks if b.name == bench)


def average_rows(table, names, order, primary, reps, score) -> list[dict]:
    """The Average column of the primary-harness rows: the mean of the benchmark columns, for
    models with every column (lmdeck.tables.score_pivot); replicates averaged the same way."""
    keys = [(primary[b], b) for b in order]
    if not keys or any(k not in reps for k in keys):
        complete: list[str] = []
    else:
        complete = [n for n in names if all(n in reps[k][0] for k in keys)]
    if len(complete) < 2:
        return []
    stacked = np.mean([reps[k][1][:, [reps[k][0].index(n) for n in complete]] for k in keys], axis=0)
    scores = [np.mean([score[(n, b, h)] for h, b in keys]) for n in complete]
    return Column(table, AVERAGE, "", complete, scores, stacked, min(reps[k][2] for k in keys)).rows()
