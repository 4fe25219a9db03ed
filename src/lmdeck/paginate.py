"""What fits on one slide: tables split into continuation slides, text lists into pages.

The deck step has no browser, so the split is decided from estimates: text widths from a
per-character table of the theme's font (Noto Sans) and the row heights and space per slide that
were measured in Chromium on lmdeck.css (the constants below). lmdeck.layout_check measures the
exported deck in Chromium, and its tests (tests/test_layout.py, a stress deck among them) keep
these numbers honest. Nothing is ever shrunk: a table that does not fit gets more slides, rows
split evenly, columns too (the label column repeats on each), never a smaller font.

Works on the Markdown pipe tables lmdeck generates (lmdeck.tables), so how a cell is formatted
or bolded stays lmdeck.tables's business.
"""

from __future__ import annotations

import html
import re

# Measured in Chromium on lmdeck.css (a 1280 x 720 slide, 50/60 px padding): see the module doc.
CONTENT_WIDTH_PX = 1160.0
CONTENT_HEIGHT_PX = 620.0
HEADING_PX = 52.0  # an h3 with its margin
FOOTNOTE_PX = 30.0  # the one-line blockquote note under a table (with its margin)
# `section.wide table`: 0.62 em of 26 px, line height 1.5, 4 px padding, 1 px rule (lmdeck.css).
WIDE_FONT_PX = 16.12
WIDE_LINE_PX = 24.18
WIDE_ROW_PAD_PX = 9.0
WIDE_CELL_PAD_X_PX = 21.0  # 10 px each side and the rule
LABEL_MAX_PX = 15 * WIDE_FONT_PX  # lmdeck.css caps the first column at 15 em; longer names wrap
SLACK = 0.94  # estimates are estimates: keep 6 % in hand
# Body text (26 px): paragraphs and list items.
BODY_FONT_PX = 26.0
BODY_LINE_PX = 39.0
BODY_PARAGRAPH_GAP_PX = 26.0
BODY_ITEM_GAP_PX = 10.4
LIST_INDENT_PX = 52.0
# References (`section.refs`): 20 px, one paragraph each.
REFS_LINE_PX = 30.0
REFS_PARAGRAPH_GAP_PX = 6.0
# 20 px; the references' prose measured 3-8 % narrower in Chromium than `text_em` says.
REFS_FONT_PX = 20.0 * 0.97
REFS_HEADING_PX = 56.0

_PIPE = re.compile(r"(?<!\\)\|")
_ESCAPE = re.compile(r"\\(.)")
_BREAK_AFTER = re.compile(r"(?<=[\s/-])")


def text_em(text: str, bold: bool = False) -> float:
    """Approximate width of `text` in em of Noto Sans (CJK glyphs are 1 em wide)."""
    width = 0.0
    for ch in text:
        if ord(ch) >= 0x2E80:
            width += 1.0
        elif ch.isdigit():
            width += 0.572
        elif ch.isupper():
            width += 0.66
        elif ch.islower():
            width += 0.53
        elif ch == " ":
            width += 0.26
        else:
            width += 0.4
    return width * (1.06 if bold else 1.0)


def visible(cell: str) -> str:
    """A generated Markdown cell as the reader sees it: no bold markers, escapes or entities."""
    text = cell.strip()
    if text.startswith("**") and text.endswith("**") and len(text) >= 4:
        text = text[2:-2]
    return html.unescape(_ESCAPE.sub(r"\1", text))


def wrapped_lines(text: str, width_px: float, font_px: float, bold: bool = False) -> int:
    """Lines `text` takes at `width_px`: greedy, breaking after spaces, hyphens and slashes, and
    inside a piece that is too long on its own (lmdeck.css sets `overflow-wrap: anywhere`)."""
    lines, used = 1, 0.0
    width_px += 0.5  # a cell exactly as wide as its column (the widest one) stays on one line
    for piece in _BREAK_AFTER.split(text):
        w = text_em(piece, bold) * font_px
        if used and used + w > width_px:
            lines, used = lines + 1, 0.0
        while w > width_px:  # a piece longer than a line breaks anywhere
            lines, w = lines + 1, w - width_px
        used += w
    return lines


def split_row(line: str) -> list[str]:
    return [c.strip() for c in _PIPE.split(line.strip().strip("|"))] if line.strip() else []


def join_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def even_chunks(weights: list[float], capacity: float) -> list[list[int]]:
    """Indices split into as few consecutive chunks as keep within `capacity` (an item heavier
    than that gets a chunk of its own), as even as that allows: a last slide with two rows reads
    badly."""
    if not weights:
        return [[]]

    def greedy(limit: float) -> list[list[int]]:
        chunks: list[list[int]] = [[]]
        load = 0.0
        for i, w in enumerate(weights):
            if chunks[-1] and load + w > limit:
                chunks.append([])
                load = 0.0
            chunks[-1].append(i)
            load += w
        return chunks

    pages = len(greedy(capacity))
    low, high = max(weights), max(capacity, max(weights))
    for _ in range(50):  # the smallest limit that still needs no more pages
        middle = (low + high) / 2
        if len(greedy(middle)) <= pages:
            high = middle
        else:
            low = middle
    return greedy(high)


