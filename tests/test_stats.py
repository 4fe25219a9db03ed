"""lmdeck.stats: intervals against statsmodels/scipy and hand-worked cases, their properties,
McNemar on hand-built tables, the tied-best groups, harness agreement and the power figure."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from lmdeck import scores, tables
from lmdeck.settings import ReportSpec, with_schema_defaults
from lmdeck.stats import agreement, intervals, paired, power
from lmdeck.stats.intervals import ItemMatrix, StatsError


def matrix(columns, clusters=None, max_score=None, harness="lm-eval", bench="B", models=None) -> ItemMatrix:
    """An item matrix from per-model score lists (items × models)."""
    score = np.column_stack([np.asarray(c, float) for c in columns])
    n = len(score)
    clusters = np.zeros(n, dtype=int) if clusters is None else np.asarray(clusters)
    names = [f"s{c}" for c in range(clusters.max() + 1)]
    max_score = np.ones_like(score) if max_score is None else np.column_stack([max_score] * score.shape[1])
    models = models or [f"m{j}" for j in range(score.shape[1])]
    return ItemMatrix(harness, bench, models, np.array([f"f:{i}" for i in range(n)]), clusters, names, score, max_score)


# ------------------------------------------------------------------------------- intervals


def test_wilson_matches_statsmodels_and_the_hand_formula():
    got = intervals.intervals(matrix([[1] * 3 + [0] * 7, [0] * 10]), "")
    low, high = proportion_confint(3, 10, alpha=0.05, method="wilson")
    assert got[0].method == "wilson" and math.isclose(got[0].low, 100 * low) and math.isclose(got[0].high, 100 * high)
    # 0 of n by hand: Wilson's upper bound is z² / (n + z²).
    z2 = scipy_stats.norm.ppf(0.975) ** 2
    assert got[1].low == 0 and math.isclose(got[1].high, 100 * z2 / (10 + z2))


def test_pass_at_1_with_one_sample_is_a_0_1_metric():
    m = matrix([[1, 0, 0]])  # HumanEval, 3 problems, one sample each
    assert m.binary and intervals.intervals(m, "micro")[0].method == "wilson"


def test_points_bootstrap_matches_scipy():
    """GAOKAO-style points: a percentile bootstrap over items of points / maximum."""
    rng = np.random.default_rng(3)
    maxima = rng.choice([1.0, 2.0, 5.0], size=60)
    points = np.floor(rng.uniform(0, 1, 60) * (maxima + 1))
    got = intervals.intervals(matrix([points], max_score=maxima), "")[0]
    ref = scipy_stats.bootstrap(
        (points, maxima),
        lambda p, m: 100 * p.sum() / m.sum(),
        paired=True,
        vectorized=False,
        method="percentile",
        n_resamples=4000,
        random_state=1,
    ).confidence_interval
    assert got.method == "bootstrap" and got.resamples == intervals.RESAMPLES and got.seed == intervals.SEED
    assert abs(got.low - ref.low) < 2.0 and abs(got.high - ref.high) < 2.0  # Monte Carlo error only


def test_constant_data_falls_back_to_the_exact_interval():
    points = np.zeros(10)
    got = intervals.intervals(matrix([points], max_score=np.full(10, 2.0)), "")[0]  # 0 points of 10 items
    low, high = proportion_confint(0, 10, alpha=0.05, method="beta")
    assert got.method == "clopper-pearson" and got.low == 0 and math.isclose(got.high, 100 * high)
    assert math.isclose(got.high, 100 * (1 - 0.025 ** (1 / 10)))  # by hand: 1 − (α/2)^(1/n)


def test_bootstrap_is_seeded_and_independent_of_other_models():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 2, 40), rng.integers(0, 2, 40)
    clusters = np.repeat(np.arange(4), 10)
    alone = intervals.intervals(matrix([a], clusters), "macro")[0]
    together = intervals.intervals(matrix([a, b], clusters), "macro")[0]
    assert alone == together and alone.method == "stratified bootstrap"


@pytest.mark.parametrize("how", ["micro", "macro"])
def test_interval_holds_the_score_and_shrinks_with_n(how):
    rng = np.random.default_rng(1)
    widths = []
    for n in (20, 200, 2000):
        column = (rng.uniform(size=n) < 0.9).astype(float)  # skewed: a percentile interval may miss the point
        clusters = np.arange(n) % 12
        m = matrix([column], clusters)
        frame = pd.DataFrame(
            {
                "model": "m0",
                "harness": "lm-eval",
                "benchmark": "B",
                "subtask": [f"s{c}" for c in clusters],
                "item_id": m.item_ids,
                "score": column,
                "max_score": 1.0,
            }
        )
        rows = pd.DataFrame(
            [
                {c: None for c in scores.COLUMNS}
                | {
                    "model": "m0",
                    "benchmark": "B",
                    "harness": "lm-eval",
                    "subtask": "all",
                    "source": "measured",
                    "aggregation": how,
                    "score": intervals.point_score(m, how)[0],
                }
            ]
        )
        row = intervals.add_intervals(rows, frame).iloc[0]
        assert row["ci_low"] <= row["score"] <= row["ci_high"]
        assert row["ci_method"] == "cluster bootstrap"  # 12 subtasks: whole subtasks resampled
        widths.append(row["ci_high"] - row["ci_low"])
    assert widths[0] > widths[1] > widths[2]


def test_cluster_bootstrap_is_wider_than_naive_when_clusters_are_correlated():
    # 20 subtasks of 10 items; each subtask all right or all wrong: 20 independent units, not 200.
    clusters = np.repeat(np.arange(20), 10)
    column = np.repeat(np.random.default_rng(2).integers(0, 2, 20), 10).astype(float)
    clustered = intervals.intervals(matrix([column], clusters), "micro")[0]
    naive = intervals.intervals(matrix([column]), "")[0]  # items as if independent (Wilson)
    assert clustered.method == "cluster bootstrap"
    assert clustered.high - clustered.low > 1.8 * (naive.high - naive.low)


def test_add_intervals_fills_measured_rows_only_and_refuses_rows_without_items():
    items = pd.DataFrame(
        {
            "model": "m",
            "harness": "lm-eval",
            "benchmark": "B",
            "subtask": "s",
            "item_id": ["a:1", "a:2"],
            "score": [1.0, 0.0],
            "max_score": 1.0,
        }
    )
    base = {c: None for c in scores.COLUMNS}
    measured = base | {
        "model": "m",
        "benchmark": "B",
        "harness": "lm-eval",
        "subtask": "s",
        "source": "measured",
        "score": 50.0,
    }
    reported = base | {
        "model": "Paper",
        "benchmark": "B",
        "harness": "",
        "subtask": "all",
        "source": "reported",
        "score": 70.0,
    }
    out = intervals.add_intervals(pd.DataFrame([measured, reported]), items)
    assert out.loc[0, "ci_method"] == "wilson" and out.loc[0, "ci_low"] < 50 < out.loc[0, "ci_high"]
    assert math.isnan(out.loc[1, "ci_low"]) and out.loc[1, "ci_method"] == ""
    with pytest.raises(StatsError, match="no per-item records for m × B \\(lm-eval\\), subtask 'other'"):
        intervals.add_intervals(pd.DataFrame([measured | {"subtask": "other"}]), items)


# ------------------------------------------------------------------------------- paired tests


@pytest.mark.parametrize(
    "both, a_only, b_only, neither",
    [(3, 5, 0, 2), (10, 4, 1, 5), (50, 30, 10, 10), (0, 0, 0, 7)],
)
def test_mcnemar_on_hand_built_tables(both, a_only, b_only, neither):
    a = np.array([1] * both + [1] * a_only + [0] * b_only + [0] * neither)
    b = np.array([1] * both + [0] * a_only + [1] * b_only + [0] * neither)
    got = paired.mcnemar_p(a, b)
    discordant = a_only + b_only
    if discordant == 0:
        assert got == 1.0
        return
    exact = discordant < paired.EXACT_BELOW
    table = [[both, a_only], [b_only, neither]]
    assert math.isclose(got, mcnemar(table, exact=exact, correction=not exact).pvalue)
    if exact:  # by hand: two-sided binomial tail of the smaller discordant count
        tail = sum(math.comb(discordant, k) for k in range(min(a_only, b_only) + 1)) / 2**discordant
        assert math.isclose(got, min(1.0, 2 * tail))
    else:  # by hand: chi-square with continuity correction
        chi2 = (abs(a_only - b_only) - 1) ** 2 / discordant
        assert math.isclose(got, scipy_stats.chi2.sf(chi2, 1))


def comparison_spec(names):
    return {
        "models": [{"name": n, "kind": "base"} for n in names],
        "benchmarks": [{"name": "B", "category": "exams", "harness": "lm-eval", "format": "mmlu"}],
    }


def typed_spec(names) -> ReportSpec:
    """comparison_spec as the statistics step reads it: typed, the schema's defaults filled in."""
    spec = comparison_spec(names)
    return ReportSpec.from_dict(
        {
            "models": [with_schema_defaults({**m, "path": "hub/" + m["name"]}, "models") for m in spec["models"]],
            "benchmarks": [with_schema_defaults(b, "benchmarks") for b in spec["benchmarks"]],
            "reported": [],
        }
    )


