"""lmdeck's offline `code_eval` metric: the pass@k estimator, and lm-eval's own humaneval task on it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import lm_eval
import pytest

from lmdeck.harness.code_eval import code_timeout_s, compute, install_offline_metric, pass_at_k

LM_EVAL_HUMANEVAL = Path(lm_eval.__file__).parent / "tasks" / "humaneval" / "humaneval.yaml"

# Two HumanEval-shaped problems written for these tests.
PROBLEMS = [
    {
        "task_id": "Tiny/0",
        "prompt": 'def add(a, b):\n    """Return the sum of a and b."""\n',
        "canonical_solution": "    return a + b\n",
        "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n",
        "entry_point": "add",
    },
    {
        "task_id": "Tiny/1",
        "prompt": 'def is_even(n):\n    """Return True if n is even."""\n',
        "canonical_solution": "    return n % 2 == 0\n",
        "test": "def check(candidate):\n    assert candidate(4) is True\n    assert candidate(7) is False\n",
        "entry_point": "is_even",
    },
]


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (5, 2, 1, 0.4),  # c/n
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 0, 1, 0.0),
        (10, 0, 5, 0.0),
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (4, 3, 2, 1.0),  # n - c < k: every k-subset holds a pass
        (3, 1, 3, 1.0),
    ],
)
def test_pass_at_k_by_hand(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_timeout_default_env_and_argument(monkeypatch):
    monkeypatch.delenv("LMDECK_CODE_TIMEOUT_S", raising=False)
    assert code_timeout_s() == 3.0
    monkeypatch.setenv("LMDECK_CODE_TIMEOUT_S", "7.5")
    assert code_timeout_s() == 7.5
    assert code_timeout_s(1.0) == 1.0
    monkeypatch.setenv("LMDECK_CODE_TIMEOUT_S", "soon")
    with pytest.raises(ValueError, match="LMDECK_CODE_TIMEOUT_S"):
        code_timeout_s()


def test_compute_refuses_without_opt_in(monkeypatch):
    monkeypatch.delenv("HF_ALLOW_CODE_EVAL", raising=False)
    with pytest.raises(ValueError, match="HF_ALLOW_CODE_EVAL"):
        compute(predictions=[["def add(a,b): return a+b"]], references=["assert add(2,3)==5"], k=[1])


def test_compute_matches_code_eval_shape(monkeypatch):
    monkeypatch.setenv("HF_ALLOW_CODE_EVAL", "1")
    scores, results = compute(
        predictions=[["def add(a,b): return a*b", "def add(a, b): return a+b"], ["while True: pass"]],
        references=["assert add(2,3)==5", "pass"],
        k=[1, 2],
        timeout=1.0,
    )
    # pass@2 is dropped: problem 1 has only one sample (as in the HF metric).
    assert scores == {"pass@1": pytest.approx(0.25)}
    assert [cid for cid, _ in results[0]] == [0, 1]
    assert [row["passed"] for _, row in results[0]] == [False, True]
    assert results[0][0][1]["result"].startswith("failed: AssertionError")
    assert results[1][0][1] == {"task_id": 1, "passed": False, "result": "timed out", "completion_id": 0}


def test_install_layout(tmp_path):
    install_offline_metric(tmp_path)
    install_offline_metric(tmp_path)  # idempotent
    home = tmp_path / "evaluate_modules" / "metrics" / "evaluate-metric--code_eval"
    (version,) = [p for p in home.iterdir() if p.is_dir()]
    assert len(version.name) == 64
    assert (version / "code_eval.py").read_text().count("\n") < 10  # logic lives in lmdeck
    for package in (tmp_path, tmp_path / "evaluate_modules", home.parent, home, version):
        assert (package / "__init__.py").is_file()


def offline_env(tmp_path: Path) -> dict:
    install_offline_metric(tmp_path / "modules")
    env = {k: v for k, v in os.environ.items() if k != "LMDECK_CODE_TIMEOUT_S"}
    env.update(
        HF_HOME=str(tmp_path / "hf"),  # no stale downloads cache of the real metric
        HF_MODULES_CACHE=str(tmp_path / "modules"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_EVALUATE_OFFLINE="1",
        HF_ALLOW_CODE_EVAL="1",
    )
    return env


def run_json(script: str, tmp_path: Path) -> dict:
    """Run `script` in a fresh interpreter, offline; it prints one JSON line last."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_lm_eval_humaneval_utils_import_offline(tmp_path):
    out = run_json(
        """
import json
import lm_eval.tasks.humaneval.utils as utils  # evaluate.load("code_eval") at import
refs = ["assert add(2,3)==5"]
print(json.dumps({
    "metric": type(utils.compute_).__module__,
    "right": utils.pass_at_k(references=refs, predictions=[["def add(a,b): return a+b"]], k=[1]),
    "wrong": utils.pass_at_k(references=refs, predictions=[["def add(a,b): return a-b"]], k=[1]),
}))
""",
        tmp_path,
    )
    assert out == {"metric": "lmdeck.harness.code_eval", "right": {"pass@1": 1.0}, "wrong": {"pass@1": 0.0}}


@pytest.mark.slow
def test_lm_eval_humaneval_task_end_to_end_offline(tmp_path):
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS), encoding="utf-8")
    answers = tmp_path / "answers.jsonl"
    replies = [PROBLEMS[0]["canonical_solution"], "    return n % 2 == 1\n"]  # right, wrong
    answers.write_text(
        "".join(json.dumps({"prompt": p["prompt"], "completion": r}) + "\n" for p, r in zip(PROBLEMS, replies)),
        encoding="utf-8",
    )
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "humaneval.yaml").write_text(
        f"include: {json.dumps(str(LM_EVAL_HUMANEVAL))}\n"
        "task: humaneval\n"
        "dataset_path: json\n"
        "dataset_name: null\n"
        "dataset_kwargs:\n"
        "  data_files:\n"
        f"    test: {json.dumps(str(data))}\n",
        encoding="utf-8",
    )
    out = run_json(
        f"""
import json
import lm_eval
from lm_eval.api.registry import get_model
from lm_eval.tasks import TaskManager
import lmdeck.harness.replay  # registers lmdeck-replay

lm = get_model("lmdeck-replay").create_from_arg_string({json.dumps(f"answers={answers}")})
r = lm_eval.simple_evaluate(
    model=lm, tasks=["humaneval"],
    task_manager=TaskManager(include_path={json.dumps(str(tasks))}, include_defaults=False),
    confirm_run_unsafe_code=True, log_samples=True,
)
samples = sorted(r["samples"]["humaneval"], key=lambda s: s["doc_id"])
print(json.dumps({{
    "pass@1": r["results"]["humaneval"]["pass@1,create_test"],
    "per_sample": [s["pass@1"] for s in samples],
    "task_ids": [s["doc"]["task_id"] for s in samples],
}}))
""",
        tmp_path,
    )
    assert out == {"pass@1": 0.5, "per_sample": [1.0, 0.0], "task_ids": ["Tiny/0", "Tiny/1"]}
