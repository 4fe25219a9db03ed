"""Escaping of user-supplied text for Marp Markdown (HTML stays disabled in Marp as well)."""

from __future__ import annotations

import html
import re

# Inline Markdown syntax: code, emphasis, links/images, table cells, strike, braces.
# (Block markers like '#' or '-' only act at a line start, which inline text never is.)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")


def escape(text: str) -> str:
    """Render `text` literally: HTML entities for <>&", backslash before Markdown specials."""
    text = html.escape(str(text), quote=True)
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return text.replace("\n", " ")
