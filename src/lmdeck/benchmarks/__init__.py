"""Benchmark loaders: read a benchmark folder as its authors distribute it,
validate it, and produce evaluation :class:`Item` objects with full prompts.

    >>> items = load_benchmark("mmlu", "data/demo/mmlu", shots=5)

One module per file format (``mmlu``, ``ceval``, ``cmmlu``, ``gaokao``,
``agieval``, ``gsm8k``, ``math``, ``humaneval``, ``bbh``); each module's
docstring documents the layout it reads and the exact prompt it builds.
"""
from __future__ import annotations

from pathlib import Path

from .agieval import AgievalLoader
from .base import DataError, Item, Loader, require_folder
from .bbh import BbhLoader
from .ceval import CevalLoader
from .cmmlu import CmmluLoader
from .gaokao import GaokaoLoader
from .gsm8k import Gsm8kLoader
from .humaneval import HumanEvalLoader
from .math import MathLoader
from .mmlu import MmluLoader

__all__ = ["Item", "DataError", "FORMATS", "load_benchmark", "source_files", "UnknownFormatError"]

FORMATS: dict[str, Loader] = {
    loader.name: loader
    for loader in (MmluLoader(), CevalLoader(), CmmluLoader(), GaokaoLoader(), AgievalLoader(),
                   Gsm8kLoader(), MathLoader(), HumanEvalLoader(), BbhLoader())
}


class UnknownFormatError(ValueError, KeyError):
    """Unknown benchmark format name (both a ValueError and a KeyError)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def _loader(fmt: str) -> Loader:
    try:
        return FORMATS[fmt]
    except (KeyError, TypeError):
        raise UnknownFormatError(
            f"unknown benchmark format {fmt!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def load_benchmark(fmt: str, folder: str | Path, shots: int) -> list[Item]:
    """Items of the benchmark in ``folder`` (format ``fmt``) with ``shots``
    few-shot exemplars per prompt (fewer when fewer exist). Order: sorted by
    subtask, file order within. Raises DataError for missing/empty folders and
    malformed files, UnknownFormatError (a ValueError) for an unknown ``fmt``."""
    loader = _loader(fmt)
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise ValueError(f"shots must be a non-negative integer, got {shots!r}")
    path = require_folder(folder)
    items = sorted(loader.load(path, shots), key=lambda item: item.subtask)
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DataError(f"duplicate item id {item.id!r}", path)
        seen.add(item.id)
    return items


def source_files(fmt: str, folder: str | Path) -> list[Path]:
    """Sorted list of the files the ``fmt`` loader reads from ``folder`` (for hashing)."""
    loader = _loader(fmt)
    return sorted(loader.source_files(require_folder(folder)))
