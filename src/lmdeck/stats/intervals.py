"""A 95 % interval on every measured score, from its per-item records.

* 0/1 items (accuracy, exact match, pass@1 with one sample): Wilson (statsmodels
  ``proportion_confint``), right for small n too.
* Points (GAOKAO-Bench: points / maximum) and fractional scores: percentile bootstrap over items.
* A headline over several subtasks: a bootstrap with the aggregation the row names (micro: all
  items pooled, macro: mean of subtask scores). Subtasks are the format's cluster key (items that
  share context); with at least ``MIN_CLUSTERS`` of them whole subtasks are resampled (cluster
  bootstrap), with fewer (a 2-subtask demo) items are resampled within each subtask
  (stratified): a percentile interval from a handful of clusters is meaningless.

Every bootstrap is seeded (``SEED`` and the harness × benchmark, so a row's interval does not
depend on which other models ran) and draws the same resamples for every model on the same
items: the paired comparisons reuse them. A bootstrap that cannot vary (constant data: a model
scoring 0 of 10) falls back to the exact Clopper-Pearson interval. The interval always holds the
score. Method, resamples and seed are recorded per row (``ci_method``, ``ci_resamples``, ``ci_seed``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
RESAMPLES = 1000
SEED = 14
MIN_CLUSTERS = 10  # fewer subtasks: stratified bootstrap instead of resampling whole subtasks
CLUSTER_KEY = "subtask"  # the formats' cluster key (lmdeck.formats.base.Format.cluster_key)
# Most resample × item cells drawn at once (memory stays ~100 MiB on a 14k-item benchmark).
CHUNK_CELLS = 4_000_000
CI_COLUMNS = ["ci_low", "ci_high", "ci_method", "ci_resamples", "ci_seed"]


class StatsError(ValueError):
    pass


@dataclass(frozen=True)
class ItemMatrix:
    """One harness × benchmark: the per-item scores of every model on the same items."""

    harness: str
    benchmark: str
    models: list[str]
    item_ids: np.ndarray  # (items,)
    clusters: np.ndarray  # (items,) cluster code per item
    cluster_names: list[str]
    score: np.ndarray  # (items, models)
    max_score: np.ndarray  # (items, models)
    # (items, models) arrays of the records' text columns (prediction, prompt, target), when asked for.
    text: dict[str, np.ndarray] | None = None

    @property
    def binary(self) -> bool:
        return bool((self.max_score == 1).all() and np.isin(self.score, (0.0, 1.0)).all())

    def column(self, model: str) -> int:
        return self.models.index(model)

    def subset(self, items: np.ndarray) -> "ItemMatrix":
        codes, names = pd.factorize(self.clusters[items])
        return ItemMatrix(
            self.harness,
            self.benchmark,
            self.models,
            self.item_ids[items],
            codes,
            [self.cluster_names[c] for c in names],
            self.score[items],
            self.max_score[items],
            None if self.text is None else {k: v[items] for k, v in self.text.items()},
        )


TEXT_COLUMNS = ("prediction", "prompt", "target")


def item_matrices(samples: pd.DataFrame, with_text: bool = False) -> list[ItemMatrix]:
    """Per harness × benchmark, the models' items side by side. Models that were given different
    items (not comparable pairwise) land in separate matrices."""
    out = []
    if samples.empty:
        return out
    for (harness, bench), group in samples.groupby(["harness", "benchmark"], sort=True):
        item_codes, items = pd.factorize(group["item_id"], sort=True)
        model_codes, models = pd.factorize(group["model"], sort=True)
        shape = (len(items), len(models))
        score = np.full(shape, np.nan)
        max_score = np.full(shape, np.nan)
        score[item_codes, model_codes] = group["score"].to_numpy(float)
        max_score[item_codes, model_codes] = group["max_score"].to_numpy(float)
        text = {}
        for name in TEXT_COLUMNS if with_text else ():
            text[name] = np.full(shape, None, dtype=object)
            text[name][item_codes, model_codes] = group[name].to_numpy(object)
        cluster_of_item = np.empty(len(items), dtype=object)
        cluster_of_item[item_codes] = group[CLUSTER_KEY].to_numpy(object)
        present = ~np.isnan(score)
        # Models with the same item set share a matrix (the usual case: all of them).
        by_items: dict[bytes, list[int]] = {}
        for j in range(len(models)):
            by_items.setdefault(present[:, j].tobytes(), []).append(j)
        for columns in by_items.values():
            rows = present[:, columns[0]]
            codes, names = pd.factorize(cluster_of_item[rows], sort=True)
            out.append(
                ItemMatrix(
                    harness,
                    bench,
                    [models[j] for j in columns],
                    np.asarray(items)[rows],
                    codes,
                    list(names),
                    score[np.ix_(rows, columns)],
                    max_score[np.ix_(rows, columns)],
                    {k: v[np.ix_(rows, columns)] for k, v in text.items()} if with_text else None,
                )
            )
    return out


def rng_for(*key: str) -> np.random.Generator:
    """A generator seeded by SEED and the key (harness, benchmark[, subtask]): stable whatever else ran."""
    return np.random.default_rng([SEED, zlib.crc32("\x1f".join(key).encode("utf-8"))])


def scheme(n_clusters: int, how: str) -> str:
    """item: resample items (one cluster, or a subtask row); stratified: items within each subtask;
    cluster: whole subtasks."""
    if not how or n_clusters <= 1:
        return "item"
    return "cluster" if n_clusters >= MIN_CLUSTERS else "stratified"


def _multinomial(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Bootstrap counts: how often each of n units is drawn, per resample (size × n)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype(float)


def cluster_totals(m: ItemMatrix, how: str, rng: np.random.Generator, resamples: int = RESAMPLES):
    """Per resample and cluster: points, maximum and how often the cluster was drawn
    (resamples × clusters × models, the same × models, resamples × clusters)."""
    kind = scheme(len(m.cluster_names), how)
    n_clusters = 1 if kind == "item" else len(m.cluster_names)
    clusters = np.zeros(len(m.item_ids), dtype=int) if kind == "item" else m.clusters
    n_models = m.score.shape[1]
    points = np.zeros((resamples, n_clusters, n_models))
    maxima = np.zeros((resamples, n_clusters, n_models))
    drawn = np.ones((resamples, n_clusters))
    if kind == "cluster":
        full_points = np.zeros((n_clusters, n_models))
        full_max = np.zeros((n_clusters, n_models))
        np.add.at(full_points, clusters, m.score)
        np.add.at(full_max, clusters, m.max_score)
        drawn = _multinomial(rng, n_clusters, resamples)
        points = drawn[:, :, None] * full_points[None]
        maxima = drawn[:, :, None] * full_max[None]
        return points, maxima, drawn
    for c in range(n_clusters):
        rows = np.flatnonzero(clusters == c)
        step = max(1, CHUNK_CELLS // max(len(rows), 1))
        for start in range(0, resamples, step):
            size = min(step, resamples - start)
            counts = _multinomial(rng, len(rows), size)
            points[start : start + size, c] = counts @ m.score[rows]
            maxima[start : start + size, c] = counts @ m.max_score[rows]
    return points, maxima, drawn


def aggregate(points: np.ndarray, maxima: np.ndarray, drawn: np.ndarray, how: str) -> np.ndarray:
    """Scores (0-100) of resampled cluster totals: micro pools the points, macro averages the
    cluster scores (each as often as it was drawn)."""
    if how != "macro":
        return 100.0 * points.sum(axis=1) / maxima.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(maxima > 0, points / np.where(maxima > 0, maxima, 1.0), 0.0)
    return 100.0 * (drawn[:, :, None] * ratio).sum(axis=1) / drawn.sum(axis=1)[:, None]


def replicates(m: ItemMatrix, how: str, resamples: int = RESAMPLES, *key: str) -> np.ndarray:
    """Bootstrap replicates of every model's score (resamples × models), the same resamples for all."""
    rng = rng_for(m.harness, m.benchmark, *key)
    return aggregate(*cluster_totals(m, how, rng, resamples), how)


