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

import zlib
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from lmdeck.scores import AGGREGATE

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
    out: list[ItemMatrix] = []
    if samples.empty:
        return out
    # Integer codes once for the whole table (string columns are slow to group), then one slice per group.
    group_codes, groups = pd.factorize(pd.MultiIndex.from_arrays([samples["harness"], samples["benchmark"]]), sort=True)
    item_codes_all, items_all = pd.factorize(samples["item_id"], sort=True)
    model_codes_all, models_all = pd.factorize(samples["model"], sort=True)
    cluster_codes_all, clusters_all = pd.factorize(samples[CLUSTER_KEY], sort=True)
    score_all = samples["score"].to_numpy(float)
    max_all = samples["max_score"].to_numpy(float)
    text_all = {name: samples[name].to_numpy(object) for name in TEXT_COLUMNS} if with_text else {}
    order = np.argsort(group_codes, kind="stable")
    bounds = np.searchsorted(group_codes[order], np.arange(len(groups) + 1))
    for g, (harness, bench) in enumerate(groups):
        rows_of_group = order[bounds[g] : bounds[g + 1]]
        item_codes, items = pd.factorize(item_codes_all[rows_of_group], sort=True)
        model_codes, models = pd.factorize(model_codes_all[rows_of_group], sort=True)
        shape = (len(items), len(models))
        score = np.full(shape, np.nan)
        max_score = np.full(shape, np.nan)
        score[item_codes, model_codes] = score_all[rows_of_group]
        max_score[item_codes, model_codes] = max_all[rows_of_group]
        text = {}
        for name, values in text_all.items():
            text[name] = np.full(shape, None, dtype=object)
            text[name][item_codes, model_codes] = values[rows_of_group]
        cluster_of_item = np.empty(len(items), dtype=int)
        cluster_of_item[item_codes] = cluster_codes_all[rows_of_group]
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
                    [str(models_all[models[j]]) for j in columns],
                    np.asarray(items_all[items[rows]], dtype=object),
                    codes,
                    [str(clusters_all[c]) for c in names],
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


