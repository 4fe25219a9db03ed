"""The examples slides: which item is shown, how a long few-shot prompt is shortened, and that
prompts, targets and predictions (which hold $, #, <, backticks, directives) render literally."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
from conftest import report_spec
from lmdeck.settings import ReportSpec
from lmdeck import cli, examples
from lmdeck.markdown import code_block
from lmdeck.scores import SAMPLE_COLUMNS

SHOTS = [f"Question: shot {i}?\nA. yes\nB. no\nAnswer: A" for i in range(5)]
HEADER = "The following are multiple choice questions (with answers)."
QUESTION = "Question: is $x$ # <b>bold</b> ```code``` <!-- _class: lead --> :smile: true?\nA. yes\nB. no\nAnswer:"
PROMPT = "\n\n".join([HEADER, *SHOTS, QUESTION])
TARGET = " A"
PREDICTIONS = {"m1": " B $y$ | <script>alert(1)</script>", "m2": " A"}
SPEC = ReportSpec.from_dict(
    report_spec(
        [{"name": "m1", "display_name": "Model *one*"}, {"name": "m2"}, {"name": "m3"}],
        [
            {"name": "B1", "harness": ["lm-eval", "opencompass"], "category": "exams", "format": "mmlu"},
            {"name": "B2", "harness": "lm-eval", "category": "exams", "format": "mmlu"},
        ],
    )
)


def sample(model: str, item_id: str, prediction: str, harness: str = "lm-eval", score: float = 0.0) -> dict:
    return dict(
        model=model,
        harness=harness,
        benchmark="B1",
        subtask="s",
        task="t",
        item_id=item_id,
        prompt=PROMPT,
        prediction=prediction,
        target=TARGET,
        score=score,
        max_score=1.0,
        metric="acc",
    )


def samples() -> pd.DataFrame:
    rows = [
        # item 0 lacks m2: not every model has it, so item 1 is the example.
        sample("m1", "f.csv:0", "x"),
        sample("m1", "f.csv:1", PREDICTIONS["m1"]),
        sample("m2", "f.csv:1", PREDICTIONS["m2"], score=1.0),
        # The benchmark's second harness is not the one shown.
        sample("m1", "f.csv:1", "other", harness="opencompass"),
        sample("m2", "f.csv:1", "other", harness="opencompass"),
    ]
    return pd.DataFrame(rows, columns=SAMPLE_COLUMNS)


def test_the_first_item_every_model_has_of_the_first_harness():
    [example] = examples.pick(samples(), SPEC, ["B1", "B2"])  # B2 has no records: no example
    assert (example["benchmark"], example["harness"], example["item_id"]) == ("B1", "lm-eval", "f.csv:1")
    assert [(p["model"], p["prediction"], p["score"]) for p in example["predictions"]] == [
        ("Model *one*", PREDICTIONS["m1"].strip(), "✗"),
        ("m2", "A", "✓"),
    ]  # m3 has no records of B1: not listed
    assert example["target"] == "A"


def test_a_long_prompt_keeps_its_instruction_and_question_and_elides_the_shots():
    short = examples.shorten_prompt(PROMPT)
    lines = short.split("\n")
    assert lines[0] == HEADER
    assert lines[1] == examples.elision(len(PROMPT.split("\n")) - 1 - len(QUESTION.split("\n")))
    assert "\n".join(lines[2:]) == QUESTION
    assert "shot 0" not in short
    assert examples.shorten_prompt("Q: short?\nA:") == "Q: short?\nA:"  # a short prompt is shown whole


def test_a_cue_alone_at_the_end_keeps_its_question_and_a_long_question_its_end():
    math = "\n\n".join(
        [f"Problem:\nshot {i}\n\nSolution: {i}" for i in range(6)] + ["Problem:\nWhat is $1+1$?", "Solution:"]
    )
    short = examples.shorten_prompt(math).split("\n")
    assert short[-3:] == ["What is $1+1$?", "", "Solution:"] and short[-4] == "Problem:"
    passage = "\n".join(f"line {i}" for i in range(40))
    short = examples.shorten_prompt(passage).split("\n")
    assert len(short) == examples.PROMPT_LINES and short[-1] == "line 39" and short[0].startswith("[… ")


def test_wide_characters_are_wrapped_by_display_width():
    pieces = examples.wrap("中" * 120)
    assert [len(p) for p in pieces] == [50, 50, 20]  # a CJK character takes two of the 100 columns


def test_code_block_fence_outlasts_any_backtick_run():
    block = code_block("a ```` b\n```\n\x00c")
    fence, body = block.split("\n", 1)
    assert fence == "`````text" and block.endswith("\n`````")
    assert "\x00" not in body


class PreAndCells(HTMLParser):
    """Text of <pre> blocks and table cells, per slide."""

    def __init__(self):
        super().__init__()
        self.pre, self.cells, self.tags, self._into = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "pre":
            self.pre.append("")
            self._into = "pre"
        elif tag in ("td", "th"):
            self.cells.append("")
            self._into = "cell"

    def handle_endtag(self, tag):
        if tag in ("pre", "td", "th"):
            self._into = None

    def handle_data(self, data):
        if self._into == "pre":
            self.pre[-1] += data
        elif self._into == "cell":
            self.cells[-1] += data


def test_examples_render_literally_through_marp(tmp_path):
    """The deck-data step on the samples, the deck step, marp-cli's html: the prompt shows in a
    code block exactly as shortened, predictions and target as table text; nothing becomes a tag,
    math, emoji or directive."""
    report = {"name": "x", "title": "T", "sections": ["examples"]}
    data = tmp_path / "deck.json"
    data.write_text(json.dumps({"examples": examples.pick(samples(), SPEC, ["B1"])}), encoding="utf-8")
    (tmp_path / "attachments").mkdir()
    md, html = tmp_path / "x.md", tmp_path / "x.html"
    args = ["deck", "--data", str(data), "--report", json.dumps(report), "--attachments", str(tmp_path / "attachments")]
    assert cli.main([*args, "--out", str(md)]) == 0
    assert cli.main(["export", "--format", "html", "--deck", str(md), "--out", str(html)]) == 0
    parser = PreAndCells()
    page = html.read_text(encoding="utf-8")
    parser.feed(page[page.index("<section") : page.rindex("</section>")])  # the slides, not Marp's own scripts
    [pre] = parser.pre
    assert pre.rstrip("\n") == examples.shorten_prompt(PROMPT)
    assert "Model *one*" in parser.cells and "A" in parser.cells
    assert PREDICTIONS["m1"].strip() in parser.cells
    assert not {"script", "b", "img", "mjx-container"} & set(parser.tags)


def test_more_models_leave_fewer_prompt_lines():
    """Each model adds a table row: with eight, the prompt shrinks to its minimum."""
    models = [f"m{i}" for i in range(8)]
    spec = ReportSpec.from_dict(
        report_spec(
            [{"name": m} for m in models], [{"name": "B1", "harness": "lm-eval", "category": "exams", "format": "mmlu"}]
        )
    )
    frame = pd.DataFrame([sample(m, "f.csv:1", "A") for m in models], columns=SAMPLE_COLUMNS)
    [example] = examples.pick(frame, spec, ["B1"])
    assert len(example["prompt"].split("\n")) == examples.MIN_PROMPT_LINES
    assert example["prompt"].endswith("Answer:") and len(example["predictions"]) == 8
