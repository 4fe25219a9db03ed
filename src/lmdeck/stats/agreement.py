"""The two harnesses on the same items: where a benchmark runs through lm-eval and OpenCompass,
each model's items are aligned by their stable id (lmdeck.formats: ``<file>:<line>`` /
``<file>#<index>``, the same whichever harness read the file). Alignment that loses an item is
an error: a comparison on different items would mean nothing.

Per benchmark × model: both headline scores (each harness's own aggregation), the paired
difference with its bootstrap interval (the same resamples applied to both), McNemar's test
where both scores are plain proportions of 0/1 items, the share of items scored alike, Cohen's
kappa on the item scores, and the items scored differently (ids, both predictions). How many
prompts differ, and which task, metric and headline rule each harness uses, are recorded, so
the deck can say where the task definitions differ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.inter_rater import cohens_kappa

from lmdeck.stats.intervals import RESAMPLES, ItemMatrix, Resampled, StatsError, rng_for, scheme
from lmdeck.stats.paired import bootstrap_p, difference_interval, mcnemar_p

SUMMARY_COLUMNS = [
    "benchmark",
    "model",
    "harness_a",
    "harness_b",
    "task_a",
    "task_b",
    "metric_a",
    "metric_b",
    "aggregation_a",
    "aggregation_b",
    "n",
    "score_a",
    "score_b",
    "difference",
    "ci_low",
    "ci_high",
    "test",
    "p_value",
    "agreement",
    "kappa",
    "disagreeing",
    "prompts_differ",
]
DISAGREEMENT_COLUMNS = [
    "benchmark",
    "model",
    "item_id",
    "subtask",
    "target",
    "harness_a",
    "prediction_a",
    "score_a",
    "harness_b",
    "prediction_b",
    "score_b",
]


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa (statsmodels) of two item-score vectors, the score values as categories; NaN
    when chance agreement is already total (both constant and equal: kappa is undefined)."""
    values, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    k = len(values)
    table = np.bincount(codes[: len(a)] * k + codes[len(a) :], minlength=k * k).reshape(k, k).astype(float)
    expected = (table.sum(axis=1) @ table.sum(axis=0)) / table.sum() ** 2
    if expected >= 1 - 1e-12:
        return float("nan")
    return float(cohens_kappa(table, return_results=False))


def align(a: ItemMatrix, b: ItemMatrix) -> np.ndarray:
    """Positions in `b` of `a`'s items; an item of either without its counterpart is an error."""
    only_a = np.setdiff1d(a.item_ids, b.item_ids)
    only_b = np.setdiff1d(b.item_ids, a.item_ids)
    if len(only_a) or len(only_b):
        side, ids = (a.harness, only_a) if len(only_a) else (b.harness, only_b)
        raise StatsError(
            f"harness agreement: {a.benchmark}: {len(only_a)} items of {a.harness} and {len(only_b)} of "
            f"{b.harness} have no counterpart in the other harness (first: {ids[0]!r} from {side}); the "
            "item ids must match to compare the harnesses"
        )
    position = {item: k for k, item in enumerate(b.item_ids)}
    return np.array([position[item] for item in a.item_ids], dtype=int)


