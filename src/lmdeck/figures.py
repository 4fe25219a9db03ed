"""Images for the deck: paper-style table PNGs, per-category bar charts and a PDF's first page.

Everything is drawn with matplotlib's Agg canvas on a private Figure (no pyplot state), with a
CJK-capable fallback font so Chinese model names render, and written atomically. The PNGs carry
no software/time metadata, so the same input gives byte-identical files.
"""

from __future__ import annotations

import http.client
import math
import numbers
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.font_manager as font_manager  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from lmdeck import messages  # noqa: E402
from lmdeck.fileio import atomic_path  # noqa: E402
from lmdeck.markdown import MISSING, score_text  # noqa: E402  (the tables' dash: missing is never 0)
from lmdeck.messages import t  # noqa: E402

DPI = 150
FONT_SIZE = 11.0
TITLE_SIZE = 13.0
NOTE_SIZE = 9.5
LATIN_FONT = "DejaVu Sans"
CJK_PREFERENCE = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK HK", "Noto Sans CJK KR"]
PNG_METADATA = {"Software": None}

HEADER_FILL = "#e6ebf2"
STRIPE_FILL = "#f6f7f9"
RULE_COLOR = "#333333"
TEXT_COLOR = "#111111"
NOTE_COLOR = "#444444"

# Table geometry, in inches.
CELL_PAD_X = 0.14
ROW_HEIGHT = 0.31
MARGIN = 0.14
MIN_NOTE_WIDTH = 6.0


# --------------------------------------------------------------------------------------- fonts


def find_cjk_font() -> str | None:
    """Family name of an installed CJK sans font (Noto Sans CJK SC preferred), or None."""
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_PREFERENCE:
        if name in names:
            return name
    for pattern in ("Noto Sans CJK", "Sans CJK", "CJK"):
        found = sorted(n for n in names if pattern in n and "Mono" not in n)
        if found:
            return found[0]
    return None


def configure_fonts() -> list[str]:
    """Latin glyphs from DejaVu Sans, everything else (Chinese) from Noto Sans CJK via
    matplotlib's per-glyph font fallback (matplotlib >= 3.6), and no mathtext or TeX: every
    string is drawn literally. Returns the family list."""
    families = [LATIN_FONT]
    cjk = find_cjk_font()
    if cjk:
        families.append(cjk)
    elif messages.current() in messages.CJK_LANGUAGES:  # every label would be a row of empty boxes
        raise RuntimeError(
            f"report.language {messages.current()}: no CJK font for the charts (matplotlib finds no "
            "Noto Sans CJK); install one (apt-get install fonts-noto-cjk) and remove matplotlib's font cache"
        )
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["axes.unicode_minus"] = True
    # Labels are user text (model names, table cells): `$`, `^`, `_` are drawn as written, never as TeX.
    matplotlib.rcParams["text.parse_math"] = False
    matplotlib.rcParams["text.usetex"] = False
    return families


# ------------------------------------------------------------------------------- table helpers


def is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isnan(value)


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not is_missing(value)


def cell_text(value) -> str:
    """How one cell reads: floats with one decimal, integers as is, strings untouched, missing as '–'."""
    if is_missing(value):
        return MISSING
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if is_number(value):
        text = f"{float(value):.1f}"
        return "0.0" if text == "-0.0" else text
    return str(value)


def _is_numeric_column(column: pd.Series) -> bool:
    present = [v for v in column.tolist() if not is_missing(v)]
    return bool(present) and all(is_number(v) for v in present)


def _numbers_only(column: pd.Series) -> bool:
    """Every present cell is a number (true for an all-missing column, e.g. an empty Average)."""
    return all(is_number(v) for v in column.tolist() if not is_missing(v))


def numeric_columns(table: pd.DataFrame) -> list:
    """Columns whose present cells are all numbers (and that have at least one)."""
    return [col for j, col in enumerate(table.columns) if _is_numeric_column(table.iloc[:, j])]


