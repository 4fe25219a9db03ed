"""`lmdeck-hf`: lm-eval's `hf` backend with the log-likelihood requests tokenized in batches.

lm-eval's hf backend encodes every (context, continuation) pair in Python, one `encode`
call per string. On a GPU that is most of a multiple-choice run: bench/GPU.md measured 34 s
of tokenizing against 15 s of forward passes for 1,000 four-choice questions of ~1.5k
tokens. This subclass encodes, up front, every string those calls will ask for, in batches
through the fast (Rust, multi-threaded) tokenizer, and answers `tok_encode` from that table.
The token ids are the ones the hf path produces (tests/test_fast_hf.py compares them, and
the scores), so results are identical; generation and rolling log-likelihood are hf's.
"""

from __future__ import annotations

from lm_eval.api.registry import register_model
from lm_eval.models.huggingface import HFLM
from lm_eval.models.utils import _add_special_kwargs, has_bos_prefix

BATCH = 1024  # strings per tokenizer call: big enough to keep every core busy


def split_pair(context: str, continuation: str) -> tuple[str, str]:
    """What lm-eval's `_encode_pair` encodes: trailing spaces move from context to continuation."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        return context[:-n_spaces], context[-n_spaces:] + continuation
    return context, continuation


@register_model("lmdeck-hf")
class BatchTokenizingHFLM(HFLM):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._encoded: dict[str, list[int]] = {}

    def special_tokens_kwargs(self, string: str, bos: str) -> dict:
        """The keyword arguments hf's `tok_encode` passes to the tokenizer for `string`."""
        kwargs = _add_special_kwargs(None, self.add_bos_token)
        if has_bos_prefix(string, bos):
            kwargs["add_special_tokens"] = False
        return kwargs

    def tok_encode(
        self, string: str, add_special_tokens: bool | None = None, left_truncate_len: int | None = None, **kwargs
    ) -> list[int]:
        if add_special_tokens is None and not kwargs and string in self._encoded:
            encoding = self._encoded[string]
            return encoding[-left_truncate_len:] if left_truncate_len else encoding
        return super().tok_encode(string, add_special_tokens, left_truncate_len, **kwargs)

    def encode_in_batches(self, strings: set[str]) -> None:
        bos = self.tokenizer.decode(self.prefix_token_id)
        groups: dict[tuple, list[str]] = {}
        for string in strings:
            kwargs = self.special_tokens_kwargs(string, bos)
            groups.setdefault(tuple(sorted(kwargs.items())), []).append(string)
        for kwargs, group in groups.items():
            for start in range(0, len(group), BATCH):
                chunk = group[start : start + BATCH]
                ids = self.tokenizer(chunk, **dict(kwargs))["input_ids"]
                self._encoded.update(zip(chunk, map(list, ids)))

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        if self.backend == "causal" and getattr(self.tokenizer, "is_fast", False):
            wanted = set()
            for context, continuation in (req.args for req in requests):
                if context:  # an empty context takes hf's own path (BOS as context)
                    context, continuation = split_pair(context, continuation)
                    wanted.update((context + continuation, context))
            self.encode_in_batches(wanted)
        try:
            return super().loglikelihood(requests, disable_tqdm=disable_tqdm)
        finally:
            self._encoded.clear()
