"""One item per benchmark for the examples slides: the prompt as the harness built it (shortened to
fit a slide: the instruction and the question kept, the few-shot middle elided with a marker), the
target, and each model's prediction and score, from the per-item records (results/samples.parquet,
lmdeck.scores.samples_table).

The item is chosen deterministically: of the benchmark's first harness that has records (the one
its headline shows), the first item (by subtask, then item id) that every model has a record of.
Texts stay plain strings; the deck escapes them where they land (lmdeck.markdown).
"""

from __future__ import annotations

import unicodedata

import pandas as pd

from lmdeck.messages import t
from lmdeck.settings import ReportSpec

PROMPT_WIDTH = 100  # display columns per line (a CJK character takes two)
PROMPT_LINES = 14  # the code block's lines at most, marker included; a prompt this short is shown whole
# Each model beyond two adds a table row (about two code lines' height): the prompt gives way, down to this.
MIN_PROMPT_LINES = 6
QUESTION_MIN_CHARS = 30  # a last block shorter than this ("Solution:") is kept with the one before
ANSWER_CHARS = 120  # target and predictions: one line on the slide
HARNESS_NAMES = {"lm-eval": "lm-eval", "opencompass": "OpenCompass"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(line: str, width: int = PROMPT_WIDTH) -> list[str]:
    """One prompt line cut into pieces of at most `width` display columns (no reflowing: code and
    answer formats keep their spacing)."""
    pieces, current = [], ""
    for char in line:
        if _width(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return pieces + [current]


def _lines(text: str) -> list[str]:
    return [piece for line in text.split("\n") for piece in wrap(line)]


def elision(n_lines: int) -> str:
    return t("examples.elision", n=n_lines)


def prompt_lines(n_models: int) -> int:
    return max(MIN_PROMPT_LINES, PROMPT_LINES - 2 * max(0, n_models - 2))


def shorten_prompt(prompt: str, max_lines: int = PROMPT_LINES) -> str:
    """The prompt as the harness built it, cut to fit a slide. Blocks are separated by blank lines:
    the first (the task's instruction, when it is one line) and the last (the question, with the
    block before when it is only a cue such as "Solution:") are kept, the middle becomes a marker
    with the number of lines left out; a question still too long keeps its end."""
    prompt = prompt.rstrip("\n")
    all_lines = _lines(prompt)
    if len(all_lines) <= max_lines:
        return prompt
    blocks = prompt.split("\n\n")
    head = blocks[0] if len(blocks) > 2 and "\n" not in blocks[0] else None
    rest = blocks[1:] if head is not None else blocks
    tail = [rest[-1]]
    while len(rest) > len(tail) and len("\n\n".join(tail).strip()) < QUESTION_MIN_CHARS:
        tail.insert(0, rest[-len(tail) - 1])
    head_lines = _lines(head) if head is not None else []
    tail_lines = _lines("\n\n".join(tail))
    if len(head_lines) > max_lines // 2:
        head_lines = []  # a long instruction gives its room to the question
    room = max_lines - len(head_lines) - 1  # the marker's line
    if len(tail_lines) > room:
        tail_lines = tail_lines[-room:]
    left_out = len(all_lines) - len(head_lines) - len(tail_lines)
    if left_out <= 0:
        return prompt
    return "\n".join(head_lines + [elision(left_out)] + tail_lines)


def one_line(text: str, keep: str = "start", limit: int = ANSWER_CHARS) -> str:
    """A target or prediction on one line: whitespace runs become one space, control characters
    (which a random model emits) are dropped; over `limit` characters, the start (a model's answer
    begins there) or the end (a worked target ends in its answer) is kept, with an ellipsis."""
    text = " ".join("".join(c for c in str(text) if unicodedata.category(c) != "Cc" or c.isspace()).split())
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…" if keep == "start" else "…" + text[-(limit - 1) :]


def completion(prediction: str, prompt: str) -> str:
    """What the model added: a harness that records the prompt with the completion (lm-eval's
    HumanEval) has it cut off, marked with an ellipsis."""
    return "… " + prediction[len(prompt) :] if prompt and prediction.startswith(prompt) else prediction


def score_text(score: float, max_score: float) -> str:
    if score == max_score:
        return "✓"
    if score == 0:
        return "✗"
    return f"{score:g}/{max_score:g}"


def pick(samples: pd.DataFrame, spec: ReportSpec, benchmarks: list[str]) -> list[dict]:
    """One example per benchmark (in `benchmarks` order) that has per-item records."""
    names = {m.name: m.display_name for m in spec.models}
    model_order = [m.name for m in spec.models]
    harnesses = {b.name: list(b.harnesses) for b in spec.benchmarks}
    out = []
    for bench in benchmarks:
        rows = samples[samples["benchmark"] == bench]
        harness = next((h for h in harnesses.get(bench, []) if (rows["harness"] == h).any()), None)
        if harness is None:
            continue
        rows = rows[rows["harness"] == harness]
        models = [m for m in model_order if (rows["model"] == m).any()]
        per_item = rows.groupby(["subtask", "item_id"], sort=True)["model"].nunique()
        complete = per_item[per_item == len(models)]
        if complete.empty:
            continue
        subtask, item_id = complete.index[0]
        item = rows[(rows["subtask"] == subtask) & (rows["item_id"] == item_id)].drop_duplicates("model")
        by_model = {r.model: r for r in item.itertuples(index=False)}
        first = by_model[models[0]]
        out.append(
            {
                "benchmark": bench,
                "harness": HARNESS_NAMES.get(harness, harness),
                "subtask": str(subtask),
                "item_id": str(item_id),
                "metric": str(first.metric),
                "prompt": shorten_prompt(str(first.prompt), prompt_lines(len(models))),
                "target": one_line(first.target, keep="end"),
                "predictions": [
                    {
                        "model": names.get(m, m),
                        "prediction": one_line(completion(str(by_model[m].prediction), str(by_model[m].prompt))),
                        "score": score_text(float(by_model[m].score), float(by_model[m].max_score)),
                    }
                    for m in models
                ],
            }
        )
    return out