def best_mask(table: pd.DataFrame) -> pd.DataFrame:
    """True where a cell holds its column's best (highest) value, compared as displayed (one
    decimal), so ties on screen are all bold. Non-numeric columns are never bold."""
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    for j in range(table.shape[1]):
        column = table.iloc[:, j]
        if not _is_numeric_column(column):
            continue
        shown = [round(float(v), 1) if is_number(v) else None for v in column.tolist()]
        if sum(v is not None for v in shown) < 2:
            continue  # a single value is not "best" of anything
        best = max(v for v in shown if v is not None)
        for i, v in enumerate(shown):
            mask.iat[i, j] = v is not None and v == best
    return mask


NUMBER_LIKE = re.compile(r"^[-+−]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?\s*[%×x]?$")


def _number_like(column: pd.Series) -> bool:
    present = [v for v in column.tolist() if not is_missing(v)]
    return bool(present) and all(
        is_number(v) or (isinstance(v, str) and any(ch.isdigit() for ch in v) and NUMBER_LIKE.match(v.strip()))
        for v in present
    )


def bold_cells(table: pd.DataFrame, bold_best: bool | None = None) -> pd.DataFrame:
    """Which cells render bold: the best per column for a score table (every column numeric, or
    `bold_best=True`); nothing for a general/string table or with `bold_best=False`."""
    if bold_best is None:
        columns = [table.iloc[:, j] for j in range(table.shape[1])]
        bold_best = any(map(_is_numeric_column, columns)) and all(map(_numbers_only, columns))
    if not bold_best:
        return pd.DataFrame(False, index=table.index, columns=table.columns)
    return best_mask(table)


def _has_label_column(table: pd.DataFrame) -> bool:
    """The index is shown as the first column unless it is an unnamed 0..n-1 range."""
    return not (isinstance(table.index, pd.RangeIndex) and table.index.name is None)


def _text_width(fig: Figure, renderer, text: str, size: float, weight: str = "normal") -> float:
    """Rendered width of `text` in inches (with the font fallback in effect)."""
    if not text:
        return 0.0
    artist = fig.text(0, 0, text, fontsize=size, fontweight=weight)
    width = artist.get_window_extent(renderer).width / fig.dpi
    artist.remove()
    return width


