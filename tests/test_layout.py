"""No slide overflows in Chromium: the default deck, a stress deck (16 reported baselines beside the
measured models, 60 subtasks, long model names) and a zh deck, each exported to html by marp-cli and
measured by lmdeck.layout_check in the system Chromium. The stress deck is built from a constructed
score table and reported CSV (no harness runs) through lmdeck's own steps: deck-data, figures,
deck, export, layout-check."""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT, absolutize, default_config, report_spec, run_snakemake
from lmdeck.settings import ReportSpec
from lmdeck import cli, export, layout_check, messages, scores
from lmdeck.messages import t

pytestmark = pytest.mark.skipif(export.find_browser() is None, reason="no Chromium for the layout check")

THEME = ROOT / "templates" / "lmdeck.css"
CATEGORIES = ["exams", "math", "coding", "reasoning"]
# 12 benchmarks x 5 subtasks = 60 subtasks; three run through both harnesses (a second row per model).
BENCHMARKS = [
    "MMLU",
    "C-Eval",
    "CMMLU",
    "GAOKAO-Bench-Objective",
    "AGIEval",
    "GSM8K",
    "MATH",
    "TheoremQA",
    "HumanEval",
    "MBPP",
    "BBH",
    "HellaSwag",
]
SUBTASKS = 5
BASELINES = [
    "GPT-4-0613",
    "GPT-3.5-Turbo-0613",
    "LLaMA2-7B",
    "LLaMA2-13B",
    "LLaMA2-70B",
    "Mistral-7B-v0.1",
    "Mixtral-8x7B-v0.1-Base",
    "Baichuan2-7B-Base",
    "Baichuan2-13B-Base",
    "ChatGLM3-6B-Base",
    "Qwen-7B",
    "Qwen-14B",
    "InternLM2-7B-Base",
    "InternLM2-20B-Base",
    "Yi-6B-200K-Long-Context-Base",
    "DeepSeek-LLM-67B-Base-Pretrained-Checkpoint",
]
CHAT_BASELINES = ["Baichuan2-7B-Chat", "ChatGLM3-6B-32K-Chat", "Qwen-7B-Chat-Int4-GPTQ", "Yi-34B-Chat-4bits-AWQ"]
MEASURED = [
    {"name": "long-a", "display_name": "Qwen2.5-72B-Instruct-GPTQ-Int4 (our long-context re-run)", "kind": "base"},
    {"name": "long-b", "display_name": "Demo LLaMA-style, 2 layers, seed 1", "kind": "base"},
    {"name": "chat-a", "display_name": "InternLM2-Chat-20B-SFT-RLHF-v2.5-preview", "kind": "chat"},
]


