"""The paper's own tables: crops of its PDF as images for the deck (`lmdeck paper-tables`), and a
draft reported CSV read off one of its tables (`lmdeck extract-reported`).

pdfplumber reads the PDF and renders a crop through pypdfium2. A table is named by its page and
either a bbox (PDF points, x0, top, x1, bottom from the page's top-left) or, without one,
pdfplumber's own table finding: its default (ruled grid) finder, else the booktabs-style
tables that papers print (horizontal rules only), found from the page's rules. Several on a
page: the largest is taken, with a note.

Heavy imports (pdfplumber, the download helper) stay inside the functions: the deck step reads
RESOLUTION without them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lmdeck.console import notice
from lmdeck.fileio import atomic_path, write_text
from lmdeck.reported import DRAFT_COLUMN, HEADER

RESOLUTION = 200  # dpi of the crops: sharp at the deck's display size (lmdeck.deck.PAPER_TABLE_SCALE)
MAX_CROP_PIXELS = 6000  # per side: a hostile page size (a mediabox of metres) cannot exhaust memory
PAD = 2.0  # points around a table the finder found (its rules sit on the edge of the bbox)
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")


class PaperTableError(ValueError):
    """A table that cannot be cut from the PDF; the message names the PDF, page or config field."""


@contextmanager
def open_pdf(path: Path):
    import pdfplumber

    with open(path, "rb") as f:
        head = f.read(5)
    if head != b"%PDF-":
        raise PaperTableError(f"{path}: not a PDF (starts with {head!r}, expected b'%PDF-')")
    try:
        pdf = pdfplumber.open(path)
        _ = pdf.pages  # parses the page tree: a broken file fails here, not half-way through
    except PaperTableError:
        raise
    except Exception as exc:  # pdfminer's parse errors share no base class with ValueError
        raise PaperTableError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})".strip()) from None
    try:
        yield pdf
    finally:
        pdf.close()


def page_of(pdf, number: int, where: str):
    pages = len(pdf.pages)
    if not isinstance(number, int) or not 1 <= number <= pages:
        raise PaperTableError(f"{where}: page {number} is not in {pdf.stream.name} (pages 1-{pages})")
    return pdf.pages[number - 1]


def check_bbox(page, bbox, where: str) -> tuple[float, float, float, float]:
    try:
        x0, top, x1, bottom = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise PaperTableError(f"{where}: bbox must be four numbers [x0, top, x1, bottom], got {bbox!r}") from None
    if not (x0 < x1 and top < bottom):
        raise PaperTableError(f"{where}: bbox {list(bbox)} is empty (need x0 < x1 and top < bottom)")
    if x0 < 0 or top < 0 or x1 > float(page.width) or bottom > float(page.height):
        raise PaperTableError(
            f"{where}: bbox {list(bbox)} is not within page {page.page_number} "
            f"(0, 0, {float(page.width):g}, {float(page.height):g} points)"
        )
    return x0, top, x1, bottom


def ruled_tables(page) -> list[tuple[float, float, float, float]]:
    """Booktabs-style tables: runs of long horizontal rules with the same left and right ends."""
    rules = [e for e in page.horizontal_edges if e["x1"] - e["x0"] > 0.2 * float(page.width)]
    groups: dict[tuple[int, int], list[dict]] = {}
    for rule in rules:
        groups.setdefault((round(rule["x0"]), round(rule["x1"])), []).append(rule)
    out = []
    for same in groups.values():
        if len(same) >= 2:
            out.append(
                (
                    min(r["x0"] for r in same),
                    min(r["top"] for r in same),
                    max(r["x1"] for r in same),
                    max(r["bottom"] for r in same),
                )
            )
    return out


def find_table(page, where: str) -> tuple[float, float, float, float]:
    """The page's table by pdfplumber's finder (grid tables), else its ruled tables; the largest
    when there are several (a note says which), padded a little. None: an error naming the page."""
    grids = [t.bbox for t in page.find_tables() if len(t.rows) >= 2 and len(t.columns) >= 2]
    found, how = (grids, "pdfplumber's table finder") if grids else (ruled_tables(page), "the page's table rules")
    if not found:
        raise PaperTableError(f"{where}: no table found on page {page.page_number}; give its bbox")
    found = sorted(found, key=lambda b: (-(b[2] - b[0]) * (b[3] - b[1]), b[1], b[0]))  # largest, then topmost
    x0, top, x1, bottom = found[0]
    if len(found) > 1:
        notice(
            f"{where}: {len(found)} tables on page {page.page_number} (found by {how}); using the largest, "
            f"bbox [{x0:.0f}, {top:.0f}, {x1:.0f}, {bottom:.0f}]; give a bbox to pick another"
        )
    return (
        max(0.0, x0 - PAD),
        max(0.0, top - PAD),
        min(float(page.width), x1 + PAD),
        min(float(page.height), bottom + PAD),
    )


def table_bbox(pdf, table: dict, where: str) -> tuple[object, tuple[float, float, float, float]]:
    page = page_of(pdf, table.get("page"), f"{where}.page")
    if table.get("bbox") is not None:
        return page, check_bbox(page, table["bbox"], f"{where}.bbox")
    return page, find_table(page, where)


def render_crop(page, bbox: tuple[float, float, float, float], out: Path, where: str) -> Path:
    """The bbox of `page` as a PNG at RESOLUTION dpi, written atomically."""
    width, height = ((bbox[2] - bbox[0]) * RESOLUTION / 72, (bbox[3] - bbox[1]) * RESOLUTION / 72)
    if max(width, height) > MAX_CROP_PIXELS:
        raise PaperTableError(
            f"{where}: the crop would be {width:.0f} x {height:.0f} pixels (at most {MAX_CROP_PIXELS} a side); "
            "give a smaller bbox"
        )
    image = page.crop(bbox).to_image(resolution=RESOLUTION)
    with atomic_path(out) as tmp:
        image.save(tmp, format="PNG")
    return Path(out)


def render_tables(pdf_path: Path, tables: list[dict], out_dir: Path) -> list[Path]:
    """`report.paper.tables` as <out_dir>/<name>.png, one per entry, in order."""
    written = []
    with open_pdf(Path(pdf_path)) as pdf:
        for i, table in enumerate(tables):
            where = f"report.paper.tables[{i}]"
            page, bbox = table_bbox(pdf, table, where)
            written.append(render_crop(page, bbox, Path(out_dir) / f"{table['name']}.png", where))
    return written


@contextmanager
def first_available_pdf(candidates: list[str], timeout: float = 20) -> Iterator[tuple[Path | None, str]]:
    """The first local candidate that exists, else the first URL that downloads (kept for the
    block); (None, why) when none is available (missing files, no network). A URL whose server
    refuses it (404...) raises: that is a wrong config, not being offline."""
    from lmdeck.figures import Unreachable, downloaded

    urls = [c for c in candidates if c.startswith(("http://", "https://"))]
    local = [Path(c) for c in candidates if c not in urls]
    for pdf in local:
        if pdf.is_file():
            yield pdf, ""
            return
    reasons = [f"{pdf}: no such file" for pdf in local]
    for url in urls:
        try:
            with downloaded(url, timeout=timeout) as pdf:
                yield pdf, ""
                return
        except Unreachable as exc:
            reasons.append(str(exc))
    yield None, "; ".join(reasons) or "no report.paper.pdf candidates"


def render_first_available(candidates: list[str], tables: list[dict], out_dir: Path) -> str | None:
    """The crops from the first available PDF; when none is, every crop is written empty (the deck
    then drops the paper-table slides) and the reason is returned."""
    with first_available_pdf(candidates) as (pdf, why):
        if pdf is not None:
            render_tables(pdf, tables, out_dir)
            return None
    for table in tables:
        with atomic_path(Path(out_dir) / f"{table['name']}.png") as tmp:
            tmp.write_bytes(b"")
    return why


# ------------------------------------------------------------------------ the draft reported CSV


def clean_model(cell: str) -> str:
    """A model cell as printed, less its citation (`GPT-4[10]`) and footnote marks (`∗`, `*`, `†`)."""
    return re.sub(r"[∗*†‡]", "", _CITATION.sub("", cell or "")).strip()


def draft_rows(cells: list[list[str | None]], source: str) -> list[list[str]]:
    """Reported-CSV rows from an extracted table (models in rows, benchmarks in columns): the first
    row whose cells after the first are all text is the header; every number below it becomes one
    row, its score exactly as printed. Shots and metric are left for the person checking it."""
    rows = [[(c or "").strip() for c in row] for row in cells]
    header_at = next(
        (i for i, r in enumerate(rows) if len(r) >= 2 and all(c and not _NUMBER.match(c) for c in r[1:])), None
    )
    if header_at is None:
        return []
    header = rows[header_at]
    out = []
    for row in rows[header_at + 1 :]:
        model = clean_model(row[0])
        if not model:
            continue
        for benchmark, score in zip(header[1:], row[1:]):
            if _NUMBER.match(score):  # "-" (not reported) and empty cells give no row
                out.append([model, benchmark, "", "", score, source, "draft"])
    return out


def extract_reported(pdf_path: Path, page_number: int, bbox=None) -> str:
    """A draft reported CSV (lmdeck.reported's header plus the draft column) from the table on
    `page_number`, every row marked draft."""
    pdf_path = Path(pdf_path)
    with open_pdf(pdf_path) as pdf:
        page = page_of(pdf, page_number, "--page")
        box = check_bbox(page, bbox, "--bbox") if bbox is not None else find_table(page, "--page")
        cells = page.crop(box).extract_table({"vertical_strategy": "text", "horizontal_strategy": "text"}) or []
    rows = draft_rows(cells, f"{pdf_path.name} page {page_number}")
    if not rows:
        raise PaperTableError(
            f"{pdf_path} page {page_number}: no table of models and scores found "
            "(a header row of benchmark names, then rows of numbers); give --bbox"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER + [DRAFT_COLUMN])
    writer.writerows(rows)
    return buffer.getvalue()


def write_extracted(pdf_path: Path, page_number: int, out: Path | None, bbox=None) -> str:
    text = extract_reported(pdf_path, page_number, bbox)
    if out is not None:
        write_text(out, text)
    return text
