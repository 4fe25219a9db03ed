"""The one place that finds the files lmdeck ships beside its code: the deck templates and Marp
theme, the config schema and the demo data.

They are top-level folders of the repository (templates/, schemas/, data/demo/: the Snakefile and
the docs use them there). A wheel carries them inside the package as lmdeck/templates,
lmdeck/schemas and lmdeck/demo_data (pyproject.toml maps those onto the folders), read here with
importlib.resources. A source checkout has no such folders under src/lmdeck, however it is run
(PYTHONPATH=src, a path-based editable install, or setuptools' editable finder, which does not map
data-only subpackages), so there the repository's own folders are used.

Callers get real paths: Snakemake's validate, marp-cli, Jinja2's FileSystemLoader and the rules'
shell commands all take file names, so a zip-imported lmdeck is refused rather than half-working.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Folder inside the installed package -> folder in the repository.
FOLDERS = {"templates": "templates", "schemas": "schemas", "demo_data": "data/demo"}


class ResourceError(RuntimeError):
    pass


def checkout() -> Path | None:
    """The repository root when lmdeck runs from a source checkout (src/lmdeck is this package), else None."""
    here = Path(__file__).resolve().parent
    root = here.parents[1]
    return root if (root / "src" / "lmdeck") == here and (root / "pyproject.toml").is_file() else None


def folder(name: str) -> Path:
    """One of lmdeck's data folders (a key of FOLDERS): the installed package's copy, else the checkout's."""
    packaged = files("lmdeck") / name
    if packaged.is_dir():
        if not isinstance(packaged, Path):
            raise ResourceError(
                f"lmdeck's {name} are inside an archive ({packaged}): install lmdeck unpacked "
                "(pip install), its tools need real file paths"
            )
        return packaged
    root = checkout()
    if root is not None and (root / FOLDERS[name]).is_dir():
        return root / FOLDERS[name]
    raise ResourceError(
        f"lmdeck's {name} not found: not in the installed package ({packaged}) nor in a source "
        f"checkout; reinstall lmdeck"
    )


def templates() -> Path:
    """The default deck templates (deck.md.j2, slides/*.md.j2) and the theme; `report.templates` overrides them."""
    return folder("templates")


def theme() -> Path:
    """The Marp theme (`theme: lmdeck`) that marp-cli is given with --theme-set."""
    return templates() / "lmdeck.css"


def schema() -> Path:
    """The config's JSON schema (YAML), applied with snakemake.utils.validate."""
    return folder("schemas") / "config.schema.yaml"


def demo_data() -> Path:
    """The demo benchmark data (one folder per format), also the demo models' tokenizer corpus."""
    return folder("demo_data")
