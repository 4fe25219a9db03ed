"""lmdeck-hf (batched tokenization) against lm-eval's own hf backend: same tokens, same scores."""

import pytest
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from conftest import ROOT
from lmdeck import benchmarks
from lmdeck.harness.fast_hf import BatchTokenizingHFLM, split_pair

DEMO = ROOT / "data" / "demo"


def requests_from_demo() -> list[Instance]:
    """Every (prompt, choice) of the demo MMLU (5-shot) and CMMLU (Chinese), plus edge cases:
    trailing spaces in the context, an empty context, a context already starting with BOS."""
    pairs = [(item.prompt, choice)
             for fmt in ("mmlu", "cmmlu") for item in benchmarks.load_benchmark(fmt, DEMO / fmt, 5)
             for choice in item.choices]
    pairs += [("Question: 2 + 2 =  ", "4"), ("", " hello"), ("<s>The capital of France is", " Paris"),
              ("问题：中国的首都是哪里？\n答案：", "北京"), ("tabs\t", "\tx")]
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


def test_same_token_ids_as_hf(backends, monkeypatch):
    hf, fast = backends
    requests = requests_from_demo()
    assert len(requests) > 80
    assert tokenized(fast, requests, monkeypatch) == tokenized(hf, requests, monkeypatch)
    assert fast._encoded == {}  # the table lives for one call only


def test_same_scores_as_hf(backends):
    hf, fast = backends
    requests = requests_from_demo()[:60]
    got, expected = fast.loglikelihood(requests, disable_tqdm=True), hf.loglikelihood(requests, disable_tqdm=True)
    # Same tokens, same model: equal up to float32 summation order on the CPU.
    assert [g for _, g in got] == [g for _, g in expected]
    assert [ll for ll, _ in got] == pytest.approx([ll for ll, _ in expected], abs=1e-5)


def test_split_pair_moves_trailing_spaces():
    assert split_pair("Answer:  ", "B") == ("Answer:", "  B")
    assert split_pair("Answer:", " B") == ("Answer:", " B")
