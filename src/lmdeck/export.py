"""Export a Marp deck with marp-cli (pinned in package.json): html, pdf and one png per slide.

HTML in the Markdown stays disabled (`--html` is never passed). Chromium is found through
CHROME_PATH or the PATH; marp-cli through the repo's node_modules, else npx.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lmdeck.fileio import atomic_path

REPO = Path(__file__).resolve().parents[2]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ExportError(RuntimeError):
    pass


def find_browser() -> str | None:
    if os.environ.get("CHROME_PATH") and Path(os.environ["CHROME_PATH"]).exists():
        return os.environ["CHROME_PATH"]
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


def marp_command() -> list[str]:
    local = REPO / "node_modules" / ".bin" / "marp"
    if local.exists():
        return [str(local)]
    if shutil.which("npx"):
        return ["npx", "--no-install", "@marp-team/marp-cli"]
    raise ExportError("marp-cli not found: run `npm install` in the repository (make setup does it)")


def marp_args(deck: Path, theme: Path, out: Path, *extra: str) -> tuple[list[str], dict]:
    browser = find_browser()
    if browser is None:
        raise ExportError("no Chromium/Chrome found: install `chromium` or set CHROME_PATH")
    cmd = [*marp_command(), "--no-stdin", "--theme-set", str(theme), "--allow-local-files",
           "--browser", "chrome", "--browser-path", browser, *extra, str(deck), "-o", str(out)]
    return cmd, {**os.environ, "CHROME_PATH": browser}


def wait(proc: subprocess.Popen, deck: Path) -> None:
    stdout, stderr = proc.communicate(timeout=600)
    print(stdout + stderr)
    if proc.returncode != 0:
        raise ExportError(f"marp-cli failed on {deck} (exit {proc.returncode}): {stderr.strip()[-2000:]}")


def run_marp(deck: Path, theme: Path, out: Path, *extra: str) -> None:
    cmd, env = marp_args(deck, theme, out, *extra)
    wait(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env), deck)


def export(deck: Path, theme: Path, html_out: Path, pdf_out: Path, png_dir: Path) -> None:
    """html, pdf and png conversions run side by side (two of them start a browser each);
    each output is written beside its target and renamed into place (atomic)."""
    staging = png_dir.with_name(f".{png_dir.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    jobs = [(html_out, staging / f"{deck.stem}.html", ()), (pdf_out, staging / f"{deck.stem}.pdf", ("--pdf",)),
            (None, staging / "png" / f"{deck.stem}.png", ("--images", "png"))]
    running = []
    for _, produced, extra in jobs:
        cmd, env = marp_args(deck, theme, produced, *extra)
        running.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    try:
        for proc in running:
            wait(proc, deck)
    finally:
        for proc in running:
            if proc.poll() is None:
                proc.kill()
    for target, produced, _ in jobs[:2]:
        with atomic_path(target) as tmp:
            os.replace(produced, tmp)
    shutil.rmtree(png_dir, ignore_errors=True)
    (staging / "png").rename(png_dir)
    shutil.rmtree(staging, ignore_errors=True)
