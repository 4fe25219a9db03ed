"""What an item count can tell: the smallest difference between two models that a benchmark of
n items detects with 80 % power at α = 0.05 (two-sided), for scores near 50 % (where the
variance, and so the difference needed, is largest). Two independent samples of n (statsmodels
``NormalIndPower`` on Cohen's h): a paired test on the same items can do better when the models
agree on most items, so this is the conservative figure."""

from __future__ import annotations

import math

from statsmodels.stats.power import NormalIndPower

POWER = 0.8
ALPHA = 0.05
BASELINE = 0.5


def min_detectable_difference(n: int, alpha: float = ALPHA, power: float = POWER, baseline: float = BASELINE) -> float:
    """In points (0-100); inf when no difference up from `baseline` is detectable with n items."""
    if n < 2:
        return math.inf
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=alpha, power=power, ratio=1.0)
    angle = math.asin(math.sqrt(baseline)) + float(h) / 2  # Cohen's h = 2 asin √p1 − 2 asin √p2
    if angle >= math.pi / 2:
        return math.inf
    return 100.0 * (math.sin(angle) ** 2 - baseline)
