"""An offline, sandboxed stand-in for the Hugging Face ``code_eval`` metric.

lm-eval's built-in code tasks (``humaneval``, ``mbpp``...) call
``evaluate.load("code_eval")`` when their ``utils.py`` is imported, which needs the
Hugging Face Hub.  :func:`install_offline_metric` writes a local metric module under
that name into an HF modules cache; with

    HF_MODULES_CACHE=<that cache>  HF_EVALUATE_OFFLINE=1  HF_ALLOW_CODE_EVAL=1

``evaluate.load("code_eval")`` finds it offline (evaluate falls back to the newest
``<cache>/evaluate_modules/metrics/evaluate-metric--code_eval/<64-hex>/code_eval.py``
when the Hub can't be reached) and gets :class:`CodeEval`: the real metric's
interface and pass@k estimator, but each candidate runs in lmdeck's sandbox
(:func:`lmdeck.sandbox.run_python`) instead of in-process ``exec``.

Like the real metric it refuses to run code unless ``HF_ALLOW_CODE_EVAL=1``; lmdeck
sets that only when the run config opts in.  The per-program wall-clock limit is
the ``timeout`` argument, else ``LMDECK_CODE_TIMEOUT_S``, else 3.0 s (the real
metric's default; lm-eval never passes one).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from lmdeck.sandbox import run_python

__all__ = [
    "CodeEval",  # noqa: F822  (created lazily, PEP 562)
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_ENV",
    "code_timeout_s",
    "compute",
    "install_offline_metric",
    "pass_at_k",
]

DEFAULT_TIMEOUT_S = 3.0
TIMEOUT_ENV = "LMDECK_CODE_TIMEOUT_S"

# What evaluate.load("code_eval") looks for offline (evaluate 0.4.x,
# loading.CachedEvaluationModuleFactory): <HF_MODULES_CACHE>/evaluate_modules/
# metrics/evaluate-metric--code_eval/<any 64-char name>/code_eval.py, newest mtime wins.
_MODULE_DIR = ("evaluate_modules", "metrics", "evaluate-metric--code_eval")
_MODULE_SOURCE = '''\
"""code_eval, offline: written by lmdeck.harness.code_eval.install_offline_metric."""

from lmdeck.harness.code_eval import CodeEval  # noqa: F401  (evaluate picks this class)
'''

_WARNING = """
The "code_eval" metric executes untrusted model-generated code (here inside lmdeck's
bubblewrap sandbox; see lmdeck.sandbox).
Opt in to code execution in the lmdeck run config, or set HF_ALLOW_CODE_EVAL="1".
"""


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of Chen et al. 2021: 1 - C(n-c, k) / C(n, k), computed stably.

    n: samples drawn for a problem, c: how many of them passed, k: the k in pass@k.
    """
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def code_timeout_s(timeout: float | None = None) -> float:
    """The per-program limit: `timeout`, else $LMDECK_CODE_TIMEOUT_S, else 3.0 s."""
    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV, "").strip()
        try:
            timeout = float(raw) if raw else DEFAULT_TIMEOUT_S
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    timeout = float(timeout)
    if not timeout > 0 or math.isinf(timeout):
        raise ValueError(f"code timeout must be a positive number of seconds, got {timeout!r}")
    return timeout


def _check(program: str, timeout_s: float, task_id: int, completion_id: int) -> dict:
    r = run_python(program, timeout_s=timeout_s)
    if r.passed:
        outcome = "passed"
    elif r.timed_out:
        outcome = "timed out"
    else:
        lines = r.stderr_tail.strip().splitlines()
        outcome = "failed: " + (lines[-1] if lines else f"exit code {r.returncode}")
    return {"task_id": task_id, "passed": r.passed, "result": outcome, "completion_id": completion_id}