def test_best_vs_rest_with_holm_makes_the_tied_best_group():
    rng = np.random.default_rng(5)
    n = 300
    strong = (rng.uniform(size=n) < 0.80).astype(float)
    close = strong.copy()  # differs on five items, three of them against it: not significantly worse
    close[np.flatnonzero(strong == 1)[:3]] = 0
    close[np.flatnonzero(strong == 0)[:2]] = 1
    weak = (rng.uniform(size=n) < 0.40).astype(float)
    names = ["strong", "close", "weak"]
    m = matrix([strong, close, weak], models=names)
    head = pd.DataFrame(
        {
            "model": names,
            "benchmark": "B",
            "harness": "lm-eval",
            "aggregation": "micro",
            "score": 100 * np.array([strong.mean(), close.mean(), weak.mean()]),
        }
    )
    out = paired.comparisons(head, [m], typed_spec(names), {"B": "lm-eval"}, ["B"])
    assert set(out["benchmark"]) == {"B", "Average"}  # the Average column is tested too (paired bootstrap)
    out = out[out["benchmark"] == "B"]
    best = out[out["best_vs_rest"]]
    assert set(best["model_a"]) == {"strong"} and list(best["test"]) == ["McNemar"] * 2
    raw = [paired.mcnemar_p(strong, other) for other in (close, weak)]
    assert np.allclose(best["p_value"], raw)
    assert np.allclose(best["p_holm"], multipletests(raw, method="holm")[1])
    tied = dict(zip(best["model_b"], best["tied_best"]))
    assert tied == {"close": True, "weak": False}
    # With at most six models every pair is listed too, the higher score first.
    other = out[~out["best_vs_rest"]]
    assert list(zip(other["model_a"], other["model_b"])) == [("close", "weak")]
    assert (out["ci_low"] <= out["difference"]).all() and (out["difference"] <= out["ci_high"]).all()


