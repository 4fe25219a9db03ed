"""Render the Marp deck: one Jinja2 template per slide kind, ordered by the config's `sections`.

Templating only: the numbers come from the report's deck data (lmdeck.deck_data, a JSON
written from the scores), the text from the config's `report`, the images from the
attachments folder. No pandas here, so a template or text edit re-renders in a fraction of
a second.

Every value printed into the Markdown is escaped (lmdeck.markdown.escape) unless it is
Markdown lmdeck generated itself (tables, image links), which is marked with `Markup`. The
front matter is written by a YAML serialiser, never pasted. Marp's HTML stays disabled as
well, so user text can neither break nor script the deck, nor change its theme or footer.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, TemplateNotFound, Undefined
from markupsafe import Markup
from tabulate import tabulate

from lmdeck import messages, paginate, resources
from lmdeck.console import notice
from lmdeck.fileio import write_text
from lmdeck.markdown import code_block, escape, fmt, safe_url
from lmdeck.messages import t
from lmdeck.settings import ReportSpec, with_schema_defaults

TEMPLATES = resources.templates()  # the default; `report.templates` / --templates replace it


SLIDE_BREAK = Markup("\n\n---\n\n")  # blank lines around it, else Markdown reads a heading underline
# Image sizes per asset kind (Marp's `h:` image keyword), so images fit the 16:9 slide.
IMAGE_HEIGHT = {"preview": 330, "table1": 420, "table2": 470, "table3": 470}
CHART_HEIGHT = 500
# The paper's table crops: shown at 1.8 CSS px per PDF point (its 9-10 pt text at about 17 px),
# stacked on a slide while they fit the room below the heading; a larger one is scaled to fit.
PAPER_TABLE_SCALE = 1.8
PAPER_TABLES_ROOM = (1160, 500)  # width, height in CSS px (1280 x 720 slide less padding and heading)
PAPER_TABLE_CAPTION = 34  # px of a crop's caption line


LANG_TAGS = {"en": "en", "zh": "zh-CN"}  # report.language -> the deck's html lang (BCP 47)


class DeckError(ValueError):
    pass


def shown(value):
    """A value as printed into the Markdown: escaped unless lmdeck generated it (`Markup`)."""
    # Optional config text may be absent: it prints as nothing.
    if isinstance(value, Undefined) or value is None:
        return ""
    if isinstance(value, Markup):
        return value
    if isinstance(value, float):
        return fmt(value)
    return escape(value)


def message(key: str, **values) -> Markup:
    """`_(key, field=value)` in a template: the catalog's text (lmdeck's own Markdown, kept as
    written) in the deck's language, its fields escaped as any printed value."""
    return Markup(t(key, **{name: shown(value) for name, value in values.items()}))


def section_name(section: str) -> Markup:
    """A section's name in the agenda; a section of the user's own templates, which no catalog
    names, is called by its own name (user text, never translated)."""
    key = f"sections.{section}"
    return message(key) if key in messages.catalog(messages.current()) else Markup(escape(section.replace("_", " ")))


def measured_model(model: dict, markdown: bool = True) -> str:
    """One measured model as the baselines slide lists it: name, kind, the reported model it is compared with."""
    name = escape(model.get("display_name") or model["name"])
    name = f"**{name}**" if markdown else name
    kind = t(f"kinds.{model.get('kind', 'base')}")
    if model.get("reported_as"):
        return Markup(
            t("baselines.measured_reported_as", name=name, kind=kind, reported_as=escape(model["reported_as"]))
        )
    return Markup(t("baselines.measured", name=name, kind=kind))


def environment(template_dir: Path = TEMPLATES) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(template_dir)),
        finalize=shown,
        undefined=ChainableUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.globals["slide_break"] = SLIDE_BREAK
    env.globals["_"] = message
    env.globals["section_name"] = section_name
    env.globals["measured_model"] = measured_model
    env.filters["url"] = lambda url: Markup(safe_url(url))
    env.filters["code_block"] = lambda text: Markup(code_block(text))
    return env


def image(path: str | None, name: str) -> Markup | None:
    """An image link for a file lmdeck wrote (paths are lmdeck's, not user text), sized to fit."""
    height = IMAGE_HEIGHT.get(name, CHART_HEIGHT)
    return Markup(f"![{escape(name)} h:{height}]({path})") if path else None


def front_matter(report: dict, paper: dict) -> Markup:
    """Marp's global directives as YAML: the serialiser quotes whatever the text holds. The footer
    is Marp Markdown itself, so its text is escaped for Markdown first."""
    import yaml

    footer = f"{escape(report['title'])} · {escape(paper.get('title') or report['name'])}"
    directives = {"marp": True, "theme": "lmdeck", "paginate": True, "footer": footer}
    if report["language"] != "en":  # the html's lang: CJK line breaking and glyph forms
        directives["lang"] = LANG_TAGS[report["language"]]
    # One line per directive (no folding): Marp's loose YAML reads a directive's value line by line.
    return Markup(yaml.safe_dump(directives, sort_keys=False, allow_unicode=True, width=math.inf).rstrip("\n"))


