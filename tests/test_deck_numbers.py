"""Numbers as a reader expects them: reported scores as the paper printed them, measured ones to
one decimal, bold only where a value beats another, charts in config and category order."""

from __future__ import annotations

import re

import pandas as pd
from conftest import report_spec
from lmdeck.settings import ReportSpec

from lmdeck import deck, figures, scores, tables

BENCHES = [("B-reason", "reasoning"), ("B-exam", "exams"), ("B-code", "coding"), ("B-math", "math")]


def inputs(tmp_path, models: list[dict], reported: str) -> tuple[dict, pd.DataFrame]:
    (tmp_path / "base.csv").write_text("model,benchmark,shots,metric,score,source\n" + reported, encoding="utf-8")
    spec = ReportSpec.from_dict(
        report_spec(
            models,
            [
                {"name": n, "category": c, "harness": "lm-eval", "format": "mmlu", "shots": 0, "metric": "acc"}
                for n, c in BENCHES
            ],
            [{"file": str(tmp_path / "base.csv"), "table": "base"}],
        )
    )
    rows = scores.read_reported(spec)
    for i, model in enumerate(models):
        for name, category in BENCHES:
            row = {c: None for c in scores.COLUMNS}
            row.update(
                model=model["name"], benchmark=name, subtask="all", harness="lm-eval", metric="acc", shots=0,
                score=100 / 3 + i, stderr=1.0, n=3, source="measured", category=category, table="base",
                started="2026-01-01T00:00:00+00:00", model_sha256="a", data_sha256="b",
            )  # fmt: skip
            rows.append(row)
    return spec, pd.DataFrame(rows, columns=scores.COLUMNS)


def test_reported_scores_keep_their_printed_precision(tmp_path):
    reported = (
        "Paper-7B,B-exam,0-shot,acc,46.20,t\nPaper-7B,B-math,0-shot,acc,54.16,t\nPaper-7B,B-code,0-shot,acc,7,t\n"
        "Other-7B,B-exam,0-shot,acc,40.1,t\n"  # something for 46.20 to beat: bold among the reported numbers
    )
    spec, frame = inputs(tmp_path, [{"name": "m", "kind": "base", "reported_as": "Paper-7B"}], reported)
    # Through the CSV the workflow writes and reads back: the printed form survives it.
    scores.write(frame, tmp_path / "scores.csv")
    frame = scores.read(tmp_path / "scores.csv")
    md = deck.render_scores(
        {"name": "x", "title": "T", "sections": ["results", "reported_vs_measured"]}, spec, frame, {}, tmp_path
    )
    results = md.split("### Results: base models", 1)[1]
    paper = next(line for line in results.splitlines() if line.startswith("| Paper-7B"))
    assert re.findall(r"[\d.]+", paper)[1:] == ["46.20", "54.16", "7"]  # after the "7B" of the name
    measured = next(line for line in results.splitlines() if line.startswith("| m (measured)"))
    assert "33.3" in measured  # 100/3: one decimal
    delta = md.split("### Reported vs. reproduced", 1)[1]
    exam = next(line for line in delta.splitlines() if line.startswith("| B-exam"))
    cells = [c.strip() for c in exam.strip("|").split("|")]
    assert cells[1:3] + cells[4:5] == ["46.20", "33.3", "-12.9"]  # reported, measured, (95 % CI,) delta
    tables.write_tables(frame, spec, tmp_path / "tables")
    assert ",46.20," in (tmp_path / "tables" / "reported_vs_measured.csv").read_text(encoding="utf-8")
    assert "**46.20**" in (tmp_path / "tables" / "base.md").read_text(encoding="utf-8")  # the best reported B-exam


def test_a_single_row_is_not_bold(tmp_path):
    spec, frame = inputs(tmp_path, [{"name": "solo", "kind": "base"}], "")
    md = deck.render_scores({"name": "x", "title": "T", "sections": ["results"]}, spec, frame, {}, tmp_path)
    assert "| solo (measured)" in md and "**" not in md.split("### Results: base models", 1)[1].split(">", 1)[0]
    one_row = tables.score_pivot(frame, spec, "base")
    assert not figures.best_mask(one_row).to_numpy().any()


def test_two_rows_bold_the_best(tmp_path):
    reported = "".join(f"{m},{b},0-shot,acc,{v},t\n" for m, v in (("Hi-7B", 50.0), ("Lo-7B", 40.0)) for b, _ in BENCHES)
    models = [{"name": "a", "kind": "base"}, {"name": "b", "kind": "base"}]
    spec, frame = inputs(tmp_path, models, reported)
    md = deck.render_scores({"name": "x", "title": "T", "sections": ["results"]}, spec, frame, {}, tmp_path)
    hi_row = next(line for line in md.splitlines() if line.startswith("| Hi-7B"))
    assert hi_row.count("**50.0**") == 5  # the better reported number in every column and the average
    # Measured rows are bold only as the statistics step's tied best (lmdeck.stats.paired, tests/test_stats.py):
    # without its paired tests a higher number alone says nothing.
    b_row = next(line for line in md.splitlines() if line.startswith("| b (measured)"))
    assert "**" not in b_row


def test_charts_follow_config_and_category_order(tmp_path):
    models = [{"name": "zeta", "kind": "base"}, {"name": "alpha", "kind": "base"}]
    reported = "Zed-7B,B-exam,0-shot,acc,50.0,t\nAbc-7B,B-exam,0-shot,acc,40.0,t\n"
    spec, frame = inputs(tmp_path, models, reported)
    head = tables.headline(frame).assign(
        label=lambda f: [tables.row_label(m, s, spec) for m, s in zip(f["model"], f["source"])]
    )
    # The paper's order for reported models, the config's for measured ones: never alphabetical.
    assert tables.chart_labels(head, spec, "base") == ["Zed-7B", "Abc-7B", "zeta (measured)", "alpha (measured)"]
    assets = {f"chart_{c}": f"charts/chart_{c}.png" for _, c in BENCHES} | {"chart_math_chat": "c.png"}
    md = deck.render_scores({"name": "x", "title": "T", "sections": ["charts"]}, spec, frame, assets, tmp_path)
    assert re.findall(r"^### Scores: (.+)$", md, flags=re.M) == [
        "Exams",
        "Math",
        "Coding",
        "Reasoning",
        "Math (chat models)",
    ]
