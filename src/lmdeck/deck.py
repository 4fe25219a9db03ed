"""Render the Marp deck: one Jinja2 template per slide kind, ordered by the config's `sections`.

Every value printed into the Markdown is escaped (lmdeck.markdown.escape) unless it is
Markdown lmdeck generated itself (tables, image links), which is marked with `Markup`.
Marp's HTML stays disabled as well, so user text can neither break nor script the deck.
"""

from __future__ import annotations

import math
import os
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from jinja2 import ChainableUndefined, Environment, Undefined, FileSystemLoader, TemplateNotFound
from markupsafe import Markup
from tabulate import tabulate

from lmdeck import __version__, tables
from lmdeck.fileio import write_text
from lmdeck.markdown import escape, safe_url

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


SLIDE_BREAK = Markup("\n\n---\n\n")  # blank lines around it, else Markdown reads a heading underline
# Image sizes per asset kind (Marp's `h:` image keyword), so images fit the 16:9 slide.
IMAGE_HEIGHT = {"preview": 330, "table1": 420, "table2": 470, "table3": 470}
CHART_HEIGHT = 500


class DeckError(ValueError):
    pass


def environment(template_dir: Path = TEMPLATES) -> Environment:
    def finalize(value):
        # Optional config text may be absent: it prints as nothing.
        if isinstance(value, Undefined) or value is None:
            return ""
        if isinstance(value, Markup):
            return value
        if isinstance(value, float):
            return tables.fmt(value)
        return escape(value)

    env = Environment(loader=FileSystemLoader(str(template_dir)), finalize=finalize, undefined=ChainableUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True, autoescape=False)
    env.globals["slide_break"] = SLIDE_BREAK
    env.filters["url"] = lambda url: Markup(safe_url(url))
    return env


def attachments_name(report: dict) -> str:
    return report["name"].upper()


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def job_times(benchmarks_dir: Path) -> list[dict]:
    """Wall time per harness job, from Snakemake's `benchmark:` files."""
    rows = []
    for tsv in sorted(Path(benchmarks_dir).glob("*/*.tsv")):
        if tsv.parent.name not in {"lm_eval", "opencompass", "build_model"}:
            continue
        frame = pd.read_csv(tsv, sep="\t")
        rows.append({"job": f"{tsv.parent.name} {tsv.stem}", "seconds": float(frame["s"].iloc[-1]),
                     "max_rss_mb": float(frame["max_rss"].iloc[-1]) if "max_rss" in frame else math.nan})
    return rows


def provenance(scores: pd.DataFrame, spec: dict, benchmarks_dir: Path) -> dict:
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    models = []
    for model in spec["models"]:
        rows = measured[measured["model"] == model["name"]]
        sha = sorted(set(rows["model_sha256"].dropna()))
        models.append({"name": model.get("display_name", model["name"]),
                       "source": model.get("path", f"built: {model.get('build', {}).get('architecture', '')}"),
                       "revision": model.get("revision", "main"), "sha256": ", ".join(s[:16] for s in sha) or "–"})
    data = [{"benchmark": name, "sha256": str(sha)[:16]} for name, sha in
            measured.drop_duplicates("benchmark")[["benchmark", "data_sha256"]].itertuples(index=False)]
    devices = sorted(set(measured["device"].dropna()) - {""}) if "device" in measured else []
    started = sorted(measured["started"].dropna())
    return {
        "versions": [("lmdeck", __version__), ("lm-eval", package_version("lm_eval")),
                     ("OpenCompass", package_version("opencompass")), ("transformers", package_version("transformers")),
                     ("torch", package_version("torch")), ("Snakemake", package_version("snakemake"))],
        "git_commit": git_commit(TEMPLATES.parent),
        "run_date": started[-1] if started else "–",
        "hardware": ", ".join(devices) or "–",
        "models": models,
        "data": data,
        "jobs": job_times(benchmarks_dir),
    }


def benchmark_slides(spec: dict) -> list[dict]:
    by_category = []
    for category in tables.CATEGORY_ORDER:
        benches = [b for b in spec["benchmarks"] if b["category"] == category]
        if benches:
            by_category.append({"category": category, "benchmarks": benches})
    return by_category


def not_evaluated(scores: pd.DataFrame, spec: dict, failures: pd.DataFrame, table: str) -> list[str]:
    """Cells of one results table (base/chat) the config asked for that have no measured score,
    with the log to read when the evaluation failed."""
    measured = scores[(scores["source"] == "measured") & (scores["subtask"] == "all")]
    have = set(zip(measured["model"], measured["benchmark"]))
    logs = {(f["model"], f["benchmark"]): f["log"] for f in failures.to_dict("records")}
    out = []
    for m in (m for m in spec["models"] if m.get("kind", "base") == table):
        for b in spec["benchmarks"]:
            if (m["name"], b["name"]) not in have:
                log = logs.get((m["name"], b["name"]))
                out.append(f"{m['name']} × {b['name']}" + (f" (failed, log: {log})" if log else ""))
    return out