def _wrap_to_width(fig: Figure, renderer, text: str, size: float, width: float) -> list[str]:
    """Greedy word wrap of the footnote (prose, not data) to the table's width."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            candidate = f"{line} {word}" if line else word
            if line and _text_width(fig, renderer, candidate, size) > width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


# ----------------------------------------------------------------------------------- the table


def render_table_png(
    pivot: pd.DataFrame,
    out: Path,
    title: str = "",
    note: str = "",
    *,
    bold_best: bool | None = None,
    bold: pd.DataFrame | None = None,
) -> Path:
    """A paper-style table: shaded header, booktabs rules, one decimal, best per column in bold,
    missing as '–'. The figure is sized to its content (11 pt at 150 dpi), nothing is shortened.

    `bold_best`: None (default) bolds only when every column is numeric (a score table); a string
    table (a data mix, say) is shown as is. `bold`: which cells are bold, given (a results
    table's tied-best groups, lmdeck.tables.bold_mask) instead of the best per column.
    """
    configure_fonts()
    out = Path(out)
    table = pivot
    label_col = _has_label_column(table)
    numeric = [_numbers_only(table.iloc[:, j]) for j in range(table.shape[1])]
    bold = (
        bold_cells(table, bold_best)
        if bold is None
        else bold.reindex(table.index, columns=table.columns, fill_value=False)
    )
    bold_best = bool(bold.to_numpy().any())

    headers = ([str(table.index.name or "")] if label_col else []) + [str(c) for c in table.columns]
    rows = []
    for i, (label, row) in enumerate(table.iterrows()):
        cells = [(str(label), False)] if label_col else []
        cells += [(cell_text(v), bool(bold.iat[i, j])) for j, v in enumerate(row.tolist())]
        rows.append(cells)
    # Numbers (and number-like strings such as "1,200" or "46.2%") are right-aligned.
    kinds = (["label"] if label_col else []) + [
        "number" if numeric[j] or _number_like(table.iloc[:, j]) else "text" for j in range(table.shape[1])
    ]

    fig = Figure(dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()

    # Column widths: widest of header (bold) and cells; numbers measured bold so bolding never shifts.
    col_widths, num_widths = [], []
    for k, kind in enumerate(kinds):
        header_w = _text_width(fig, renderer, headers[k], FONT_SIZE, "bold")
        cell_ws = [
            _text_width(fig, renderer, r[k][0], FONT_SIZE, "bold" if bold_best or r[k][1] else "normal") for r in rows
        ]
        widest_cell = max(cell_ws, default=0.0)
        num_widths.append(widest_cell)
        col_widths.append(max(header_w, widest_cell, 0.3) + 2 * CELL_PAD_X)
    table_w = sum(col_widths)

    title_w = _text_width(fig, renderer, title, TITLE_SIZE, "bold")
    note_lines: list[str] = []
    if note:
        note_lines = _wrap_to_width(fig, renderer, note, NOTE_SIZE, max(table_w, title_w, MIN_NOTE_WIDTH))
    note_w = max((_text_width(fig, renderer, line, NOTE_SIZE) for line in note_lines), default=0.0)
    content_w = max(table_w, title_w, note_w)

    title_h = TITLE_SIZE / 72 * 1.9 if title else 0.0
    note_line_h = NOTE_SIZE / 72 * 1.45
    note_h = (0.08 + note_line_h * len(note_lines)) if note_lines else 0.0
    table_h = ROW_HEIGHT * (len(rows) + 1)
    width = content_w + 2 * MARGIN
    height = MARGIN + title_h + table_h + note_h + MARGIN
    fig.set_size_inches(width, height)

    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)  # inches, y downwards
    ax.axis("off")

    x0 = MARGIN
    y = MARGIN
    if title:
        ax.text(
            x0,
            y + title_h * 0.45,
            title,
            fontsize=TITLE_SIZE,
            fontweight="bold",
            color=TEXT_COLOR,
            ha="left",
            va="center_baseline",
        )
        y += title_h
    top = y

    # Fills first, rules and text on top.
    ax.add_patch(Rectangle((x0, top), table_w, ROW_HEIGHT, facecolor=HEADER_FILL, edgecolor="none", zorder=1))
    for i in range(len(rows)):
        if i % 2 == 1:
            ax.add_patch(
                Rectangle(
                    (x0, top + ROW_HEIGHT * (i + 1)),
                    table_w,
                    ROW_HEIGHT,
                    facecolor=STRIPE_FILL,
                    edgecolor="none",
                    zorder=1,
                )
            )
    bottom = top + table_h
    ax.plot([x0, x0 + table_w], [top, top], color=RULE_COLOR, lw=1.4, zorder=3, solid_capstyle="butt")
    ax.plot([x0, x0 + table_w], [top + ROW_HEIGHT] * 2, color=RULE_COLOR, lw=0.8, zorder=3, solid_capstyle="butt")
    ax.plot([x0, x0 + table_w], [bottom, bottom], color=RULE_COLOR, lw=1.4, zorder=3, solid_capstyle="butt")

    def place(k: int, text: str, weight: str, y_mid: float, header: bool) -> None:
        left = x0 + sum(col_widths[:k])
        kind = kinds[k]
        if kind == "number":
            if header:
                x, ha = left + col_widths[k] / 2, "center"
            else:  # right-aligned so decimals line up, the block centred under its header
                x, ha = left + col_widths[k] / 2 + num_widths[k] / 2, "right"
        else:
            x, ha = left + CELL_PAD_X, "left"
        ax.text(
            x,
            y_mid,
            text,
            fontsize=FONT_SIZE,
            fontweight=weight,
            color=TEXT_COLOR,
            ha=ha,
            va="center_baseline",
            zorder=4,
        )

    for k, head in enumerate(headers):
        place(k, head, "bold", top + ROW_HEIGHT / 2, header=True)
    for i, cells in enumerate(rows):
        y_mid = top + ROW_HEIGHT * (i + 1.5)
        for k, (text, is_bold) in enumerate(cells):
            place(k, text, "bold" if is_bold else "normal", y_mid, header=False)

    if note_lines:
        y = bottom + 0.08
        for line in note_lines:
            ax.text(
                x0, y + note_line_h / 2, line, fontsize=NOTE_SIZE, color=NOTE_COLOR, ha="left", va="center_baseline"
            )
            y += note_line_h

    _save(fig, out)
    return out


def _save(fig: Figure, out: Path) -> None:
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata=PNG_METADATA)


# ---------------------------------------------------------------------------------- the charts


def _lighten(color, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return (1 - amount * (1 - r), 1 - amount * (1 - g), 1 - amount * (1 - b))


def _labelled(scores: pd.DataFrame) -> pd.DataFrame:
    if "label" in scores.columns:
        return scores
    labels = [
        t("labels.measured", name=m) if s == "measured" else str(m) for m, s in zip(scores["model"], scores["source"])
    ]
    return scores.assign(label=labels)


def render_category_charts(
    scores: pd.DataFrame, categories: dict[str, list[str]], out_dir: Path, models: list[str], table: str = "base"
) -> dict[str, Path]:
    """Grouped bars per category: x = its benchmarks, one bar per label in `models` order;
    `chart_<category>.png`, for the chat table `chart_<category>_chat.png`.

    `scores`: tidy headline rows (model, benchmark, score, source, label); without a `label` column
    one is made as "model (measured)" / "model". Reported bars are solid, measured bars hatched;
    a missing value gets no bar and a small '–' at the base. Returns {category: png} for the
    categories with at least one value.
    """
    configure_fonts()
    out_dir = Path(out_dir)
    frame = _labelled(scores)
    frame = frame[frame["label"].isin(models)].drop_duplicates(["label", "benchmark"], keep="first")
    value = {(r.label, r.benchmark): r.score for r in frame.itertuples(index=False)}
    # Bar labels as the tables print them: a reported score as its source printed it.
    printed = frame["score_printed"] if "score_printed" in frame else pd.Series(None, index=frame.index)
    text = {(r.label, r.benchmark): score_text(r.score, p) for r, p in zip(frame.itertuples(index=False), printed)}
    # Measured bars carry their 95 % interval (scores.csv ci_low/ci_high) as an error bar.
    interval = {}
    if {"ci_low", "ci_high"} <= set(frame.columns):
        interval = {
            (r.label, r.benchmark): (r.ci_low, r.ci_high)
            for r in frame.itertuples(index=False)
            if not is_missing(r.ci_low) and not is_missing(r.ci_high)
        }
    source = {}
    for r in frame.itertuples(index=False):
        source.setdefault(r.label, r.source)
    # Up to 10 models tab10, beyond that tab20: a colour never stands for two models (up to 20).
    colors = matplotlib.colormaps["tab10" if len(models) <= 10 else "tab20"].colors

    written: dict[str, Path] = {}
    for category, benches in categories.items():
        benches = list(benches)
        grid = [[value.get((label, b), math.nan) for b in benches] for label in models]
        grid = [[math.nan if is_missing(v) else float(v) for v in row] for row in grid]
        if not benches or not models or all(math.isnan(v) for row in grid for v in row):
            continue
        path = out_dir / (f"chart_{category}.png" if table == "base" else f"chart_{category}_{table}.png")
        name = t(f"categories.{category}")
        name = name[:1].upper() + name[1:]
        title = t("charts.title", category=name) if table == "base" else t("charts.title_chat", category=name)
        texts = [[text.get((label, b), MISSING) for b in benches] for label in models]
        bounds = [[interval.get((label, b)) for b in benches] for label in models]
        _render_chart(title, benches, models, grid, texts, source, colors, path, bounds)
        written[category] = path
    return written


def _render_chart(
    title: str,
    benches: list[str],
    labels: list[str],
    grid: list[list[float]],
    texts: list[list[str]],
    source: dict,
    colors,
    path: Path,
    bounds: list[list[tuple[float, float] | None]] | None = None,
) -> None:
    n_b, n_l = len(benches), len(labels)
    bar_in = 0.36  # inches per bar: room for a one-decimal label at 8 pt, so labels never collide
    width = max(6.4, 1.3 + n_b * (n_l * bar_in + 0.45))
    fig = Figure(figsize=(width, 4.6), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()

    group = 0.8
    bar_w = group / n_l
    value_size = 8.0
    handles = []
    for i, label in enumerate(labels):
        color = colors[i % len(colors)]
        measured = source.get(label) == "measured"
        style = (
            dict(facecolor=_lighten(color, 0.30), edgecolor=color, hatch="///", linewidth=1.0)
            if measured
            else dict(facecolor=color, edgecolor=color, linewidth=1.0)
        )
        xs = [j - group / 2 + bar_w * (i + 0.5) for j in range(n_b)]
        present = [(x, v, text) for x, v, text in zip(xs, grid[i], texts[i]) if not math.isnan(v)]
        row_bounds = bounds[i] if bounds else [None] * n_b
        whiskers = [(x, v, b) for x, v, b in zip(xs, grid[i], row_bounds) if b and not math.isnan(v)]
        if present:
            ax.bar([x for x, _, _ in present], [v for _, v, _ in present], width=bar_w * 0.92, zorder=2, **style)
            if whiskers:
                ax.errorbar(
                    [x for x, _, _ in whiskers],
                    [v for _, v, _ in whiskers],
                    yerr=[[v - b[0] for _, v, b in whiskers], [b[1] - v for _, v, b in whiskers]],
                    fmt="none",
                    ecolor=RULE_COLOR,
                    elinewidth=0.9,
                    capsize=2.5,
                    zorder=3,
                )
            # The value sits above its error bar, so neither hides the other; a reported score
            # reads as its source printed it (lmdeck.markdown.score_text).
            tops = {x: b[1] for x, _, b in whiskers}
            for x, v, value_text in present:
                ax.text(
                    x,
                    max(v, tops.get(x, v)) + 1.0,
                    value_text,
                    ha="center",
                    va="bottom",
                    fontsize=value_size,
                    color=TEXT_COLOR,
                    zorder=4,
                )
        for x, v in zip(xs, grid[i]):
            if math.isnan(v):
                ax.text(x, 0.8, MISSING, ha="center", va="bottom", fontsize=10, color="#555555", zorder=3)
        handles.append(Patch(label=label, **style))
    if any(b for row in (bounds or []) for b in row):
        handles.append(
            Line2D([], [], color=RULE_COLOR, marker="|", markersize=9, linewidth=0, label=t("charts.interval"))
        )

    ax.set_xticks(range(n_b), benches, fontsize=FONT_SIZE)
    ax.set_xlim(-0.6, n_b - 0.4)
    ax.set_ylim(0, 106)
    ax.set_yticks(range(0, 101, 20))
    ax.tick_params(axis="y", labelsize=10)
    ax.set_ylabel(t("charts.axis"), fontsize=10)
    ax.grid(axis="y", color="#dddddd", linewidth=0.7, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title, fontsize=TITLE_SIZE, fontweight="bold", loc="left")
    # As many legend columns (up to 4) as fit the width; each extra row makes the figure taller.
    renderer = canvas.get_renderer()
    for ncols in range(min(n_l, 4), 0, -1):
        legend = fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=ncols,
            fontsize=10,
            frameon=False,
            handlelength=2.2,
            handleheight=1.1,
        )
        if ncols == 1 or legend.get_window_extent(renderer).width <= (width - 0.3) * DPI:
            break
        legend.remove()
    fig.set_figheight(4.3 + 0.3 * math.ceil(n_l / ncols))
    _save(fig, path)


# ------------------------------------------------------------------------------------ the PDF


class Unreachable(RuntimeError):
    """A download that never got an answer from the server (offline, no DNS, refused, timed out)."""


@contextmanager
def downloaded(url: str, timeout: float = 60) -> Iterator[Path]:
    """The file at `url` in a temp folder, removed afterwards. A server that refuses it (404, 403...)
    raises RuntimeError: the URL is wrong. One that cannot be reached, or cannot serve it now (5xx,
    429: also what a gateway answers for an unreachable host), raises Unreachable."""
    with tempfile.TemporaryDirectory(prefix="lmdeck-download-") as tmp:
        target = Path(tmp) / "paper.pdf"
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            error = Unreachable if exc.code >= 500 or exc.code == 429 else RuntimeError
            raise error(f"{url}: download failed: {exc}") from exc
        except OSError as exc:  # URLError, TimeoutError, ConnectionError
            raise Unreachable(f"{url}: download failed: {exc}") from exc
        with response, open(target, "wb") as out:
            while True:
                try:
                    chunk = response.read(1 << 16)
                except (OSError, http.client.HTTPException) as exc:  # the connection dropped mid-way
                    raise Unreachable(f"{url}: download failed: {exc!r}") from exc
                if not chunk:
                    break
                out.write(chunk)  # a full disk is an OSError of its own, never "unreachable"
        yield target


def first_available_preview(candidates: list[str], out: Path, dpi: int = 80, timeout: float = 20) -> str | None:
    """Page 1 of the first available candidate as `out`: the first local file that exists, else the
    first URL that downloads. When none is available (missing files, no network), `out` is written
    empty -- the deck then shows no preview -- and the reason is returned. A candidate that is there
    but wrong (not a PDF, an HTTP error such as 404) fails: that is a config error, not being offline."""
    out = Path(out)
    urls = [c for c in candidates if c.startswith(("http://", "https://"))]
    local = [Path(c) for c in candidates if c not in urls]
    for pdf in local:
        if pdf.is_file():
            pdf_first_page_png(pdf, out, dpi=dpi)
            return None
    reasons = [f"{pdf}: no such file" for pdf in local]
    for url in urls:
        try:
            with downloaded(url, timeout=timeout) as pdf:
                try:
                    pdf_first_page_png(pdf, out, dpi=dpi)
                except ValueError as exc:  # named by its URL, not the temp file
                    raise ValueError(f"{url}: {str(exc).replace(str(pdf), 'the download')}") from exc
            return None
        except Unreachable as exc:
            reasons.append(str(exc))
    with atomic_path(out) as tmp:
        tmp.write_bytes(b"")
    return "; ".join(reasons) or "no candidates"


def pdf_first_page_png(pdf: Path, out: Path, dpi: int = 80) -> Path:
    """Page 1 of `pdf` as a PNG via poppler's pdftoppm, moved onto `out` only once complete."""
    pdf, out = Path(pdf), Path(out)
    with open(pdf, "rb") as f:
        head = f.read(5)
    if head != b"%PDF-":
        raise ValueError(f"{pdf}: not a PDF (starts with {head!r}, expected b'%PDF-')")
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError("pdftoppm not found: install poppler-utils (apt-get install poppler-utils)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        prefix = Path(tmp) / "page"
        cmd = [
            tool,
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            str(int(dpi)),
            "-singlefile",
            os.path.abspath(pdf),
            str(prefix),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{pdf}: pdftoppm took longer than 60 s") from exc
        rendered = prefix.with_suffix(".png")
        if done.returncode != 0 or not rendered.exists():
            detail = textwrap.shorten(done.stderr.strip() or "no output", 300)
            raise RuntimeError(f"{pdf}: pdftoppm failed (exit {done.returncode}): {detail}")
        os.replace(rendered, out)
    return out
