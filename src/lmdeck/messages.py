"""The deck's fixed texts, one message catalog per language (`report.language`).

Every text lmdeck itself puts on a slide, a table or a chart (headings, column headers, notes,
labels such as "(measured)") is looked up here by key; user texts (the config's `report`) are
never translated. The catalogs are YAML files shipped with the templates,
templates/i18n/<language>.yaml, nested mappings read as dotted keys (`results.base_heading`).
Both hold exactly the same keys (tests/test_i18n.py), so a missing text fails the test, and a
key looked up that a catalog lacks fails loudly, naming the catalog file.

The language in effect is set by the step that renders (`speaking`), read by `t()`: one step,
one language. Without one the schema's default (en) applies.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from lmdeck import resources, strict_yaml

LANGUAGES = ("en", "zh")
# Languages whose charts need a CJK font (matplotlib's default fonts have no Chinese glyphs).
CJK_LANGUAGES = frozenset({"zh"})

_current: ContextVar[str | None] = ContextVar("lmdeck_language", default=None)


class MessageError(LookupError):
    """A key or a field the catalog lacks, or a catalog that is not a nested mapping of texts."""

    def __str__(self) -> str:  # LookupError would print the message quoted
        return str(self.args[0])


def catalog_path(language: str) -> Path:
    if language not in LANGUAGES:
        raise MessageError(f"report.language: {language!r} is not one of {', '.join(LANGUAGES)}")
    return resources.templates() / "i18n" / f"{language}.yaml"


def _flatten(node: Mapping, prefix: str, path: Path, out: dict[str, str]) -> dict[str, str]:
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{name}.", path, out)
        elif isinstance(value, str):
            out[name] = value
        else:
            raise MessageError(f"{path}: {name}: a message is a text, not a {type(value).__name__}")
    return out


@cache
def catalog(language: str) -> dict[str, str]:
    """Every message of one language, by dotted key (duplicate keys refused: lmdeck.strict_yaml)."""
    path = catalog_path(language)
    return _flatten(strict_yaml.load(path), "", path, {})


@cache
def default_language() -> str:
    """The schema's default `report.language` (the one place a default is written)."""
    import yaml

    schema = yaml.safe_load(resources.schema().read_text(encoding="utf-8"))
    return schema["properties"]["report"]["properties"]["language"]["default"]


def language_of(report: Mapping) -> str:
    """`report.language`, else the schema's default (for a report written in code)."""
    return report.get("language") or default_language()


def current() -> str:
    return _current.get() or default_language()


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """`t()` answers in `language` inside the block (the catalog is checked to exist first)."""
    catalog(language)
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def fields(text: str) -> set[str]:
    """The `{name}` fields a message takes."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def t(key: str, **values) -> str:
    """The message `key` in the current language, its `{fields}` filled from `values`."""
    language = current()
    texts = catalog(language)
    if key not in texts:
        raise MessageError(f"{catalog_path(language)}: no message {key!r}")
    text = texts[key]
    missing = fields(text) - values.keys()
    if missing:
        raise MessageError(f"{catalog_path(language)}: message {key!r} needs {', '.join(sorted(missing))}")
    return text.format(**values)
