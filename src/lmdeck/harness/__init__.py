"""The harness adapters (`lmeval`, `opencompass`) share one interface: `write_native` (the data
step), `run` (one harness job), `parse` and `parse_samples` (the scores stage). `adapter` is the
one place that maps a harness name to its module."""


def adapter(harness: str):
    """The adapter module for ``harness`` ("lm-eval" or "opencompass"), imported on first use."""
    from lmdeck.harness import lmeval, opencompass

    return {"lm-eval": lmeval, "opencompass": opencompass}[harness]
