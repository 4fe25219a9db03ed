"""Seeded random-init causal LMs for the embedded demo.

Nothing may be downloaded at run time, so the demo builds its own models: a byte-level
BPE tokenizer trained on the project's demo data plus a tiny, randomly initialised
decoder of a named architecture, saved with `save_pretrained` so that lm-eval and
OpenCompass load it through their ordinary Hugging Face loaders.
Same seed and same corpus -> byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from lmdeck import resources
from lmdeck.settings import Build

# Small shapes: a few hundred k parameters, fast on two CPU cores.
ARCHITECTURES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "gpt_neox": ("GPTNeoXConfig", "GPTNeoXForCausalLM"),
}


def default_corpus() -> Path:
    """The tokenizer corpus of a `build:` entry that names none: the shipped demo data, found
    through the package (lmdeck.resources), never the working directory."""
    return resources.demo_data()


SPECIAL_TOKENS = ["<|endoftext|>", "<|pad|>"]
# A minimal chat format, so `kind: chat` demo models work with both harnesses' chat paths.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def corpus_lines(corpus_dir: Path) -> list[str]:
    """Every line of text in the demo data files (any format), in a stable order."""
    lines: list[str] = []
    for path in sorted(p for p in corpus_dir.rglob("*") if p.is_file()):
        if path.suffix == ".gz":
            import gzip

            text = gzip.open(path, "rt", encoding="utf-8").read()
        elif path.suffix in {".csv", ".json", ".jsonl", ".txt", ".md"}:
            text = path.read_text(encoding="utf-8")
        else:
            continue
        lines.extend(line for line in text.splitlines() if line.strip())
    if not lines:
        raise ValueError(f"{corpus_dir}: no text files to train the demo tokenizer on")
    return lines


def train_tokenizer(lines: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        pad_token="<|pad|>",
        model_max_length=2048,
        # Decoder-only models take no token_type_ids; generate() rejects them.
        model_input_names=["input_ids", "attention_mask"],
        chat_template=CHAT_TEMPLATE,
    )


def build_model(out_dir: str | Path, build: Build, max_positions: int = 2048) -> Path:
    """Write a tokenizer + random-init model to `out_dir` (replaced atomically); the tokenizer is
    trained on `build.corpus` (default: the shipped demo data)."""
    import torch
    import transformers

    architecture, hidden_size, heads = build.architecture, build.hidden_size, build.heads
    if architecture not in ARCHITECTURES:
        raise ValueError(f"build.architecture: unknown {architecture!r}; known: {sorted(ARCHITECTURES)}")
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer(corpus_lines(Path(build.corpus or default_corpus())), build.vocab_size)

    config_name, model_name = ARCHITECTURES[architecture]
    shape = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=build.layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 4,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    if architecture in {"llama", "qwen2"}:
        shape["num_key_value_heads"] = heads
    config = getattr(transformers, config_name)(**shape)
    torch.manual_seed(build.seed)
    model = getattr(transformers, model_name)(config)
    model.eval()

    tmp_dir = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    model.save_pretrained(tmp_dir, safe_serialization=True)
    tokenizer.save_pretrained(tmp_dir)
    (tmp_dir / "lmdeck_build.json").write_text(
        json.dumps({k: v for k, v in asdict(build).items() if k != "corpus"}, indent=2, sort_keys=True) + "\n"
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp_dir.rename(out_dir)
    return out_dir
