"""Escaping of user-supplied text for Marp Markdown (HTML stays disabled in Marp as well)."""

from __future__ import annotations

import html
import math
import re

MISSING = "–"  # a score that is not there: never printed (or counted) as 0
MISSING_NOTE = f"{MISSING}: not reported / not evaluated (never counted as 0)."

# Inline Markdown wherever a value lands: code, emphasis, links/images, table cells, strike,
# braces, an ATX heading's closing `#`s, and `$` (marp-core renders math by default).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|~#$])")
# Block markers act only at a line start, which a value reaches as an abstract, a reference or a
# list item's text: bullets and thematic breaks (`-`, `+`; `*`/`_` are escaped above), setext
# underlines (`=`), ordered-list numbers (`1.`, `1)`). `>` and `<` are entities already.
_LINE_START = re.compile(r"^(?:([-+=])|(\d{1,9})([.)])(?=[ \t]|$))")
# marp-core turns `:name:` into an emoji even with the colon escaped or written as an entity (its
# rule runs on the joined text), so an invisible word joiner (U+2060) splits the shortcode.
_EMOJI_SHORTCODE = re.compile(r":(?=[a-z0-9_+-]+:)")
WORD_JOINER = "\u2060"
_LINE_ENDING = re.compile(r"\r\n|\r|\n")  # CommonMark's line endings


def escape(text: str) -> str:
    """Render `text` literally wherever it lands in Marp Markdown, at a line start too: one line,
    HTML entities for <>& (no HTML, no Marp directive comments), backslash before Markdown
    specials and line-start block markers, leading indentation as an entity (no code block)."""
    text = _LINE_ENDING.sub(" ", str(text))
    text = html.escape(text, quote=False)
    text = _EMOJI_SHORTCODE.sub(":" + WORD_JOINER, text)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
    if text[:1] in (" ", "\t"):
        text = f"&#{ord(text[0])};{text[1:]}"
    return text


class UnsafeURL(ValueError):
    pass


def safe_url(url: str) -> str:
    """A link target from user config: http(s) only; characters that end a Markdown link are encoded."""
    url = str(url).strip()
    if not re.match(r"^https?://[^\s]+$", url, flags=re.IGNORECASE):
        raise UnsafeURL(f"{url!r} is not an http(s) URL")
    return "".join(f"%{ord(c):02X}" if c in "()<>[]\"'` " else c for c in url)


PLAIN_DECIMAL = re.compile(r"^\d{1,3}(\.\d+)?$")  # a printed score kept as is ("1e1", "1_0": read as numbers only)


def score_text(value, printed: str | None = None) -> str:
    """How a score reads, decided here only: a reported score as its source printed it ("46.20"
    stays "46.20"), a measured one to one decimal; the dash when missing, never 0."""
    if isinstance(printed, str) and PLAIN_DECIMAL.match(printed.strip()):
        return printed.strip()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:.1f}" if isinstance(value, (int, float)) else str(value)


def fmt(value, bold: bool = False, printed: str | None = None) -> str:
    """A score cell (lmdeck.markdown.score_text), optionally bold."""
    text = score_text(value, printed)
    return f"**{text}**" if bold and text != MISSING else text


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # what a model may emit that no slide can show


def code_block(text: str, language: str = "text") -> str:
    """`text` shown verbatim (line breaks, indentation, `$`, `#`, `<`, backticks) as a fenced code
    block: Markdown, HTML, math, emoji and Marp directives are not read inside a fence, and the
    fence is longer than any backtick run in the text, so nothing in it can close the block."""
    text = _CONTROL.sub("", _LINE_ENDING.sub("\n", str(text)).replace("\t", "    "))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"
