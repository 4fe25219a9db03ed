"""Escaping of user-supplied text for Marp Markdown (HTML stays disabled in Marp as well)."""

from __future__ import annotations

import html
import math
import re

MISSING = "–"  # a score that is not there: never printed (or counted) as 0
MISSING_NOTE = f"{MISSING}: not reported / not evaluated (never counted as 0)."

# Inline Markdown syntax: code, emphasis, links/images, table cells, strike, braces.
# (Block markers like '#' or '-' only act at a line start, which inline text never is.)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")


def escape(text: str) -> str:
    """Render `text` literally: HTML entities for <>&", backslash before Markdown specials."""
    text = html.escape(str(text), quote=False)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("\n", " ")


class UnsafeURL(ValueError):
    pass


def safe_url(url: str) -> str:
    """A link target from user config: http(s) only; characters that end a Markdown link are encoded."""
    url = str(url).strip()
    if not re.match(r"^https?://[^\s]+$", url, flags=re.IGNORECASE):
        raise UnsafeURL(f"{url!r} is not an http(s) URL")
    return "".join(f"%{ord(c):02X}" if c in "()<>[]\"'` " else c for c in url)


def fmt(value, bold: bool = False) -> str:
    """A score cell: one decimal, the dash when missing, optionally bold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    text = f"{value:.1f}" if isinstance(value, (int, float)) else str(value)
    return f"**{text}**" if bold else text
