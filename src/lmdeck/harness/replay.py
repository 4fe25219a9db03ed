"""`lmdeck-replay`: an lm-eval model backend that answers with recorded completions.

It scores given outputs through the real harness path (task YAML -> generation ->
process_results -> lmdeck scorers -> sandbox for code), e.g. to check that HumanEval's
canonical solutions pass and wrong ones fail, or to re-score generations saved elsewhere.
Answers come from a JSONL file of {"prompt": ..., "completion": ...}; an unknown prompt
gets the empty completion. Log-likelihood requests get 0.0 (no preference).
"""

from __future__ import annotations

import json

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model


@register_model("lmdeck-replay")
class ReplayLM(LM):
    def __init__(self, answers: str, **_ignored) -> None:
        super().__init__()
        with open(answers, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        self.answers = {row["prompt"]: row["completion"] for row in rows}

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict | None = None):
        args = dict(part.split("=", 1) for part in arg_string.split(",") if "=" in part)
        return cls(**args)

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        return [self.answers.get(request.args[0], "") for request in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        return [(0.0, False) for _ in requests]

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        return [0.0 for _ in requests]