class Resampled:
    """One draw of bootstrap resamples of a matrix's items (the scheme that `how` and the subtask
    count call for), scored by either aggregation: `scores(how)` is resamples × models (0-100)."""

    def __init__(self, m: ItemMatrix, how: str, rng: np.random.Generator, resamples: int = RESAMPLES):
        self.kind = scheme(len(m.cluster_names), how)
        if self.kind == "cluster":
            n_clusters = len(m.cluster_names)
            self.points = np.zeros((n_clusters, m.score.shape[1]))
            self.maxima = np.zeros_like(self.points)
            np.add.at(self.points, m.clusters, m.score)
            np.add.at(self.maxima, m.clusters, m.max_score)
            self.drawn = _multinomial(rng, n_clusters, resamples)  # resamples × clusters
            return
        # item / stratified: per resample and cluster, the points and maximum of the drawn items.
        clusters = np.zeros(len(m.item_ids), dtype=int) if self.kind == "item" else m.clusters
        n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
        self.points = np.empty((resamples, n_clusters, m.score.shape[1]))
        self.maxima = np.empty_like(self.points)
        for c in range(n_clusters):
            rows = np.flatnonzero(clusters == c)
            step = max(1, CHUNK_CELLS // max(len(rows), 1))
            for start in range(0, resamples, step):
                size = min(step, resamples - start)
                counts = _multinomial(rng, len(rows), size)
                self.points[start : start + size, c] = counts @ m.score[rows]
                self.maxima[start : start + size, c] = counts @ m.max_score[rows]

    def scores(self, how: str) -> np.ndarray:
        """micro pools the points; macro averages the cluster scores (each as often as it was drawn)."""
        if self.kind == "cluster":
            if how != "macro":
                return 100.0 * (self.drawn @ self.points) / (self.drawn @ self.maxima)
            return 100.0 * (self.drawn @ (self.points / self.maxima)) / self.drawn.shape[1]
        if how != "macro":
            return 100.0 * self.points.sum(axis=1) / self.maxima.sum(axis=1)
        return 100.0 * (self.points / self.maxima).mean(axis=1)


def replicates(m: ItemMatrix, how: str, resamples: int = RESAMPLES, *key: str) -> np.ndarray:
    """Bootstrap replicates of every model's score (resamples × models), the same resamples for all."""
    return Resampled(m, how, rng_for(m.harness, m.benchmark, *key), resamples).scores(how)


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


class Interval(NamedTuple):
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


def subtask_intervals(m: ItemMatrix) -> list[Interval]:
    """Every subtask row's interval (cluster by cluster, models within): Wilson for all of them
    at once when the items are 0/1, else per subtask (lmdeck.stats.intervals.intervals)."""
    if not m.binary:
        out = []
        for c, name in enumerate(m.cluster_names):
            out += intervals(m.subset(m.clusters == c), "", (name,))
        return out
    successes = np.zeros((len(m.cluster_names), m.score.shape[1]))
    np.add.at(successes, m.clusters, m.score)
    sizes = np.bincount(m.clusters, minlength=len(m.cluster_names))[:, None]
    low, high = wilson_interval(successes, sizes)
    return [Interval(lo, hi, "wilson", None, None) for lo, hi in zip(low.ravel(), high.ravel())]


def add_intervals(frame: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """`frame` (lmdeck.scores.build_table) with ci_low/ci_high (95 %), ci_method, ci_resamples and
    ci_seed filled on every measured row; a measured row without items is an error."""
    head = frame[(frame["source"] == "measured") & (frame["subtask"] == "all")]
    how_of = dict(zip(zip(head["model"], head["benchmark"], head["harness"]), head["aggregation"]))
    keys: list[tuple] = []
    found: list[Interval] = []
    for m in item_matrices(samples):
        for c, name in enumerate(m.cluster_names):
            keys += [(model, m.benchmark, m.harness, name) for model in m.models]
        found += subtask_intervals(m)
        rules = {model: how_of.get((model, m.benchmark, m.harness), "micro") for model in m.models}
        for how in sorted(set(rules.values())):
            for model, interval in zip(m.models, intervals(m, how)):
                if rules[model] == how:
                    keys.append((model, m.benchmark, m.harness, AGGREGATE))
                    found.append(interval)
    key = ["model", "benchmark", "harness", "subtask"]
    table = pd.DataFrame(keys, columns=key)
    for name, values in zip(CI_COLUMNS, zip(*found) if found else ([],) * len(CI_COLUMNS)):
        table[name] = list(values)
    table = table.astype({k: str for k in key})
    measured = (frame["source"] == "measured").to_numpy()
    out = frame.drop(columns=[c for c in CI_COLUMNS if c in frame.columns])
    joined = out.astype({k: str for k in key})[key].merge(table, on=key, how="left", validate="many_to_one")
    missing = measured & joined["ci_method"].isna().to_numpy()
    if missing.any():
        row = out[missing].iloc[0]
        raise StatsError(
            f"no per-item records for {row['model']} × {row['benchmark']} ({row['harness']}), subtask "
            f"{row['subtask']!r}: its interval cannot be computed"
        )
    score = out["score"].to_numpy(float)
    # Percentile bounds need not straddle the point estimate: the interval always holds the score.
    low = np.where(measured, np.fmin(joined["ci_low"].to_numpy(float), score), np.nan)
    high = np.where(measured, np.fmax(joined["ci_high"].to_numpy(float), score), np.nan)
    position = out.columns.get_loc("stderr") + 1 if "stderr" in out.columns else len(out.columns)
    for offset, (name, values) in enumerate(
        (
            ("ci_low", low),
            ("ci_high", high),
            ("ci_method", np.where(measured, joined["ci_method"].fillna("").to_numpy(object), "")),
            ("ci_resamples", pd.array(np.where(measured, joined["ci_resamples"], None), dtype="Int64")),
            ("ci_seed", pd.array(np.where(measured, joined["ci_seed"], None), dtype="Int64")),
        )
    ):
        out.insert(position + offset, name, values)
    return out
