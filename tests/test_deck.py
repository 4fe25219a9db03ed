"""The research-report deck: sections in the seed's order, real tables, deltas, export, escaping."""

import copy
import re
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import BIN, ROOT, jobs_run, report_spec, run_snakemake
from lmdeck import deck, export, scores
from lmdeck.markdown import escape
from lmdeck.settings import ReportSpec

SEED_SECTIONS = [
    "调研报告",
    "Abstract",
    "Pretrain",
    "Evaluation",
    "Benchmarks",
    "Benchmarks: Exams",
    "Benchmarks: Math",
    "Baselines",
    "Results",
    "References",
]
BENCHMARKS = ["MMLU", "C-Eval", "CMMLU", "Gaokao", "AGIEval", "GSM8K", "MATH", "HumanEval", "BBH"]
BLUELM_BASE = ["55.2", "67.5", "66.6", "58.9", "43.4", "27.2", "6.2", "18.3", "41.7"]


def slides_of(markdown: str) -> list[str]:
    body = markdown.split("\n---\n", 1)[1]  # after the front matter
    return re.split(r"\n\n---\n\n", body)


def headings(markdown: str) -> list[str]:
    return [m.group(2).strip() for m in re.finditer(r"^(#{1,3}) (.+)$", markdown, flags=re.M)]


@pytest.fixture(scope="module")
def deck_md(workflow):
    return (workflow["dir"] / "slides" / "bluelm.md").read_text(encoding="utf-8")


def test_seed_sections_in_order(deck_md):
    found = headings(deck_md)
    positions = []
    for title in SEED_SECTIONS:
        hits = [i for i, h in enumerate(found) if h.startswith(title)]
        assert hits, f"missing section {title!r}"
        positions.append(hits[0])
    assert positions == sorted(positions), list(zip(SEED_SECTIONS, positions))
    assert deck_md.startswith("---\nmarp: true\n")


def table_row(slide: str, label: str) -> dict[str, str]:
    lines = [line for line in slide.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    row = next(line for line in lines if line.startswith(f"| {label}"))
    return dict(zip(header, (c.strip().strip("*") for c in row.strip("|").split("|"))))


def test_base_table_has_reported_and_measured_rows(deck_md, workflow):
    base = next(s for s in slides_of(deck_md) if "Results: base models" in s)
    bluelm = table_row(base, "BlueLM-7B-Base")
    for bench in workflow["first"]["benchmarks"]:
        assert bluelm[bench["name"]] == BLUELM_BASE[BENCHMARKS.index(bench["name"])], bench["name"]
    assert "Demo LLaMA-style (measured)" in base and "Demo Qwen2-style (measured)" in base
    assert "–" in base  # ChatGLM2-6B-Base has missing cells, shown as a dash


def test_delta_equals_measured_minus_reported(deck_md):
    slides = [s for s in slides_of(deck_md) if "Reported vs. reproduced" in s]
    rows = 0
    for slide in slides:
        for line in slide.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            # Benchmark | Reported | Measured | 95 % CI | Delta | Verdict
            if len(cells) == 6 and re.fullmatch(r"-?\d+\.\d", cells[4] or ""):
                reported, measured, delta = (float(cells[i]) for i in (1, 2, 4))
                assert abs(measured - reported - delta) <= 0.051 + 1e-9, line
                assert cells[5].startswith("not comparable (stand-in model"), line  # the demo's random-init models
                rows += 1
    assert rows == 2 * 8  # two demo models x the 8 benchmarks of the first run


def test_benchmark_slides_come_from_the_config(deck_md, workflow):
    for bench in workflow["first"]["benchmarks"]:
        assert f"**{bench['name']}**" in deck_md
        assert f"{bench['shots']}\\-shot" in deck_md or f"{bench['shots']}-shot" in deck_md


def test_attachments_written(workflow):
    att = workflow["dir"] / "attachments" / "BLUELM"
    for name in ("Preview.png", "Table1.png", "Table2.png", "Table3.png"):
        assert (att / name).stat().st_size > 1000, name
    # The chat table (reported chat models) gets charts of its own.
    assert sorted(p.name for p in (att / "charts").glob("*.png")) == [
        "chart_coding.png",
        "chart_coding_chat.png",
        "chart_exams.png",
        "chart_exams_chat.png",
        "chart_math.png",
        "chart_math_chat.png",
    ]


def test_marp_export_html_pdf_png(workflow, deck_md):
    if export.find_browser() is None:
        pytest.skip("no Chromium/Chrome found for marp-cli")
    slides = workflow["dir"] / "slides"
    n_slides = len(slides_of(deck_md))
    info = subprocess.run(["pdfinfo", str(slides / "bluelm.pdf")], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))
    assert pages == n_slides
    assert len(list((slides / "bluelm-png").glob("bluelm.*.png"))) == n_slides
    html = (slides / "bluelm.html").read_text(encoding="utf-8")
    assert "调研报告" in html and "<script>alert" not in html