def pretraining_table(report: dict) -> Markup:
    pre = report.get("pretraining", {})
    if not pre.get("rows"):
        return Markup("")
    return Markup(
        tabulate(
            [[escape(str(c)) for c in row] for row in pre["rows"]],
            headers=[escape(c) for c in pre.get("columns", [])],
            tablefmt="pipe",
            disable_numparse=True,
        )
    )


# The results and reported-vs-measured slides explain their bold and verdicts in a two-line note.
TWO_LINE_NOTE_BUDGET_PX = paginate.CONTENT_HEIGHT_PX - paginate.HEADING_PX - 2 * paginate.FOOTNOTE_PX


def with_markup(data: dict) -> dict:
    """The deck data's tables are Markdown that lmdeck.tables generated (cells escaped there).
    Each also comes split into the slides it needs (`<key>_pages`, lmdeck.paginate)."""
    data = dict(data)
    for key in ("base_table", "chat_table"):
        data[key] = Markup(data[key]) if data.get(key) else None
        data[key.replace("_table", "_pages")] = (
            [Markup(p) for p in paginate.table_pages(data[key], budget_px=TWO_LINE_NOTE_BUDGET_PX)] if data[key] else []
        )
    data["delta_tables"] = [(model, Markup(table)) for model, table in data.get("delta_tables", [])]
    data["delta_pages"] = [
        (model, [Markup(p) for p in paginate.table_pages(table, repeat_columns=0, budget_px=TWO_LINE_NOTE_BUDGET_PX)])
        for model, table in data["delta_tables"]
    ]
    return data


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG from its header (no image library in the deck step)."""
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise DeckError(f"{path}: not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def find_paper_tables(attachments: Path, deck_dir: Path, report: dict) -> list[dict]:
    """report.paper.tables whose crop is there (`lmdeck paper-tables` leaves it empty when no PDF
    was available), in config order, with its path relative to the deck and its display size."""
    from lmdeck.paper_tables import RESOLUTION

    found = []
    for table in (report.get("paper") or {}).get("tables", []):
        png = Path(attachments) / "paper" / f"{table['name']}.png"
        if not png.is_file() or png.stat().st_size == 0:
            continue
        width, height = (px * 72 / RESOLUTION * PAPER_TABLE_SCALE for px in png_size(png))
        fit = min(1.0, PAPER_TABLES_ROOM[0] / width, (PAPER_TABLES_ROOM[1] - PAPER_TABLE_CAPTION) / height)
        found.append({**table, "path": os.path.relpath(png, deck_dir), "height": int(height * fit)})
    return found


def paper_table_slides(tables: list[dict]) -> list[list[dict]]:
    """The crops in order, as many on a slide as fit stacked (each with its caption line)."""
    slides: list[list[dict]] = []
    used = PAPER_TABLES_ROOM[1]
    for table in tables:
        shown = {**table, "image": Markup(f"![{escape(table['name'])} h:{table['height']}]({table['path']})")}
        if used + table["height"] + PAPER_TABLE_CAPTION > PAPER_TABLES_ROOM[1]:
            slides.append([])
            used = 0
        slides[-1].append(shown)
        used += table["height"] + PAPER_TABLE_CAPTION
    return slides


# What each section needs to show anything: without it the section is left out with a console note
# (a deck never shows an empty slide), and the agenda and its numbering follow the sections kept.
WHEN_EMPTY = {
    "abstract": (lambda ctx: ctx["report"].get("abstract") or ctx["paper"].get("code"), "no report.abstract"),
    "pretraining": (lambda ctx: ctx["report"].get("pretraining"), "no report.pretraining"),
    "benchmarks": (lambda ctx: ctx.get("categories"), "no benchmarks"),
    "baselines": (
        lambda ctx: (ctx["report"].get("baselines") or {}).get("models")
        or (ctx["report"].get("baselines") or {}).get("intro"),
        "no report.baselines",
    ),
    "paper_tables": (
        lambda ctx: ctx.get("paper_table_slides"),
        "no paper table crops (report.paper.tables empty, or no PDF was available)",
    ),
    "results": (lambda ctx: ctx.get("base_table") or ctx.get("chat_table"), "no scores to tabulate"),
    "reported_vs_measured": (
        lambda ctx: ctx.get("delta_tables"),
        "no model is compared with reported scores (models[].reported_as, with rows in a reported file)",
    ),
    "charts": (lambda ctx: ctx.get("charts") or ctx.get("chat_charts"), "no charts (no scores to plot)"),
    "examples": (lambda ctx: ctx.get("examples"), "no per-item records to take examples from"),
    "references": (lambda ctx: ctx["report"].get("references"), "no report.references"),
    # These two list the sections kept: decided after the others, in this order.
    "evaluation": (lambda ctx: ctx["report"].get("evaluation") or ctx["evaluation_parts"], "no report.evaluation"),
    "agenda": (lambda ctx: ctx["agenda"], "no sections to list"),
}
LISTING_SECTIONS = ("evaluation", "agenda")
# Sections around the evaluation: the evaluation slide lists the other sections that follow it.
FRAME_SECTIONS = {"title", "agenda", "evaluation", "provenance", "references"}


def structure(sections: list[str]) -> dict:
    """The agenda (every section but the title and the agenda itself, in deck order) and the
    evaluation slide's parts (the sections after it, the back matter aside)."""
    after = sections[sections.index("evaluation") + 1 :] if "evaluation" in sections else []
    return {
        "agenda": [s for s in sections if s not in ("title", "agenda")],
        "evaluation_parts": [s for s in after if s not in FRAME_SECTIONS],
    }


