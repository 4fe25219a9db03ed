"""Scoring of one generated answer, called from inside the harnesses (lm-eval's
`process_results` and the OpenCompass evaluator), so both score generations identically."""

from __future__ import annotations

from lmdeck import scoring


def score_generation(doc: dict, generation: str) -> float:
    scorer = doc["scorer"]
    if scorer == "code":
        problem = {"prompt": doc["prompt"], "test": doc["meta"]["test"], "entry_point": doc["meta"]["entry_point"]}
        return scoring.score_code(scoring.truncate_completion(generation), problem,
                                  timeout_s=float(doc.get("timeout_s", 10)))
    score = {
        "gsm8k": scoring.score_gsm8k,
        "math": scoring.score_math,
        "bbh": scoring.score_bbh,
        "letters": scoring.score_letters,
        "cloze": scoring.score_cloze,
    }[scorer]
    return float(score(generation, doc["answer"]))


def lm_eval_process_results(doc: dict, results: list[str]) -> dict:
    return {"acc": score_generation(doc, results[0])}