def hostile_frame() -> tuple[pd.DataFrame, ReportSpec]:
    spec = report_spec(
        [{"name": "m1", "display_name": "a|b <b>x</b>", "kind": "base"}],
        [
            {
                "name": "B1",
                "category": "exams",
                "format": "mmlu",
                "shots": 0,
                "metric": "acc",
                "harness": "lm-eval",
                "description": "<script>alert(1)</script> `code` {{ 7*7 }} [x](javascript:alert(1))",
                "reference": "",
            }
        ],
    )
    row = {c: None for c in scores.COLUMNS}
    row.update(
        model="m1",
        benchmark="B1",
        subtask="all",
        harness="lm-eval",
        metric="acc",
        shots=0,
        score=50.0,
        stderr=1.0,
        n=10,
        source="measured",
        started="2026-01-01T00:00:00+00:00",
        category="exams",
        table="base",
        model_sha256="abc",
        data_sha256="def",
    )
    return pd.DataFrame([row], columns=scores.COLUMNS), ReportSpec.from_dict(spec)


def test_user_text_is_escaped(tmp_path):
    frame, spec = hostile_frame()
    report = {
        "name": "x",
        "title": "T <i>t</i>",
        "sections": ["title", "benchmarks", "results"],
        "paper": {"url": "https://example.org/a(b)"},
    }
    md = deck.render_scores(report, spec, frame, {}, tmp_path)
    assert "a\\|b &lt;b&gt;x&lt;/b&gt; (measured)" in md
    assert "<script>" not in md and "<b>" not in md and "<i>" not in md
    assert "49" not in md.replace("50.0", "")  # {{ 7*7 }} is text, never evaluated
    assert "\\[x\\](javascript:alert(1))" in md
    assert "(https://example.org/a%28b%29)" in md


def test_hostile_deck_exports_without_active_content(tmp_path):
    if export.find_browser() is None:
        pytest.skip("no Chromium/Chrome found for marp-cli")
    frame, spec = hostile_frame()
    report = {"name": "x", "title": "T", "sections": ["benchmarks", "results"]}
    md_path = tmp_path / "x.md"
    md_path.write_text(deck.render_scores(report, spec, frame, {}, tmp_path), encoding="utf-8")
    export.run_marp(md_path, ROOT / "templates" / "lmdeck.css", tmp_path / "x.html")
    html = (tmp_path / "x.html").read_text(encoding="utf-8")
    body = html.split("<body", 1)[1]
    assert "<script>alert" not in body and 'href="javascript:' not in body and "<b>x</b>" not in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body


def test_unknown_section_names_the_field(tmp_path):
    frame, spec = hostile_frame()
    with pytest.raises(deck.DeckError, match="report.sections.*nope"):
        deck.render_scores({"name": "x", "title": "T", "sections": ["nope"]}, spec, frame, {}, tmp_path)