def test_one_model_gets_no_comparison_and_no_bold():
    m = matrix([[1, 0, 1]], models=["only"])
    head = pd.DataFrame(
        {"model": ["only"], "benchmark": "B", "harness": "lm-eval", "aggregation": "micro", "score": [66.7]}
    )
    out = paired.comparisons(head, [m], typed_spec(["only"]), {"B": "lm-eval"}, ["B"])
    assert out.empty
    pivot = pd.DataFrame({"B": [66.7], "Average": [66.7]}, index=pd.Index(["only (measured)"], name="Model"))
    frame = pd.DataFrame(
        [{c: None for c in scores.COLUMNS} | {"model": "only", "subtask": "all", "source": "measured"}]
    )
    assert not tables.bold_mask(pivot, frame, comparison_spec(["only"]), out, "base").to_numpy().any()


def test_bold_mask_marks_the_tied_best_and_the_best_reported_number():
    spec = typed_spec(["a", "b", "c"])
    pivot = pd.DataFrame(
        {"B": [80.0, 70.0, 60.0, 59.0, 40.0]},
        index=pd.Index(["Paper-1", "Paper-2", "a (measured)", "b (measured)", "c (measured)"], name="Model"),
    )
    rows = [
        {c: None for c in scores.COLUMNS} | {"model": m, "subtask": "all", "source": "reported", "table": "base"}
        for m in ("Paper-1", "Paper-2")
    ]
    comparisons = pd.DataFrame(
        [
            {
                "table": "base",
                "benchmark": "B",
                "harness": "lm-eval",
                "model_a": "a",
                "model_b": "b",
                "best_vs_rest": True,
                "tied_best": True,
            },
            {
                "table": "base",
                "benchmark": "B",
                "harness": "lm-eval",
                "model_a": "a",
                "model_b": "c",
                "best_vs_rest": True,
                "tied_best": False,
            },
        ]
    )
    mask = tables.bold_mask(pivot, pd.DataFrame(rows), spec, comparisons, "base")
    assert mask["B"].tolist() == [True, False, True, True, False]
    assert "**59.0**" in tables.pivot_markdown(pivot, mask) and "**40.0**" not in tables.pivot_markdown(pivot, mask)


# ------------------------------------------------------------------------------- harness agreement


