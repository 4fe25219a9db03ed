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


def run_marp(deck: Path, theme: Path, out: Path, *extra: str) -> None:
    browser = find_browser()
    if browser is None:
        raise ExportError("no Chromium/Chrome found: install `chromium` or set CHROME_PATH")
    cmd = [*marp_command(), "--no-stdin", "--theme-set", str(theme), "--allow-local-files",
           "--browser", "chrome", "--browser-path", browser, *extra, str(deck), "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "CHROME_PATH": browser})
    print(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ExportError(f"marp-cli failed on {deck} (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def export(deck: Path, theme: Path, html_out: Path, pdf_out: Path, png_dir: Path) -> None:
    # Each output is produced beside its target and renamed into place (atomic).
    for target, extra in ((html_out, ()), (pdf_out, ("--pdf",))):
        with atomic_path(target) as tmp:
            produced = tmp.with_suffix(target.suffix)
            run_marp(deck, theme, produced, *extra)
            os.replace(produced, tmp)
    tmp_dir = png_dir.with_name(f".{png_dir.name}.tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    run_marp(deck, theme, tmp_dir / f"{deck.stem}.png", "--images", "png")
    shutil.rmtree(png_dir, ignore_errors=True)
    tmp_dir.rename(png_dir)
