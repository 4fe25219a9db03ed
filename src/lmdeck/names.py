"""The one normalisation lmdeck applies to names before they become keys, paths or task names.

Two names that meet here (case, and ``-``/``_``/``.``/space folded) would share a folder on a
case-insensitive file system, a harness task name or a table key: they are refused, naming both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_FOLDED = re.compile(r"[-_.\s]+")


def key(name: str) -> str:
    """How names are compared for collisions."""
    return _FOLDED.sub("_", str(name).casefold()).strip("_")


class NameCollision(ValueError):
    """Two inputs whose names meet after normalisation; the message names both."""


def refuse_collisions(
    items: Iterable[T], name: Callable[[T], str], what: str, describe: Callable[[T], str] = str
) -> None:
    """Raise NameCollision when two of `items` have names that meet under `key`."""
    seen: dict[str, T] = {}
    for item in items:
        k = key(name(item))
        if k in seen:
            if name(seen[k]) == name(item):
                raise NameCollision(f"{what}: duplicate name {name(item)!r}: {describe(seen[k])} and {describe(item)}")
            raise NameCollision(
                f"{what}: {describe(seen[k])} and {describe(item)} collide "
                f"(names are compared ignoring case and -/_/./space); rename one"
            )
        seen[k] = item
