"""The demo models: seeded random-init causal LMs that both harnesses load like any HF model."""

import pytest

from conftest import ROOT
from lmdeck.demo_models import build_model
from lmdeck.settings import Build
from lmdeck.fileio import sha256_dir

CORPUS = ROOT / "data" / "demo"


@pytest.mark.parametrize("architecture", ["llama", "qwen2"])
def test_same_seed_same_weights_other_seed_other_weights(architecture, tmp_path):
    first = sha256_dir(build_model(tmp_path / "a", Build.with_defaults(architecture, corpus=CORPUS, seed=7)))
    again = sha256_dir(build_model(tmp_path / "b", Build.with_defaults(architecture, corpus=CORPUS, seed=7)))
    other = sha256_dir(build_model(tmp_path / "c", Build.with_defaults(architecture, corpus=CORPUS, seed=8)))
    assert first == again
    assert first != other


def test_model_loads_with_the_hf_auto_classes_and_generates(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = build_model(tmp_path / "m", Build.with_defaults("qwen2", corpus=CORPUS, seed=1))
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert 1e5 < sum(p.numel() for p in model.parameters()) < 5e6  # "a few hundred k to a few M"
    ids = tokenizer("以下是 Question: 2+2?", return_tensors="pt")
    assert tokenizer.decode(ids["input_ids"][0]) == "以下是 Question: 2+2?"  # byte-level: lossless, CJK too
    with torch.no_grad():
        generated = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert generated.shape[1] == ids["input_ids"].shape[1] + 4
    assert tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
