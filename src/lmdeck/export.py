"""Export a Marp deck with marp-cli (pinned in package.json): html, pdf, or one png per slide.

One format per call, so each is its own Snakemake job of the `export` target: the html needs no
browser (~1 s); pdf and png start a Chromium each.
HTML in the Markdown stays disabled (`--html` is never passed). Chromium is found through
CHROME_PATH or the PATH; marp-cli through the checkout's node_modules, else the PATH, else npx.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lmdeck import resources

REPO = resources.checkout()  # None for an installed package
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FORMATS = {"html": (), "pdf": ("--pdf",), "png": ("--images", "png")}
NEEDS_BROWSER = {"pdf", "png"}


class ExportError(RuntimeError):
    pass


def find_browser() -> str | None:
    if os.environ.get("CHROME_PATH") and Path(os.environ["CHROME_PATH"]).exists():
        return os.environ["CHROME_PATH"]
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def marp_command() -> list[str]:
    local = REPO / "node_modules" / ".bin" / "marp" if REPO else None
    if local and local.exists():
        return [str(local)]
    if shutil.which("marp"):  # an installed lmdeck has no node_modules beside it
        return [shutil.which("marp")]
    if shutil.which("npx"):
        return ["npx", "--no-install", "@marp-team/marp-cli"]
    raise ExportError(
        "marp-cli not found: run `npm install` in the repository (make setup does it), or put `marp` on the PATH"
    )


def marp_args(deck: Path, theme: Path, out: Path, fmt: str = "html") -> tuple[list[str], dict]:
    cmd = [*marp_command(), "--no-stdin", "--theme-set", str(theme), "--allow-local-files"]
    env = dict(os.environ)
    if fmt in NEEDS_BROWSER:
        browser = find_browser()
        if browser is None:
            raise ExportError(f"{fmt} export needs Chromium/Chrome: install `chromium` or set CHROME_PATH")
        cmd += ["--browser", "chrome", "--browser-path", browser]
        env["CHROME_PATH"] = browser
    return [*cmd, *FORMATS[fmt], str(deck), "-o", str(out)], env


def run_marp(deck: Path, theme: Path, out: Path, fmt: str = "html") -> None:
    cmd, env = marp_args(deck, theme, out, fmt)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ExportError(f"marp-cli failed on {deck} (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def export(deck: Path, theme: Path, fmt: str, out: Path) -> None:
    """Write `out` (a file for html/pdf, a folder of <deck>.NNN.png for png) atomically:
    marp-cli writes into a staging folder beside it; its result is renamed into place."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: one of {', '.join(FORMATS)}")
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        produced = staging / f"{deck.stem}.{fmt}"
        run_marp(deck, theme, produced, fmt)
        if fmt == "png":
            shutil.rmtree(out, ignore_errors=True)
            staging.rename(out)
        else:
            os.replace(produced, out)  # same folder: an atomic rename
    finally:
        shutil.rmtree(staging, ignore_errors=True)