def stress_inputs(folder: Path) -> tuple[dict, dict, pd.DataFrame]:
    """Report, spec and score table of the stress deck; the reported CSVs are written to `folder`."""
    rng = random.Random(15)
    benches = [
        {
            "name": name,
            "category": CATEGORIES[min(i // 3, 3)],
            "harness": ["lm-eval", "opencompass"] if i in (0, 1, 3) else "lm-eval",
            "format": "mmlu",
            "shots": 5,
            "metric": "acc",
            "description": f"{name}: a benchmark description long enough to wrap onto a second line of its slide.",
            "reference": f"[{i + 1}]",
        }
        for i, name in enumerate(BENCHMARKS)
    ]
    for table, names in (("base", BASELINES), ("chat", CHAT_BASELINES)):
        lines = ["model,benchmark,shots,metric,score,source"]
        for model in names:
            for bench in BENCHMARKS:
                if rng.random() < 0.1:
                    continue  # a paper never reports everything: missing cells
                score = f"{rng.uniform(10, 90):.2f}" if rng.random() < 0.3 else f"{rng.uniform(10, 90):.1f}"
                lines.append(f"{model},{bench},5-shot,acc,{score},paper Table 3")
        (folder / f"{table}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    models = copy.deepcopy(MEASURED)
    models[0]["reported_as"] = BASELINES[-1]
    models[2]["reported_as"] = CHAT_BASELINES[-1]
    spec = report_spec(models, benches, [{"file": str(folder / f"{t}.csv"), "table": t} for t in ("base", "chat")])
    rows = scores.read_reported(ReportSpec.from_dict(spec))
    for model in models:
        for bench in benches:
            for harness in [bench["harness"]] if isinstance(bench["harness"], str) else bench["harness"]:
                subtask_scores = [rng.uniform(0, 100) for _ in range(SUBTASKS)]
                for k, value in enumerate(subtask_scores + [sum(subtask_scores) / SUBTASKS]):
                    rows.append(measured_row(model, bench, harness, f"subtask_{k}" if k < SUBTASKS else "all", value))
    report = absolutize(default_config())["report"]
    report = {
        **report,
        "name": "stress",
        "baselines": {
            "intro": report["baselines"]["intro"],
            "models": [
                {
                    "name": name,
                    "text": f"{name}: an open model of its size class, as the paper describes it.",
                    "reference": f"[{20 + i}]",
                }
                for i, name in enumerate(BASELINES)
            ],
        },
        "references": report["references"]
        + [
            f"[{40 + i}] A. Author et al. {name}: a technical report with a long title. arXiv:2401.{i:05d}, 2024."
            for i, name in enumerate(BASELINES)
        ],
    }
    report["paper"] = {k: v for k, v in report["paper"].items() if k != "pdf"}
    return report, spec, pd.DataFrame(rows, columns=scores.COLUMNS)


def measured_row(model: dict, bench: dict, harness: str, subtask: str, value: float) -> dict:
    row = {c: None for c in scores.COLUMNS}
    row.update(
        model=model["name"],
        benchmark=bench["name"],
        subtask=subtask,
        harness=harness,
        metric="acc",
        shots=5,
        score=value,
        stderr=1.0,
        n=100,
        aggregation="micro" if subtask == "all" else "",
        source="measured",
        variant="default",
        task_origin="native",
        started="2026-01-01T00:00:00+00:00",
        category=bench["category"],
        table=model["kind"],
        model_sha256="ab" * 32,
        data_sha256="cd" * 32,
    )
    return row


def build_deck(folder: Path, report: dict, spec: dict, frame: pd.DataFrame) -> Path:
    """The steps the workflow runs after the merge: deck-data, figures, deck, html export. Returns the html."""
    scores.write(frame, folder / "scores.csv")
    scores.write_failures([], folder / "failures.csv")
    (folder / "benchmarks").mkdir(exist_ok=True)
    attachments = folder / "attachments"
    md, html = folder / "slides" / f"{report['name']}.md", folder / "slides" / f"{report['name']}.html"
    steps = [
        ["deck-data", "--scores", folder / "scores.csv", "--spec", json.dumps(spec), "--failures",
         folder / "failures.csv", "--benchmarks-dir", folder / "benchmarks", "--out", folder / "deck.json",
         *(["--language", report["language"]] if "language" in report else [])],
        ["figures", "--scores", folder / "scores.csv", "--spec", json.dumps(spec), "--report",
         json.dumps(report, ensure_ascii=False), "--out-dir", attachments, "--charts-dir", attachments / "charts"],
        ["deck", "--data", folder / "deck.json", "--report", json.dumps(report, ensure_ascii=False),
         "--attachments", attachments, "--out", md],
        ["export", "--format", "html", "--deck", md, "--theme", THEME, "--out", html],
    ]  # fmt: skip
    for argv in steps:
        assert cli.main([str(a) for a in argv]) == 0, argv[0]
    return html


# Each deck variant: changes to the stress report.
VARIANTS = [pytest.param({}, id="stress"), pytest.param({"language": "zh"}, id="stress-zh")]


@pytest.fixture(scope="module", params=VARIANTS)
def stress_deck(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("stress")
    report, spec, frame = stress_inputs(folder)
    html = build_deck(folder, {**report, **request.param}, spec, frame)
    md = html.with_suffix(".md").read_text(encoding="utf-8")
    return {"html": html, "md": md, "spec": spec, "language": request.param.get("language", "en")}


def test_stress_deck_fits_every_slide(stress_deck):
    bad = layout_check.overflows(stress_deck["html"])
    assert not bad, "\n".join(o.line() for o in bad)


def test_default_deck_fits_every_slide(workflow):
    html = workflow["dir"] / "slides" / "bluelm.html"
    bad = layout_check.overflows(html)
    assert not bad, "\n".join(o.line() for o in bad)


def test_stress_tables_continue_on_further_slides(stress_deck):
    """Nothing is lost to the split: every row label and every benchmark column is on some slide."""
    md = stress_deck["md"]
    with messages.speaking(stress_deck["language"]):  # the deck's own words, from its catalog
        base_heading, chat_heading, cont = t("results.base_heading"), t("results.chat_heading"), t("common.cont")
        baselines, references = t("sections.baselines"), t("sections.references")
        model, average = t("labels.model"), t("labels.average")
    assert f"### {base_heading}{cont}" in md and f"### {baselines}{cont}" in md
    base = md.split(f"### {base_heading}", 1)[1].split(f"### {chat_heading}", 1)[0]
    for name in BASELINES + [m["display_name"] for m in MEASURED if m["kind"] == "base"]:
        assert f"| {name}" in base, name
    header_cells = {c.strip() for line in base.splitlines() if line.startswith(f"| {model}") for c in line.split("|")}
    assert set(BENCHMARKS) | {average} <= header_cells
    assert md.count(f"## {references}") >= 2  # 30 references do not fit one slide at 20 px


OVERFLOWING = """---
marp: true
theme: lmdeck
paginate: true
footer: footer
---

### Fits

A short slide.

---

<!-- _class: wide -->

### Too many rows

| Model | Score |
|:--|--:|
{rows}

---

### Too many columns

| {header} |
|{align}|
| {cells} |
"""


def overflowing_deck(folder: Path) -> Path:
    md = folder / "over.md"
    md.write_text(
        OVERFLOWING.format(
            rows="\n".join(f"| model-{i} | {i}.0 |" for i in range(40)),
            header=" | ".join(f"Benchmark{j}" for j in range(20)),
            align="|".join("--:" for _ in range(20)),
            cells=" | ".join("88.8" for _ in range(20)),
        ),
        encoding="utf-8",
    )
    html = folder / "over.html"
    export.run_marp(md, THEME, html)
    return html


def test_checker_names_each_overflowing_slide(tmp_path, capsys):
    html = overflowing_deck(tmp_path)
    found = layout_check.overflows(html)
    assert [(o.number, o.heading) for o in found] == [(2, "Too many rows"), (3, "Too many columns")]
    rows, columns = found
    assert rows.bottom_px > 500 and rows.right_px == 0  # 40 rows of ~33 px on a 620 px slide
    assert columns.right_px > 100
    # The command a user runs (and the workflow's rule): non-zero, one line per slide, naming it.
    assert cli.main(["layout-check", str(html)]) == 1
    err = capsys.readouterr().err
    assert "2 of 3 slides overflow" in err
    assert re.search(r"slide 2 \(Too many rows\): content runs \d+ px past the bottom", err)
    assert re.search(r"slide 3 \(Too many columns\): content runs \d+ px past the right edge", err)


def test_checker_passes_a_deck_that_fits(tmp_path):
    md = tmp_path / "ok.md"
    md.write_text(OVERFLOWING.split("\n---\n\n<!--")[0] + "\n", encoding="utf-8")
    export.run_marp(md, THEME, tmp_path / "ok.html")
    assert cli.main(["layout-check", str(tmp_path / "ok.html"), "--out", str(tmp_path / "ok.txt")]) == 0
    assert "none overflows" in (tmp_path / "ok.txt").read_text(encoding="utf-8")


def test_export_fails_on_an_overflowing_slide(workflow):
    """The workflow's `export` target runs the check: an overflowing slide fails it, one line per
    slide on the console, and leaves no marker behind."""
    template = workflow["templates"] / "slides" / "abstract.md.j2"
    original = template.read_text(encoding="utf-8")
    marker = workflow["dir"] / "results" / "deck" / "bluelm.layout.txt"
    assert marker.exists()  # the session's run passed the check
    try:
        template.write_text(original + "\n" + "".join(f"- point {i}\n" for i in range(30)), encoding="utf-8")
        proc = run_snakemake(workflow["dir"], workflow["first"], "export")
        assert proc.returncode != 0
        assert re.search(r"slide 3 \(Abstract\): content runs \d+ px past the bottom", proc.stderr), proc.stderr[-3000:]
        assert not marker.exists()
    finally:
        template.write_text(original, encoding="utf-8")
        proc = run_snakemake(workflow["dir"], workflow["first"], "export")
        assert proc.returncode == 0, proc.stderr[-3000:]