def table_pages(markdown: str, repeat_columns: int = 1, budget_px: float | None = None) -> list[str]:
    """A `section.wide` pipe table as one table per slide: columns split so each page's table
    fits the slide's width (the first `repeat_columns` on every page), rows so it fits the
    height (`budget_px`, default: a slide with a heading and a one-line note). Pages are ordered
    row chunk by row chunk, columns within."""
    lines = [line for line in markdown.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        return [markdown]
    header, align, body = split_row(lines[0]), split_row(lines[1]), [split_row(line) for line in lines[2:]]
    n = len(header)
    budget = (budget_px or CONTENT_HEIGHT_PX - HEADING_PX - FOOTNOTE_PX) * SLACK

    def natural_px(j: int) -> float:
        cells = [visible(row[j]) for row in body if j < len(row)]
        widest = max([text_em(visible(header[j]), bold=True)] + [text_em(c, bold=True) for c in cells])
        px = widest * WIDE_FONT_PX
        return (min(px, LABEL_MAX_PX) if j == 0 else px) + WIDE_CELL_PAD_X_PX

    widths = [natural_px(j) for j in range(n)]
    fixed = list(range(min(repeat_columns, n)))
    rest = list(range(len(fixed), n))
    room = CONTENT_WIDTH_PX * SLACK - sum(widths[j] for j in fixed)
    column_chunks = [[rest[i] for i in chunk] for chunk in even_chunks([widths[j] for j in rest], room)]

    def row_px(cells: list[str]) -> float:
        lines_needed = max(
            wrapped_lines(visible(cell), widths[j] - WIDE_CELL_PAD_X_PX, WIDE_FONT_PX, bold=True)
            for j, cell in enumerate(cells[:n])
        )
        return WIDE_ROW_PAD_PX + WIDE_LINE_PX * lines_needed

    row_chunks = even_chunks([row_px(row) for row in body], budget - row_px(header))
    pages = []
    # Row chunk by row chunk: a reader finishes a set of models before the next rows begin.
    for rows in row_chunks:
        for columns in column_chunks:
            shown = fixed + columns
            table = [header, align] + [body[i] for i in rows]
            pages.append("\n".join(join_row([r[j] for j in shown]) for r in table))
    return pages


def text_pages(
    texts: list[str],
    font_px: float = REFS_FONT_PX,
    line_px: float = REFS_LINE_PX,
    gap_px: float = REFS_PARAGRAPH_GAP_PX,
    room_px: float = CONTENT_HEIGHT_PX - REFS_HEADING_PX,
    width_px: float = CONTENT_WIDTH_PX,
    first_px: float = 0.0,
    last_px: float = 0.0,
) -> list[list[int]]:
    """Paragraphs or list items (references by default) over as few slides as hold them, evenly:
    the indices of each page's items. `first_px` / `last_px`: text above the first item (on the
    first slide) and below the last (on the last slide)."""
    heights = [line_px * wrapped_lines(visible(t), width_px, font_px) + gap_px for t in texts]
    if heights:  # the intro travels with the first item, the closing text with the last
        heights[0] += first_px
        heights[-1] += last_px
    return even_chunks(heights, room_px * SLACK)


def pages_of(items: list, texts: list[str], **kwargs) -> list[list]:
    """`items` split as `text_pages` splits their `texts`."""
    return [[items[i] for i in page] for page in text_pages(texts, **kwargs)] if items else [[]]


def paragraphs_px(texts: list[str]) -> float:
    """Height of body paragraphs (empty ones take none)."""
    return sum(
        BODY_LINE_PX * wrapped_lines(visible(t), CONTENT_WIDTH_PX, BODY_FONT_PX) + BODY_PARAGRAPH_GAP_PX
        for t in texts
        if t.strip()
    )


def list_pages(items: list, texts: list[str], intro: str = "", closing: str = "") -> list[list]:
    """Body-text list items under an h3 over as few slides as hold them, with an intro paragraph
    on the first slide and a closing one on the last."""
    return pages_of(
        items,
        texts,
        font_px=BODY_FONT_PX,
        line_px=BODY_LINE_PX,
        gap_px=BODY_ITEM_GAP_PX,
        room_px=CONTENT_HEIGHT_PX - HEADING_PX,
        width_px=CONTENT_WIDTH_PX - LIST_INDENT_PX,
        first_px=paragraphs_px([intro]),
        last_px=paragraphs_px([closing]),
    )