def context(report: dict, spec: dict, scores: pd.DataFrame, failures: pd.DataFrame, assets: dict,
            benchmarks_dir: Path) -> dict:
    base = tables.score_pivot(scores, spec, "base")
    chat = tables.score_pivot(scores, spec, "chat")
    delta = tables.reported_vs_measured(scores, spec)
    pre = report.get("pretraining", {})
    pretraining_md = ""
    if pre.get("rows"):
        pretraining_md = tabulate([[escape(str(c)) for c in row] for row in pre["rows"]],
                                         headers=[escape(c) for c in pre.get("columns", [])], tablefmt="pipe",
                                         disable_numparse=True)
    return {
        "report": report,
        "paper": report.get("paper", {}),
        "assets": assets,
        "categories": benchmark_slides(spec),
        "n_benchmarks": len(spec["benchmarks"]),
        "pretraining_table": Markup(pretraining_md),
        "base_table": Markup(tables.pivot_markdown(base)) if len(base) else None,
        "chat_table": Markup(tables.pivot_markdown(chat)) if len(chat) else None,
        "delta_tables": [(model, Markup(tables.frame_markdown(rows.drop(columns=["Model"]))))
                         for model, rows in delta.groupby("Model", sort=False)],
        "missing_note": tables.MISSING_NOTE,
        "not_evaluated": {t: not_evaluated(scores, spec, failures, t) for t in ("base", "chat")},
        "tolerance": spec.get("tolerance", 5),
        "provenance": provenance(scores, spec, benchmarks_dir),
        "reference_pages": chunks(report.get("references", []), 5),
        "models": spec["models"],
    }


def image(path: str | None, name: str) -> Markup | None:
    """An image link for a file lmdeck wrote (paths are lmdeck's, not user text), sized to fit."""
    height = IMAGE_HEIGHT.get(name, CHART_HEIGHT)
    return Markup(f"![{escape(name)} h:{height}]({path})") if path else None


def report_defaults() -> dict:
    """The schema's defaults for the `report` section (Snakemake fills them; direct callers may not)."""
    import yaml

    from lmdeck.config import SCHEMA

    props = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))["properties"]["report"]["properties"]
    return {key: prop["default"] for key, prop in props.items() if "default" in prop}


def render(report: dict, spec: dict, scores: pd.DataFrame, assets: dict, benchmarks_dir: Path,
           template_dir: Path = TEMPLATES, failures: pd.DataFrame | None = None) -> str:
    from lmdeck.scores import FAILURE_COLUMNS

    failures = failures if failures is not None else pd.DataFrame(columns=FAILURE_COLUMNS)
    report = {**report_defaults(), "paper": {}, **report}
    env = environment(template_dir)
    for section in report["sections"]:
        try:
            env.get_template(f"slides/{section}.md.j2")
        except TemplateNotFound:
            raise DeckError(f"report.sections: no template for section {section!r} "
                            f"(expected {template_dir / 'slides' / (section + '.md.j2')})") from None
    images = {k: image(v, k) for k, v in assets.items()}
    ctx = context(report, spec, scores, failures, images, benchmarks_dir)
    ctx["charts"] = [(k.removeprefix("chart_"), img) for k, img in sorted(images.items())
                     if k.startswith("chart_") and img]
    return env.get_template("deck.md.j2").render(**ctx)


def find_assets(attachments: Path, deck_dir: Path, with_preview: bool) -> dict[str, str]:
    """Images the deck shows (table renders, charts, preview), as paths relative to the deck."""
    names = [p for p in sorted(attachments.glob("Table*.png"))] + sorted((attachments / "charts").glob("chart_*.png"))
    if with_preview:
        names.append(attachments / "Preview.png")
    return {p.stem.lower() if p.stem.startswith(("Table", "Preview")) else p.stem:
            os.path.relpath(p, deck_dir) for p in names}


def write_deck(out: Path, report: dict, spec: dict, scores_csv: Path, failures_csv: Path, assets: dict,
               benchmarks_dir: Path, template_dir: Path = TEMPLATES) -> None:
    from lmdeck.scores import read, read_failures

    text = render(report, spec, read(scores_csv), assets, benchmarks_dir, template_dir, read_failures(failures_csv))
    write_text(out, text)
