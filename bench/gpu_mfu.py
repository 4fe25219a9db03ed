"""GPU throughput check: lm-eval's `hf` backend scoring a 1,000-question 4-choice task on a
random-init ~1B-parameter LLaMA-shaped model (speed does not depend on the weights).

Reports tokens/s and MFU = 2 * params * tokens / (seconds * peak bf16 FLOP/s) for each
backend: lm-eval's `hf`, lmdeck's `lmdeck-hf` (hf with batched tokenization,
src/lmdeck/harness/fast_hf.py) and `vllm` if it is installed. Writes a JSON to --out.

    python bench/gpu_mfu.py --out bench/gpu_mfu.json            # on a GPU machine
    python bench/gpu_mfu.py --tiny --device cpu --out /tmp/x.json  # logic check on a CPU
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Dense bf16 peak (no sparsity) by device name, from the vendors' data sheets.
PEAK_BF16 = {
    "H100 80GB HBM3": 989e12,
    "H100 SXM": 989e12,
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "H200": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10G": 125e12,
}
WORDS = (
    "model data value system table answer question result paper number method study "
    "energy water light plant animal city river market music history science"
).split()


def peak_flops(device_name: str) -> float | None:
    for key, value in PEAK_BF16.items():
        if key in device_name:
            return value
    return None


def build_model(out: Path, tiny: bool, device: str):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lmdeck.demo_models import train_tokenizer

    lines = [" ".join(random.Random(i).choices(WORDS, k=30)) for i in range(2000)]
    tokenizer = train_tokenizer(lines, vocab_size=2048 if not tiny else 512)
    shape = (
        dict(
            hidden_size=2048,
            intermediate_size=5632,
            num_hidden_layers=22,
            num_attention_heads=16,
            num_key_value_heads=16,
        )
        if not tiny
        else dict(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4)
    )
    config = LlamaConfig(
        vocab_size=32000,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **shape,
    )
    torch.manual_seed(0)
    with torch.device(device if device != "cpu" else "cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16 if device != "cpu" else torch.float32)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters()), tokenizer


def write_task(task_dir: Path, n: int, words_per_question: int) -> Path:
    rng = random.Random(1)
    rows = []
    for i in range(n):
        question = " ".join(rng.choices(WORDS, k=words_per_question))
        options = [" ".join(rng.choices(WORDS, k=4)) for _ in range(4)]
        prompt = f"{question}\nA. {options[0]}\nB. {options[1]}\nC. {options[2]}\nD. {options[3]}\nAnswer:"
        rows.append({"prompt": prompt, "choices": [" A", " B", " C", " D"], "answer_index": rng.randrange(4)})
    data = task_dir / "mfu.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (task_dir / "mfu.yaml").write_text(
        "task: lmdeck_mfu\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{prompt}}'\n"
        "doc_to_choice: '{{choices}}'\ndoc_to_target: '{{answer_index}}'\ntarget_delimiter: ''\n"
        "metric_list:\n  - metric: acc\nmetadata:\n  version: 1\n"
    )
    return data


def count_tokens(tokenizer, data: Path) -> int:
    """Tokens the model actually runs: lm-eval's hf backend scores the four one-token answers
    of a question from ONE forward pass over the shared context (its logits cache), whose
    input is the context plus the answer minus the last token, i.e. the context's length."""
    return sum(len(tokenizer(json.loads(line)["prompt"])["input_ids"]) for line in data.read_text().splitlines())


def run_backend(backend: str, model_dir: Path, task_dir: Path, device: str, batch_size) -> dict:
    """As an lmdeck harness job does it: the model is loaded once (timed apart), then the task
    runs twice on that LM object: a warm-up (CUDA kernels, batch-size search), then the timed run."""
    import lm_eval
    import lm_eval.models  # noqa: F401  (registers hf, vllm)
    from lm_eval.api.registry import get_model
    from lm_eval.tasks import TaskManager

    from lmdeck.harness import fast_hf  # noqa: F401  (registers lmdeck-hf)

    args = f"pretrained={model_dir},dtype={'bfloat16' if device != 'cpu' else 'float32'}"
    start = time.perf_counter()
    lm = get_model(backend).create_from_arg_string(args, {"batch_size": batch_size, "device": device})
    load_s = time.perf_counter() - start
    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    forward_s = []  # time in the backend's batched forward passes + scoring (hf: _loglikelihood_tokens)
    inner = getattr(lm, "_loglikelihood_tokens", None)
    if inner is not None:

        def timed(*a, **k):
            start = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                forward_s.append(time.perf_counter() - start)

        lm._loglikelihood_tokens = timed
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        lm_eval.simple_evaluate(model=lm, tasks=["lmdeck_mfu"], task_manager=manager)
        seconds.append(time.perf_counter() - start)
    return {
        "load_s": round(load_s, 3),
        "warmup_s": round(seconds[0], 3),
        "seconds": round(seconds[1], 3),
        "forward_and_scoring_s": round(forward_s[-1], 3) if forward_s else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a tiny model and 50 questions (CPU logic check)")
    parser.add_argument("--words", type=int, default=400, help="words per question (sets prompt length)")
    args = parser.parse_args()

    import torch

    device_name = torch.cuda.get_device_name(0) if args.device != "cpu" else "CPU"
    work = Path(tempfile.mkdtemp(prefix="lmdeck-mfu-"))
    params, tokenizer = build_model(work / "model", args.tiny, args.device)
    data = write_task(work, 50 if args.tiny else 1000, 40 if args.tiny else args.words)
    tokens = count_tokens(tokenizer, data)
    peak = peak_flops(device_name)
    report = {
        "device": device_name,
        "params": params,
        "questions": 50 if args.tiny else 1000,
        "tokens": tokens,
        "peak_bf16_flops": peak,
        "backends": {},
    }
    for backend in ("hf", "lmdeck-hf", "vllm"):
        if backend == "vllm":
            try:
                import vllm  # noqa: F401
            except ImportError:
                report["backends"]["vllm"] = {"skipped": "vllm is not installed"}
                continue
        entry = run_backend(backend, work / "model", work, args.device, "auto" if args.device != "cpu" else 8)
        entry["tokens_per_s"] = round(tokens / entry["seconds"], 1)
        if peak:
            entry["mfu"] = round(2 * params * tokens / (entry["seconds"] * peak), 4)
            # The same tokens with the model load counted too (a one-benchmark job).
            if entry["forward_and_scoring_s"]:
                entry["mfu_forward_and_scoring"] = round(
                    2 * params * tokens / (entry["forward_and_scoring_s"] * peak), 4
                )
            entry["mfu_with_load"] = round(2 * params * tokens / ((entry["seconds"] + entry["load_s"]) * peak), 4)
        report["backends"][backend] = entry
    best = max((b.get("mfu", 0) for b in report["backends"].values()), default=0)
    report["goal"] = "MFU >= 0.40 for the better backend"
    report["pass"] = best >= 0.40
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
