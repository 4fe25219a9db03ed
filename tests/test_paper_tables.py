"""The paper's own tables: crops of the real BlueLM report (../shared/reference, configured by the
default config, never shipped), the deck without a PDF, and `lmdeck extract-reported`'s draft CSV
as lmdeck.reported and the merge treat it."""

from __future__ import annotations

import copy
import csv
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import BIN, absolutize, default_config
from lmdeck import config as lmconfig
from lmdeck import deck, paper_tables, reported, scores, tables
from lmdeck.settings import ReportSpec

CONFIG = absolutize(default_config())
PDF = Path(CONFIG["report"]["paper"]["pdf"][0])
needs_pdf = pytest.mark.skipif(not PDF.is_file(), reason=f"the BlueLM report is not at {PDF} (not shipped)")


def lmdeck(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lmdeck"), *args], capture_output=True, text=True, cwd=cwd)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def png_pixels(path: Path):
    from PIL import Image

    with Image.open(path) as image:
        return image.size, image.convert("L").getextrema()


@needs_pdf
def test_default_config_crops_the_papers_tables(tmp_path):
    """Every configured table becomes a PNG of its bbox at RESOLUTION dpi, with ink on it; the
    deck stacks them on slides, sized to fit."""
    configured = CONFIG["report"]["paper"]["tables"]
    assert [t["name"] for t in configured] == ["Table2", "Table3", "Table9", "Table10"]
    written = paper_tables.render_tables(PDF, configured, tmp_path / "paper")
    assert [p.name for p in written] == [f"{t['name']}.png" for t in configured]
    for table, png in zip(configured, written):
        x0, top, x1, bottom = table["bbox"]
        (width, height), (darkest, lightest) = png_pixels(png)
        expected = ((x1 - x0) * paper_tables.RESOLUTION / 72, (bottom - top) * paper_tables.RESOLUTION / 72)
        assert abs(width - expected[0]) <= 2 and abs(height - expected[1]) <= 2, (png, width, height, expected)
        assert darkest < 60 and lightest > 240, png  # black text on white paper, not a blank crop

    found = deck.find_paper_tables(tmp_path, tmp_path / "slides", CONFIG["report"])
    slides = deck.paper_table_slides(found)
    assert [[t["name"] for t in slide] for slide in slides] == [["Table2", "Table3"], ["Table9", "Table10"]]
    for slide in slides:
        room = deck.PAPER_TABLES_ROOM[1]
        assert sum(t["height"] + deck.PAPER_TABLE_CAPTION for t in slide) <= room
        assert all(t["image"] == f"![{t['name']} h:{t['height']}](../paper/{t['name']}.png)" for t in slide)


@needs_pdf
def test_without_a_bbox_the_largest_table_on_the_page_is_taken(tmp_path, capfd):
    """Page 7 holds Table 2 and Table 3: the larger (Table 3, its rules at x 128-484) is cut, and
    a note says there were two."""
    paper_tables.render_tables(PDF, [{"name": "auto", "page": 7}], tmp_path)
    assert "report.paper.tables[0]: 2 tables on page 7" in capfd.readouterr().err
    (width, height), _ = png_pixels(tmp_path / "auto.png")
    points = width * 72 / paper_tables.RESOLUTION, height * 72 / paper_tables.RESOLUTION
    assert abs(points[0] - (484.3 - 127.7 + 2 * paper_tables.PAD)) < 2, points
    assert abs(points[1] - (262.2 - 169.9 + 2 * paper_tables.PAD)) < 3, points


def test_no_pdf_leaves_the_crops_empty_with_a_note(tmp_path):
    tables_json = json.dumps([{"name": "Table3", "page": 7}])
    proc = lmdeck(
        "paper-tables",
        "--first-of",
        str(tmp_path / "absent.pdf"),
        "--tables",
        tables_json,
        "--out-dir",
        "paper",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "lmdeck paper-tables: no paper PDF" in proc.stderr and "absent.pdf: no such file" in proc.stderr
    assert (tmp_path / "paper" / "Table3.png").stat().st_size == 0
    # An empty crop is "not available": the deck then has no paper-table slides.
    assert deck.find_paper_tables(tmp_path, tmp_path, {"paper": {"tables": [{"name": "Table3", "page": 7}]}}) == []


def test_deck_without_crops_drops_the_section_with_a_note(capfd):
    report = {
        **copy.deepcopy(CONFIG["report"]),
        "sections": ["title", "paper_tables", "references"],
        "references": ["[1] A."],
    }
    data = {"provenance": {}, "examples": []}
    md = deck.render(report, data, {}, paper_tables=[])
    assert "lmdeck deck: section 'paper_tables' left out" in capfd.readouterr().err
    assert "Results as reported in the paper" not in md
    assert md.count(deck.SLIDE_BREAK) == 1  # title, references: no empty slide between them


@pytest.mark.parametrize(
    ("tables_entry", "message"),
    [
        ({"name": "T", "page": 99}, "report.paper.tables[0].page: page 99 is not in"),
        (
            {"name": "T", "page": 7, "bbox": [0, 0, 900, 100]},
            "report.paper.tables[0].bbox: bbox [0, 0, 900, 100] is not within page 7",
        ),
        ({"name": "T", "page": 2}, "report.paper.tables[0]: no table found on page 2; give its bbox"),
    ],
)
@needs_pdf
def test_a_bad_table_entry_is_a_one_line_error(tmp_path, tables_entry, message):
    proc = lmdeck(
        "paper-tables", "--first-of", str(PDF), "--tables", json.dumps([tables_entry]), "--out-dir", str(tmp_path)
    )
    assert message in one_line_error(proc)
    assert not (tmp_path / "T.png").exists()


def test_a_hostile_pdf_is_a_one_line_error(tmp_path):
    """A file that only starts like a PDF, and a real PDF with a page of metres: errors, not a crash
    or a crop that fills the memory."""
    from matplotlib.figure import Figure

    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert "broken.pdf: not a readable PDF" in one_line_error(lmdeck("extract-reported", str(broken), "--page", "1"))
    huge = tmp_path / "huge.pdf"
    Figure(figsize=(150, 150)).savefig(huge)  # 10800 points a side
    line = one_line_error(lmdeck("extract-reported", str(huge), "--page", "2"))
    assert "--page: page 2 is not in" in line and "(pages 1-1)" in line
    tables_json = json.dumps([{"name": "T", "page": 1, "bbox": [0, 0, 10000, 10000]}])
    line = one_line_error(
        lmdeck("paper-tables", "--first-of", str(huge), "--tables", tables_json, "--out-dir", str(tmp_path))
    )
    assert "report.paper.tables[0]: the crop would be" in line and "give a smaller bbox" in line


# ------------------------------------------------------------------------------ extract-reported


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    if not PDF.is_file():
        pytest.skip(f"the BlueLM report is not at {PDF} (not shipped)")
    out = tmp_path_factory.mktemp("extract") / "table3.csv"
    proc = lmdeck("extract-reported", str(PDF), "--page", "7", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "each marked draft" in proc.stderr
    return out


def test_extract_reported_reads_table_3_as_printed(extracted):
    with open(extracted, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == reported.HEADER + [reported.DRAFT_COLUMN]
    assert all(r["draft"] == "draft" and r["source"] == "BlueLM_technical_report.pdf page 7" for r in rows)
    cells = {(r["model"], r["benchmark"]): r["score"] for r in rows}
    # The paper's Table 3, exactly as printed ("57.0" keeps its zero); "-" cells are not reported.
    assert cells[("GPT-4", "MMLU")] == "86.4"
    assert cells[("Baichuan2-7B", "CMMLU")] == "57.0"
    assert cells[("BlueLM-7B", "AGIEval")] == "43.4"
    assert ("ChatGLM2-6B(base)", "C-Eval") in cells and ("ChatGLM2-6B(base)", "CMMLU") not in cells
    assert len(rows) == 6 * 5 - 3


def config_with(extracted: Path, **entry) -> dict:
    """The merge's spec (lmdeck.settings.ReportSpec) of the default config with `extracted` as its CSV."""
    config = copy.deepcopy(CONFIG)
    config["models"] = [{**config["models"][0], "reported_as": "BlueLM-7B"}]
    config["reported"] = [{"file": str(extracted), "table": "base", **entry}]
    lmconfig.validate(config)  # fills the schema's defaults in
    return ReportSpec.from_dict(ReportSpec.of(config))


def test_draft_rows_are_refused_without_allow_draft(extracted):
    with pytest.raises(reported.ReportedError) as err:
        reported.check(config_with(extracted))
    assert str(err.value).startswith(f"{extracted} line 2: GPT-4 × MMLU is marked draft")
    assert "reported[0].allow_draft: true" in str(err.value)
    with pytest.raises(scores.ScoresError, match="line 2: GPT-4 × MMLU is marked draft"):
        scores.read_reported(config_with(extracted))  # the merge refuses it too


def test_allow_draft_accepts_them_and_the_deck_marks_them(extracted):
    config = config_with(extracted, allow_draft=True)
    rows = reported.check(config)
    assert rows and all(r.draft for r in rows)
    frame = pd.DataFrame(scores.read_reported(config), columns=scores.COLUMNS)
    pivot = tables.score_pivot(frame, config, "base")
    assert "GPT-4 (draft)" in pivot.index and "BlueLM-7B (draft)" in pivot.index
    # Once a person has checked the numbers and cleared the draft cells, they are plain reported rows.
    header, *lines = extracted.read_text(encoding="utf-8").splitlines()
    text = "\n".join([header] + [line.removesuffix(",draft") + "," for line in lines]) + "\n"
    checked = extracted.with_name("checked.csv")
    checked.write_text(text, encoding="utf-8")
    rows = reported.check(config_with(checked))
    assert rows and not any(r.draft for r in rows)