def compute(
    predictions: list[list[str]],
    references: list[str],
    k: list[int] = (1, 10, 100),
    num_workers: int = 4,
    timeout: float | None = None,
) -> tuple[dict[str, float], dict[int, list[tuple[int, dict]]]]:
    """The real ``code_eval`` computation, run through the lmdeck sandbox.

    Runs ``candidate + "\\n" + reference`` for every candidate of every problem; a
    program passes if it exits 0 within the timeout.  Returns ``(pass_at_k, results)``
    like the HF metric: ``{"pass@1": 0.5, ...}`` (mean over problems, only for the k
    every problem has enough samples for) and ``{task_id: [(completion_id,
    {"task_id", "passed", "result", "completion_id"}), ...]}``.
    """
    if os.getenv("HF_ALLOW_CODE_EVAL", "0") != "1":
        raise ValueError(_WARNING)
    timeout_s = code_timeout_s(timeout)
    jobs = [
        (candidate + "\n" + test, timeout_s, task_id, completion_id)
        for task_id, (candidates, test) in enumerate(zip(predictions, references))
        for completion_id, candidate in enumerate(candidates)
    ]
    with ThreadPoolExecutor(max_workers=max(1, int(num_workers))) as pool:
        checked = list(pool.map(lambda job: _check(*job), jobs))

    results: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for result in checked:
        results[result["task_id"]].append((result["completion_id"], result))
    counts = [(len(rows), sum(row["passed"] for _, row in rows)) for rows in results.values()]
    scores = {}
    for kk in [k] if isinstance(k, int) else k:
        if all(n >= kk for n, _ in counts):
            per_problem = [pass_at_k(n, c, kk) for n, c in counts]
            scores[f"pass@{kk}"] = sum(per_problem) / len(per_problem) if per_problem else math.nan
    return scores, results


@cache
def _metric_class() -> type:
    # Built on first use: importing `evaluate` costs seconds (it pulls in transformers),
    # which pass_at_k() and install_offline_metric() callers need not pay.
    import datasets
    import evaluate

    class CodeEval(evaluate.Metric):
        """``evaluate`` metric with the interface of HF's ``code_eval``, sandboxed by lmdeck."""

        def _info(self):
            return evaluate.MetricInfo(
                description="pass@k of model-written code (HumanEval harness), run in lmdeck's sandbox",
                citation="Chen et al. 2021, Evaluating Large Language Models Trained on Code, arXiv:2107.03374",
                inputs_description=compute.__doc__,
                features=datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value("string")),
                        "references": datasets.Value("string"),
                    }
                ),
                homepage="https://github.com/openai/human-eval",
            )

        def _compute(self, predictions, references, k=[1, 10, 100], num_workers=4, timeout=None):  # noqa: B006
            return compute(predictions, references, k=k, num_workers=num_workers, timeout=timeout)

    CodeEval.__module__ = __name__
    CodeEval.__qualname__ = "CodeEval"
    return CodeEval


def __getattr__(name: str):
    """``CodeEval``: the ``evaluate.Metric`` subclass, created lazily (PEP 562)."""
    if name == "CodeEval":
        return _metric_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def install_offline_metric(modules_cache: Path) -> None:
    """Write the ``code_eval`` metric module into the HF modules cache `modules_cache`.

    Point ``HF_MODULES_CACHE`` at the same directory (and set ``HF_EVALUATE_OFFLINE=1``)
    in the process that imports lm-eval's code tasks.  Idempotent; the file's mtime
    is refreshed so that it is the newest cached ``code_eval`` there.
    """
    root = Path(modules_cache)
    directory = root.joinpath(*_MODULE_DIR)
    digest = hashlib.sha256(_MODULE_SOURCE.encode()).hexdigest()  # 64 chars, as evaluate requires
    target = directory / digest
    target.mkdir(parents=True, exist_ok=True)
    # Packages all the way down, as evaluate's own loader leaves them.
    for package in (root, *(root.joinpath(*_MODULE_DIR[:i]) for i in range(1, 4)), target):
        (package / "__init__.py").touch(exist_ok=True)
    script = target / "code_eval.py"
    script.write_text(_MODULE_SOURCE, encoding="utf-8")
    os.utime(script)
    meta = {"original file path": "lmdeck.harness.code_eval", "local file path": str(script)}
    (target / "code_eval.json").write_text(json.dumps(meta), encoding="utf-8")
