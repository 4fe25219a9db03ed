"""Reported vs measured: a verdict for every pair instead of a fixed ± flag.

``consistent``: the reported number lies inside the measured 95 % interval; ``above`` /
``below`` (measured above or below the reported number): outside it, by the distance from the
reported number to the interval; ``not comparable``, with the reason, when the numbers do not
measure the same thing: not the same weights (a `build:` model is a random-init stand-in; a
hub model counts as the reported one only with ``same_weights_as_reported: true``), or a
setting that differs (shots and metric; split, chain of thought and subset where the reported
CSV gives them). A setting one side does not state is "unknown", and the verdict says so.
"""

from __future__ import annotations

import math
import re

from lmdeck import formats
from lmdeck.settings import Benchmark, Model

# Metric names as harnesses and papers write them -> what they measure.
METRIC_FAMILY = {
    "acc": "accuracy",
    "accuracy": "accuracy",
    "exact_match": "accuracy",
    "em": "accuracy",
    "score": "points",
    "pass@1": "pass@1",
}
YES = {"yes", "y", "true", "1", "cot"}
NO = {"no", "n", "false", "0", "direct"}
SETTINGS = ("shots", "metric", "split", "cot", "subset")


def metric_family(name: str) -> str:
    """`exact_match,strict-match` -> accuracy, `pass@1,create_test` -> pass@1, `acc_norm` -> acc_norm."""
    base = str(name).split(",")[0].strip().lower()
    return METRIC_FAMILY.get(base, base)


def known(value) -> str | None:
    """A setting's value as text, None when not stated (absent column, empty cell, NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def cot_value(value) -> str | None:
    text = known(value)
    if text is None:
        return None
    text = text.lower()
    return "yes" if text in YES else "no" if text in NO else text


def measured_settings(row: dict, bench: Benchmark) -> dict[str, str | None]:
    """What lmdeck knows of its own run: shots and metric as the harness reported them; the split
    the format evaluates; chain of thought where the native task's name says so; the subset
    only for a harness's own full dataset (a local folder may hold any part of it)."""
    try:
        shots = str(int(row.get("shots")))
    except (TypeError, ValueError):  # not recorded (None, NaN, pd.NA)
        shots = None
    variant = str(row.get("variant") or "")
    return {
        "shots": shots,
        "metric": metric_family(row["metric"]),
        "split": formats.get(bench.format).eval_split,
        "cot": "yes" if "cot" in variant.lower() else None,
        "subset": "full" if not bench.is_local else None,
    }


def reported_settings(row: dict) -> dict[str, str | None]:
    shots = re.match(r"\s*(\d+)", str(row.get("shots") or ""))
    return {
        "shots": shots.group(1) if shots else None,
        "metric": metric_family(row["metric"]),
        "split": (known(row.get("split")) or "").lower() or None,
        "cot": cot_value(row.get("cot")),
        "subset": (known(row.get("subset")) or "").lower() or None,
    }


def verdict(model: Model, measured: dict | None, reported: dict | None, bench: Benchmark) -> str:
    """The verdict text for one model × benchmark. `measured`: its headline row (score, ci_low,
    ci_high, shots, metric, variant); `reported`: the reported row (score, shots, metric and
    split, cot, subset where given); either may be None."""
    if reported is None or math.isnan(float(reported["score"])):
        return "not comparable (not reported)"
    if measured is None or math.isnan(float(measured["score"])):
        return "not comparable (not measured)"
    reasons = []
    if model.build is not None:
        reasons.append("stand-in model")
    elif not model.same_weights_as_reported:
        reasons.append("not declared the same weights")
    mine, theirs = measured_settings(measured, bench), reported_settings(reported)
    unknown = []
    for name in SETTINGS:
        if mine[name] is None or theirs[name] is None:
            unknown.append(name)
        elif mine[name] != theirs[name]:
            reasons.append(f"{name} {mine[name]} vs reported {theirs[name]}")
    if reasons:  # settled: what else is unknown does not change it
        return f"not comparable ({'; '.join(reasons)})"
    value, low, high = float(reported["score"]), float(measured["ci_low"]), float(measured["ci_high"])
    if low <= value <= high:
        text = "consistent"
    elif value > high:
        text = f"below by {value - high:.1f}"
    else:
        text = f"above by {low - value:.1f}"
    return f"{text} ({', '.join(unknown)} unknown)" if unknown else text