def test_harness_agreement_on_aligned_items():
    a_scores = np.array([1, 1, 0, 0, 1, 0, 1, 1, 0, 1], float)
    b_scores = np.array([1, 0, 0, 0, 1, 1, 1, 1, 0, 1], float)
    a = matrix([a_scores], harness="lm-eval", models=["m"])
    # OpenCompass lists the same items in another order: aligned by id, not by position.
    order = np.arange(10)[::-1]
    b = ItemMatrix(
        "opencompass",
        "B",
        ["m"],
        a.item_ids[order],
        a.clusters,
        a.cluster_names,
        b_scores[order][:, None],
        np.ones((10, 1)),
        {
            "prediction": np.array([[f"oc{i}"] for i in order], dtype=object),
            "prompt": np.array([["p"]] * 10, dtype=object),
            "target": np.array([["t"]] * 10, dtype=object),
        },
    )
    a = ItemMatrix(
        a.harness,
        "B",
        ["m"],
        a.item_ids,
        a.clusters,
        a.cluster_names,
        a.score,
        a.max_score,
        {
            "prediction": np.array([[f"lm{i}"] for i in range(10)], dtype=object),
            "prompt": np.array([["p"]] * 10, dtype=object),
            "target": np.array([["t"]] * 10, dtype=object),
        },
    )
    head = pd.DataFrame(
        {
            "model": "m",
            "benchmark": "B",
            "harness": ["lm-eval", "opencompass"],
            "score": [60.0, 60.0],
            "aggregation": "micro",
            "metric": ["acc", "accuracy"],
            "variant": ["mmlu", "mmlu_ppl"],
        }
    )
    summary, items = agreement.harness_agreement([a, b], head)
    row = summary.iloc[0]
    assert row["agreement"] == 80.0 and row["disagreeing"] == 2 and row["prompts_differ"] == 0
    # Cohen's kappa by hand: p_o = 0.8, p_e = 0.6·0.6 + 0.4·0.4 = 0.52.
    assert math.isclose(row["kappa"], (0.8 - 0.52) / (1 - 0.52))
    assert row["test"] == "McNemar" and math.isclose(row["p_value"], 1.0)  # one discordant pair each way
    assert list(items["item_id"]) == ["f:1", "f:5"] and list(items["prediction_b"]) == ["oc1", "oc5"]


def test_harness_agreement_refuses_items_that_do_not_align():
    a = matrix([[1, 0, 1]], harness="lm-eval", models=["m"])
    b = ItemMatrix(
        "opencompass", "B", ["m"], np.array(["f:0", "f:1", "g:9"]), a.clusters, a.cluster_names, a.score, a.max_score
    )
    head = pd.DataFrame(
        {
            "model": "m",
            "benchmark": "B",
            "harness": ["lm-eval", "opencompass"],
            "score": 66.7,
            "aggregation": "micro",
            "metric": "acc",
            "variant": "x",
        }
    )
    with pytest.raises(StatsError, match="B: 1 items of lm-eval and 1 of opencompass have no counterpart"):
        agreement.harness_agreement([a, b], head)


def test_kappa_is_undefined_when_both_are_constant():
    assert math.isnan(agreement.kappa(np.zeros(5), np.zeros(5)))


# ------------------------------------------------------------------------------- power


def test_min_detectable_difference():
    # By hand (normal approximation, one tail): h = (z_.975 + z_.8) · sqrt(2 / n), then back from Cohen's h.
    for n in (100, 1000, 14042):
        h = (scipy_stats.norm.ppf(0.975) + scipy_stats.norm.ppf(0.8)) * math.sqrt(2 / n)
        by_hand = 100 * (math.sin(math.asin(math.sqrt(0.5)) + h / 2) ** 2 - 0.5)
        assert abs(power.min_detectable_difference(n) - by_hand) < 0.05
    assert power.min_detectable_difference(14042) < 2 < power.min_detectable_difference(1000)
    assert math.isinf(power.min_detectable_difference(3))  # HumanEval on the demo: nothing detectable


def test_models_on_other_items_are_not_paired_with_the_rest():
    """A model given other items (another matrix) cannot be compared item by item: the larger group is."""
    rows = []
    for model, items, right in (("a", 30, 0.8), ("b", 30, 0.5), ("c", 20, 0.9)):
        for i in range(items):
            rows.append(
                {
                    "model": model,
                    "harness": "lm-eval",
                    "benchmark": "B",
                    "subtask": "s",
                    "item_id": f"f:{i}",
                    "score": float(i < right * items),
                    "max_score": 1.0,
                }
            )
    matrices = intervals.item_matrices(pd.DataFrame(rows))
    assert sorted(len(m.models) for m in matrices) == [1, 2]
    head = pd.DataFrame(
        {
            "model": ["a", "b", "c"],
            "benchmark": "B",
            "harness": "lm-eval",
            "aggregation": "micro",
            "score": [80.0, 50.0, 90.0],
        }
    )
    out = paired.comparisons(head, matrices, typed_spec(["a", "b", "c"]), {"B": "lm-eval"}, ["B"])
    column = out[out["benchmark"] == "B"]
    assert list(zip(column["model_a"], column["model_b"])) == [("a", "b")]
