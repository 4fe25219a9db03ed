"""Format descriptors: one module per benchmark format, and the registry that maps format
names to them. The schema's format list, the data step, the harness adapters, the scores
stage and the benchmark script all read from here.

    >>> fmt = get("mmlu"); records = fmt.read(Path("data/demo/mmlu"))
"""

from __future__ import annotations

from lmdeck.formats import agieval, bbh, ceval, cmmlu, gaokao, gsm8k, humaneval, math, mmlu
from lmdeck.formats.base import HARNESSES, Format, LmEvalTask, OpenCompassDataset, Record, allowed_shots, check_shots
from lmdeck.formats.files import DataError

__all__ = [
    "FORMATS",
    "HARNESSES",
    "DataError",
    "Format",
    "LmEvalTask",
    "OpenCompassDataset",
    "Record",
    "UnknownFormatError",
    "allowed_shots",
    "check_shots",
    "get",
]

FORMATS: dict[str, Format] = {
    module.FORMAT.name: module.FORMAT for module in (agieval, bbh, ceval, cmmlu, gaokao, gsm8k, humaneval, math, mmlu)
}


class UnknownFormatError(ValueError, KeyError):
    """Unknown benchmark format name (both a ValueError and a KeyError)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def get(name: str) -> Format:
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise UnknownFormatError(
            f"unknown benchmark format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None