def point_score(m: ItemMatrix, how: str) -> np.ndarray:
    """The score every model gets from its items, by the rule `how` (lmdeck.scores.headline)."""
    if how != "macro":
        return 100.0 * m.score.sum(axis=0) / m.max_score.sum(axis=0)
    ratios = [
        m.score[m.clusters == c].sum(0) / m.max_score[m.clusters == c].sum(0) for c in range(len(m.cluster_names))
    ]
    return 100.0 * np.mean(ratios, axis=0)


def exact_interval(fraction: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson on the item count (points as a fraction of the maximum, per item)."""
    low, high = proportion_confint(np.asarray(fraction) * n_items, n_items, alpha=ALPHA, method="beta")
    return 100.0 * np.asarray(low, float), 100.0 * np.asarray(high, float)


def wilson_interval(successes: np.ndarray, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    low, high = proportion_confint(successes, n_items, alpha=ALPHA, method="wilson")
    return 100.0 * np.asarray(low, float), 100.0 * np.asarray(high, float)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str
    resamples: int | None
    seed: int | None


def intervals(m: ItemMatrix, how: str, key: tuple[str, ...] = ()) -> list[Interval]:
    """Every model's interval on `m`'s items by the rule `how` ('' for a subtask row)."""
    n = len(m.item_ids)
    kind = scheme(len(m.cluster_names), how)
    if kind == "item" and m.binary:
        low, high = wilson_interval(m.score.sum(axis=0), n)
        return [Interval(lo, hi, "wilson", None, None) for lo, hi in zip(low, high)]
    reps = replicates(m, how, RESAMPLES, *key)
    low, high = np.percentile(reps, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)], axis=0)
    exact_low, exact_high = exact_interval(point_score(m, how) / 100.0, n)
    method = {"item": "bootstrap", "stratified": "stratified bootstrap", "cluster": "cluster bootstrap"}[kind]
    out = []
    for j in range(len(m.models)):
        if np.ptp(reps[:, j]) <= 1e-9:  # nothing varies (constant data): the exact interval
            out.append(Interval(exact_low[j], exact_high[j], "clopper-pearson", None, None))
        else:
            out.append(Interval(low[j], high[j], method, RESAMPLES, SEED))
    return out


def add_intervals(frame: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """`frame` (lmdeck.scores.build_table) with ci_low/ci_high (95 %), ci_method, ci_resamples and
    ci_seed filled on every measured row; a measured row without items is an error."""
    found: dict[tuple, Interval] = {}
    head = frame[(frame["source"] == "measured") & (frame["subtask"] == "all")]
    how_of = {(r.model, r.benchmark, r.harness): r.aggregation for r in head.itertuples(index=False)}
    for m in item_matrices(samples):
        for c, name in enumerate(m.cluster_names):
            sub = m.subset(m.clusters == c)
            for model, interval in zip(m.models, intervals(sub, "", (name,))):
                found[(model, m.benchmark, m.harness, name)] = interval
        for how in sorted({how_of.get((model, m.benchmark, m.harness), "micro") for model in m.models}):
            for model, interval in zip(m.models, intervals(m, how)):
                if how_of.get((model, m.benchmark, m.harness), "micro") == how:
                    found[(model, m.benchmark, m.harness, "all")] = interval
    frame = frame.copy()
    columns: dict[str, list] = {c: [] for c in CI_COLUMNS}
    for row in frame.itertuples(index=False):
        interval = None
        if row.source == "measured":
            interval = found.get((row.model, row.benchmark, row.harness, row.subtask))
            if interval is None:
                raise StatsError(
                    f"no per-item records for {row.model} × {row.benchmark} ({row.harness}), subtask "
                    f"{row.subtask!r}: its interval cannot be computed"
                )
            # Percentile bounds need not straddle the point estimate: the interval always holds the score.
            interval = Interval(
                min(interval.low, row.score),
                max(interval.high, row.score),
                interval.method,
                interval.resamples,
                interval.seed,
            )
        columns["ci_low"].append(interval.low if interval else math.nan)
        columns["ci_high"].append(interval.high if interval else math.nan)
        columns["ci_method"].append(interval.method if interval else "")
        columns["ci_resamples"].append(interval.resamples if interval else None)
        columns["ci_seed"].append(interval.seed if interval else None)
    for name, values in columns.items():
        frame[name] = values
    frame["ci_resamples"] = frame["ci_resamples"].astype("Int64")
    frame["ci_seed"] = frame["ci_seed"].astype("Int64")
    return frame
