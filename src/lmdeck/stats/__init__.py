"""The statistics a reviewer asks for, from the per-item records (results/samples.parquet):

* ``intervals``: a 95 % interval on every measured score (Wilson for 0/1 items, a seeded,
  vectorised bootstrap over items, subtasks or clusters for points and headlines);
* ``paired``: paired tests between models on the same items (McNemar, paired bootstrap) and the
  results tables' tied-best groups (best vs each other model, Holm within the column);
* ``agreement``: the two harnesses on the same items (scores, paired difference, Cohen's kappa);
* ``verdicts``: reported vs measured (consistent, above, below, not comparable and why);
* ``power``: the smallest difference an item count can detect.

Below the tables and figures, above the scores (pyproject's layers contract).
"""

AVERAGE = "Average"  # the results tables' mean column (lmdeck.tables.score_pivot)
ALL_PAIRS_UP_TO = 6  # measured models up to which every pair is compared, beyond: best vs rest only