def test_template_edit_rerenders_without_harness_jobs(workflow):
    template = workflow["templates"] / "slides" / "abstract.md.j2"
    template.write_text(template.read_text(encoding="utf-8") + "\nEdited for the test.\n", encoding="utf-8")
    proc = run_snakemake(workflow["dir"], workflow["first"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = set(jobs_run(proc))
    # Templating only: the deck data (tables, provenance) and the exports (`export` target) stay.
    assert ran == {"deck", "all"}, ran
    assert "Edited for the test." in (workflow["dir"] / "slides" / "bluelm.md").read_text(encoding="utf-8")


def test_deck_step_is_templating_only(workflow, tmp_path):
    """The deck step reads the deck data JSON, never the scores, and imports no pandas: that is
    what keeps a template edit's re-render at a couple of seconds."""
    import json
    import sys

    data = workflow["dir"] / "results" / "deck" / "bluelm.json"
    tables = json.loads(data.read_text(encoding="utf-8"))
    assert "| Model" in tables["base_table"] and tables["provenance"]["jobs"]
    out = tmp_path / "slides" / "bluelm.md"
    code = (
        "import sys; from lmdeck.cli import main; rc = main(sys.argv[1:]); "
        "assert 'pandas' not in sys.modules, 'the deck step imported pandas'; sys.exit(rc)"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "deck",
            "--data",
            str(data),
            "--report",
            json.dumps(workflow["config"]["report"]),
            "--attachments",
            str(workflow["dir"] / "attachments" / "BLUELM"),
            "--templates",
            str(workflow["templates"]),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "调研报告" in out.read_text(encoding="utf-8")


def test_second_report_needs_only_a_config(tmp_path):
    """config/chat-comparison.yaml: other paper text, a chat model, other benchmarks, same templates."""
    import yaml

    from conftest import absolutize

    config = absolutize(yaml.safe_load((ROOT / "config" / "chat-comparison.yaml").read_text(encoding="utf-8")))
    proc = run_snakemake(tmp_path, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = (tmp_path / "slides" / "chatcmp.md").read_text(encoding="utf-8")
    assert "# Chat models at a glance" in md
    assert "Demo GPT\\-NeoX chat (measured)" in md or "Demo GPT-NeoX chat (measured)" in md
    assert "Pretrain" not in md and "vivolm" not in md  # nothing of the BlueLM report leaks in
    chat = pd.read_csv(tmp_path / "results" / "tables" / "chat.csv")
    assert list(chat.columns) == ["Model", "CMMLU", "GSM8K", "BBH", "Average"]


def test_snakemake_report_registers_figures_and_tables(workflow):
    proc = run_snakemake(workflow["dir"], workflow["first"], "--report", "report.html")
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = (workflow["dir"] / "report.html").read_text(encoding="utf-8", errors="replace")
    for name in ("scores.csv", "Table2.png", "Preview.png", "chart_exams.png"):
        assert name in html, name


def test_offline_paper_url_leaves_the_deck_without_preview(workflow, tmp_path):
    """Offline: the parse does not probe the URL (the preview job is planned); the job finds no
    candidate, leaves Preview.png empty with a console note, and the run goes on to a deck
    without the preview. The next parse says so; nothing reruns."""
    work = tmp_path / "run"
    shutil.copytree(workflow["dir"], work, symlinks=True)  # metadata and mtimes kept
    config = copy.deepcopy(workflow["first"])
    config["report"]["paper"]["pdf"] = [str(tmp_path / "absent.pdf"), "https://lmdeck-offline-check.invalid/paper.pdf"]
    proc = run_snakemake(work, config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert {"preview", "deck"} <= set(jobs_run(proc)), jobs_run(proc)
    assert "lmdeck preview: no paper preview" in output and "lmdeck-offline-check.invalid" in output
    # The paper's table crops: left empty with a note, their slides dropped with a note; the deck builds.
    assert "lmdeck paper-tables: no paper PDF" in output and "section 'paper_tables' left out" in output
    assert (work / "attachments" / "BLUELM" / "paper" / "Table3.png").stat().st_size == 0
    assert "Results as reported in the paper" not in (work / "slides" / "bluelm.md").read_text(encoding="utf-8")
    assert (work / "attachments" / "BLUELM" / "Preview.png").stat().st_size == 0
    assert "Preview.png" in (workflow["dir"] / "slides" / "bluelm.md").read_text(encoding="utf-8")
    assert "Preview.png" not in (work / "slides" / "bluelm.md").read_text(encoding="utf-8")
    again = run_snakemake(work, config)
    assert again.returncode == 0 and jobs_run(again) == [], again.stderr[-3000:]
    assert "Preview.png is empty" in again.stdout + again.stderr


@pytest.fixture
def pdf_server(tmp_path):
    """A local web server with one small PDF (made with matplotlib) and nothing else."""
    import functools
    import http.server
    import threading

    from matplotlib.figure import Figure

    site = tmp_path / "site"
    site.mkdir()
    figure = Figure(figsize=(4, 5))
    figure.text(0.1, 0.8, "A paper's first page", fontsize=14)
    figure.savefig(site / "paper.pdf")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_paper_url_is_downloaded_for_the_preview(tmp_path, pdf_server):
    from conftest import absolutize, default_config

    config = absolutize(default_config())
    config["report"]["paper"]["pdf"] = [str(tmp_path / "absent.pdf"), f"{pdf_server}/paper.pdf"]
    proc = run_snakemake(tmp_path / "run", config, f"attachments/{config['report']['name'].upper()}/Preview.png")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert jobs_run(proc) == ["preview"]
    png = tmp_path / "run" / "attachments" / "BLUELM" / "Preview.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000


@pytest.mark.parametrize("option", ["--url", "--first-of"])
def test_paper_url_that_fails_names_the_url(tmp_path, pdf_server, option):
    """A server that answers 404 is a wrong URL, not being offline: the step fails."""
    proc = subprocess.run(
        [str(BIN / "lmdeck"), "preview", option, f"{pdf_server}/missing.pdf", "--out", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert f"{pdf_server}/missing.pdf: download failed: HTTP Error 404" in proc.stderr
    assert not (tmp_path / "p.png").exists()


def test_paper_tables_and_examples_slides(deck_md, workflow):
    """The default config's paper tables (cropped from ../shared/reference, as the config names
    it) and one example per benchmark, taken from the run's per-item records."""
    if not (ROOT.parent / "shared" / "reference" / "BlueLM_technical_report.pdf").is_file():
        pytest.skip("the BlueLM report is not in ../shared/reference (not shipped)")
    paper = [s for s in slides_of(deck_md) if "### Results as reported in the paper" in s]
    shown = re.findall(r"!\[(\w+) h:(\d+)\]\(\.\./attachments/BLUELM/paper/(\w+)\.png\)", "\n".join(paper))
    assert [name for name, _, _ in shown] == ["Table2", "Table3", "Table9", "Table10"]
    assert all(int(h) <= deck.PAPER_TABLES_ROOM[1] for _, h, _ in shown)
    for name, _, _ in shown:
        assert (workflow["dir"] / "attachments" / "BLUELM" / "paper" / f"{name}.png").stat().st_size > 1000

    samples = pd.read_parquet(workflow["dir"] / "results" / "samples.parquet")
    examples = {s.split("### Example: ", 1)[1].split("\n", 1)[0]: s for s in slides_of(deck_md) if "### Example: " in s}
    assert list(examples) == [b for b in BENCHMARKS if b != "BBH"]  # the first run's, in category order
    for bench, slide in examples.items():
        first_harness = next(b["harness"] for b in workflow["first"]["benchmarks"] if b["name"] == bench)
        first_harness = first_harness if isinstance(first_harness, str) else first_harness[0]
        rows = samples[(samples["benchmark"] == bench) & (samples["harness"] == first_harness)]
        item = rows.sort_values(["subtask", "item_id"]).iloc[0]  # both models have every item here
        assert f"item {escape(item['item_id'])}" in slide, bench
        # The question end of the prompt as the harness built it, verbatim in the code block.
        last_line = item["prompt"].rstrip("\n").rsplit("\n", 1)[-1]
        code = slide.split("```text\n", 1)[1].split("\n```", 1)[0]
        assert code.endswith(last_line), (bench, code[-200:], last_line)
        assert "| Demo LLaMA-style |" in slide and "| Demo Qwen2-style |" in slide