def harness_agreement(matrices: list[ItemMatrix], headline: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, disagreeing items) for every benchmark × model measured through two harnesses.
    `matrices`: item_matrices(samples, with_text=True); `headline`: the measured headline rows
    (model, benchmark, harness, score, aggregation, metric, variant)."""
    head = {(r["model"], r["benchmark"], r["harness"]): r for r in headline.to_dict("records")}
    by_bench: dict[str, list[ItemMatrix]] = {}
    for m in matrices:
        by_bench.setdefault(m.benchmark, []).append(m)
    summary: list[dict] = []
    disagreements: list[pd.DataFrame] = []
    for bench in sorted(by_bench):
        found = sorted(by_bench[bench], key=lambda m: m.harness)
        for a, b in ((a, b) for i, a in enumerate(found) for b in found[i + 1 :] if a.harness != b.harness):
            models = [n for n in a.models if n in b.models]
            if not models:
                continue
            rows = align(a, b)
            ca, cb = [a.column(n) for n in models], [b.column(n) for n in models]
            score_a, score_b = a.score[:, ca], b.score[rows][:, cb]
            max_a, max_b = a.max_score[:, ca], b.max_score[rows][:, cb]
            # One matrix of both harnesses' columns: the same resamples for both, each aggregated its own way.
            both = ItemMatrix(
                a.harness,
                bench,
                models + models,
                a.item_ids,
                a.clusters,
                a.cluster_names,
                np.hstack([score_a, score_b]),
                np.hstack([max_a, max_b]),
            )
            how_a = {n: head[(n, bench, a.harness)]["aggregation"] for n in models}
            how_b = {n: head[(n, bench, b.harness)]["aggregation"] for n in models}
            # The resampling scheme depends on the subtask count only (micro and macro resample alike).
            drawn = Resampled(both, "micro", rng_for("agreement", bench), RESAMPLES)
            reps = {how: drawn.scores(how) for how in {*how_a.values(), *how_b.values()}}
            k = len(models)
            diffs = np.column_stack([reps[how_a[n]][:, j] - reps[how_b[n]][:, k + j] for j, n in enumerate(models)])
            row_a = [head[(n, bench, a.harness)] for n in models]
            row_b = [head[(n, bench, b.harness)] for n in models]
            point = np.array([ra["score"] - rb["score"] for ra, rb in zip(row_a, row_b)])
            low, high = difference_interval(diffs, point, len(a.item_ids))
            boot_p = bootstrap_p(diffs)
            frac_a, frac_b = score_a / max_a, score_b / max_b
            same = frac_a == frac_b  # items × models
            binary = both.binary
            n_clusters = len(a.cluster_names)
            if a.text and b.text:
                prompts_differ = (a.text["prompt"][:, ca] != b.text["prompt"][rows][:, cb]).sum(axis=0)
            else:
                prompts_differ = np.zeros(k, dtype=int)
            for j, n in enumerate(models):
                plain = binary and scheme(n_clusters, how_a[n]) == "item" and scheme(n_clusters, how_b[n]) == "item"
                summary.append(
                    {
                        "benchmark": bench,
                        "model": n,
                        "harness_a": a.harness,
                        "harness_b": b.harness,
                        "task_a": row_a[j]["variant"],
                        "task_b": row_b[j]["variant"],
                        "metric_a": row_a[j]["metric"],
                        "metric_b": row_b[j]["metric"],
                        "aggregation_a": how_a[n],
                        "aggregation_b": how_b[n],
                        "n": len(a.item_ids),
                        "score_a": row_a[j]["score"],
                        "score_b": row_b[j]["score"],
                        "difference": point[j],
                        "ci_low": low[j],
                        "ci_high": high[j],
                        "test": "McNemar" if plain else "paired bootstrap",
                        "p_value": mcnemar_p(score_a[:, j], score_b[:, j]) if plain else float(boot_p[j]),
                        "agreement": 100.0 * same[:, j].mean(),
                        "kappa": kappa(frac_a[:, j], frac_b[:, j]),
                        "disagreeing": int((~same[:, j]).sum()),
                        "prompts_differ": int(prompts_differ[j]),
                    }
                )
            # The items scored differently, all models at once (item order within each model).
            j_idx, i_idx = np.nonzero(~same.T)
            if len(i_idx):
                text_a, text_b = a.text or {}, b.text or {}
                disagreements.append(
                    pd.DataFrame(
                        {
                            "benchmark": bench,
                            "model": np.array(models, dtype=object)[j_idx],
                            "item_id": a.item_ids[i_idx],
                            "subtask": np.array(a.cluster_names, dtype=object)[a.clusters[i_idx]],
                            "target": text_a["target"][i_idx, np.array(ca)[j_idx]] if text_a else "",
                            "harness_a": a.harness,
                            "prediction_a": text_a["prediction"][i_idx, np.array(ca)[j_idx]] if text_a else "",
                            "score_a": score_a[i_idx, j_idx],
                            "harness_b": b.harness,
                            "prediction_b": text_b["prediction"][rows[i_idx], np.array(cb)[j_idx]] if text_b else "",
                            "score_b": score_b[i_idx, j_idx],
                        },
                        columns=DISAGREEMENT_COLUMNS,
                    )
                )
    items = pd.concat(disagreements, ignore_index=True) if disagreements else pd.DataFrame(columns=DISAGREEMENT_COLUMNS)
    return pd.DataFrame(summary, columns=SUMMARY_COLUMNS), items
