"""lmdeck-hf (batched tokenization) against lm-eval's own hf backend: same tokens, same scores."""

import pytest
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

import native_tasks
from conftest import ROOT
from lmdeck import formats
from lmdeck.harness.fast_hf import BatchTokenizingHFLM, split_pair

DEMO = ROOT / "data" / "demo"


def native_pairs(fmt_name: str, shots: int, out) -> list[tuple[str, str]]:
    """(context, continuation) of every request lm-eval's own task builds from the demo files."""
    fmt = formats.get(fmt_name)
    _, tasks = native_tasks.build(fmt, fmt.variant("lm-eval", None, shots), fmt.read(DEMO / fmt_name), out, shots)
    pairs = []
    for task in tasks.values():
        task.set_config(key="num_fewshot", value=shots)
        task.build_all_requests(rank=0, world_size=1)
        pairs += [tuple(instance.arguments) for instance in task.instances]
    return pairs


@pytest.fixture(scope="module")
def demo_pairs(tmp_path_factory) -> list[tuple[str, str]]:
    return [pair for fmt in ("mmlu", "cmmlu") for pair in native_pairs(fmt, 5, tmp_path_factory.mktemp(fmt))]


def requests_from_demo(demo_pairs) -> list[Instance]:
    """Every (prompt, choice) of the demo MMLU (5-shot) and CMMLU (Chinese) as lm-eval's own tasks
    build them, plus edge cases: trailing spaces in the context, an empty context, a context
    already starting with BOS."""
    pairs = list(demo_pairs)
    pairs += [
        ("Question: 2 + 2 =  ", "4"),
        ("", " hello"),
        ("<s>The capital of France is", " Paris"),
        ("问题：中国的首都是哪里？\n答案：", "北京"),
        ("tabs\t", "\tx"),
    ]
    return [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(pairs)]


@pytest.fixture(scope="module")
def backends(demo_model_dir):
    args = dict(pretrained=str(demo_model_dir), device="cpu", batch_size=16, dtype="float32")
    return HFLM(**args), BatchTokenizingHFLM(**args)


def tokenized(lm, requests, monkeypatch) -> list:
    """The (context, continuation) token ids the backend hands to its forward passes."""
    seen = []

    def capture(new_reqs, disable_tqdm=False, **_):
        seen.extend(new_reqs)
        return [(0.0, False)] * len(new_reqs)

    monkeypatch.setattr(lm, "_loglikelihood_tokens", capture)
    lm.loglikelihood(requests, disable_tqdm=True)
    return seen


def test_same_token_ids_as_hf(backends, monkeypatch, demo_pairs):
    hf, fast = backends
    requests = requests_from_demo(demo_pairs)
    assert len(requests) > 80
    assert tokenized(fast, requests, monkeypatch) == tokenized(hf, requests, monkeypatch)
    assert fast._encoded == {}  # the table lives for one call only


def test_same_scores_as_hf(backends, demo_pairs):
    hf, fast = backends
    requests = requests_from_demo(demo_pairs)[:60]
    got, expected = fast.loglikelihood(requests, disable_tqdm=True), hf.loglikelihood(requests, disable_tqdm=True)
    # Same tokens, same model: equal up to float32 summation order on the CPU.
    assert [g for _, g in got] == [g for _, g in expected]
    assert [ll for ll, _ in got] == pytest.approx([ll for ll, _ in expected], abs=1e-5)


def test_split_pair_moves_trailing_spaces():
    assert split_pair("Answer:  ", "B") == ("Answer:", "  B")
    assert split_pair("Answer:", " B") == ("Answer:", " B")