def drop_empty_sections(sections: list[str], ctx: dict) -> list[str]:
    """The sections that have something to show; `ctx` gets the agenda and the evaluation parts of those."""
    kept = list(sections)
    content = [s for s in WHEN_EMPTY if s not in LISTING_SECTIONS]
    for stage in (content, *([s] for s in LISTING_SECTIONS)):
        ctx.update(structure(kept))
        for section in [s for s in kept if s in stage]:
            has_content, why = WHEN_EMPTY[section]
            if not has_content(ctx):
                notice(f"lmdeck deck: section {section!r} left out: {why}")
                kept.remove(section)
    ctx.update(structure(kept))
    return kept


def baseline_pages(report: dict, models: list[dict]) -> list[list[dict]]:
    """The baselines list over as many slides as it needs; the intro and the "Measured here" line
    (first and last slide) are held back from the room."""
    baselines = report.get("baselines") or {}
    items = baselines.get("models") or []
    texts = [f"{m.get('name', '')} {m.get('reference', '')}: {m.get('text', '')}" for m in items]
    measured = t("baselines.measured_here") + t("common.list_sep").join(
        measured_model(m, markdown=False) for m in models
    )
    return paginate.list_pages(items, texts, intro=baselines.get("intro") or "", closing=measured)


def render(
    report: dict, data: dict, assets: dict, template_dir: Path = TEMPLATES, paper_tables: list[dict] | None = None
) -> str:
    # The schema's defaults (the workflow's validation filled them; a direct caller may not have).
    report = {"paper": {}, **with_schema_defaults(report, "report")}
    with messages.speaking(report["language"]):
        return _render(report, data, assets, template_dir, paper_tables)


def _render(report: dict, data: dict, assets: dict, template_dir: Path, paper_tables: list[dict] | None) -> str:
    env = environment(template_dir)
    for section in report["sections"]:
        try:
            env.get_template(f"slides/{section}.md.j2")
        except TemplateNotFound:
            raise DeckError(
                f"report.sections: no template for section {section!r} "
                f"(expected {template_dir / 'slides' / (section + '.md.j2')})"
            ) from None
    images = {k: image(v, k) for k, v in assets.items()}
    category_order = [c["category"] for c in data.get("categories", [])]
    ctx = {
        **with_markup(data),
        "report": report,
        "paper": report.get("paper", {}),
        "front_matter": front_matter(report, report.get("paper") or {}),
        "assets": images,
        "pretraining_table": pretraining_table(report),
        "missing_note": message("common.missing"),
        "baseline_pages": baseline_pages(report, data.get("models", [])),
        "reference_pages": paginate.pages_of(report["references"], report["references"]),
        # In category order (as the tables), base models' charts first, then the chat models'.
        "charts": [(c, images[f"chart_{c}"]) for c in category_order if images.get(f"chart_{c}")],
        "chat_charts": [(c, images[f"chart_{c}_chat"]) for c in category_order if images.get(f"chart_{c}_chat")],
        "paper_table_slides": paper_table_slides(paper_tables or []),
    }
    # The agenda is made from the sections kept, after the empty ones are left out.
    ctx["report"] = {**report, "sections": drop_empty_sections(report["sections"], ctx)}
    return env.get_template("deck.md.j2").render(**ctx)


def find_assets(attachments: Path, deck_dir: Path, with_preview: bool) -> dict[str, str]:
    """Images the deck shows (table renders, charts, preview), as paths relative to the deck. An
    empty Preview.png is the preview step's "no candidate was available": no preview then."""
    names = [p for p in sorted(attachments.glob("Table*.png"))] + sorted((attachments / "charts").glob("chart_*.png"))
    if with_preview and (attachments / "Preview.png").stat().st_size > 0:
        names.append(attachments / "Preview.png")
    return {
        p.stem.lower() if p.stem.startswith(("Table", "Preview")) else p.stem: os.path.relpath(p, deck_dir)
        for p in names
    }


def write_deck(
    out: Path,
    report: dict,
    data_json: Path,
    assets: dict,
    template_dir: Path = TEMPLATES,
    paper_tables: list[dict] | None = None,
) -> None:
    data = json.loads(Path(data_json).read_text(encoding="utf-8"))
    write_text(out, render(report, data, assets, template_dir, paper_tables))


def render_scores(
    report: dict,
    spec: ReportSpec,
    scores,
    assets: dict,
    benchmarks_dir: Path,
    template_dir: Path | None = None,
    failures=None,
) -> str:
    """The deck-data and deck steps in one call, from a score table (tests, the render-scale benchmark)."""
    from lmdeck import deck_data

    return render(report, deck_data.build(spec, scores, failures, benchmarks_dir), assets, template_dir or TEMPLATES)
