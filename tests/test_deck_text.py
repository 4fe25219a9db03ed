"""Text is data: whatever the config's text holds, the deck keeps its theme, footer, slide count
and shows the text literally. A hostile report goes through lmdeck's own steps (deck-data, deck,
figures, export) and the real marp-cli; the html is read back as text content."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

import matplotlib.text
import pytest
import yaml

from conftest import ROOT
from lmdeck.settings import ReportSpec
from lmdeck import cli, scores

# What config text may hold: Markdown at a line start, Marp directives in HTML comments, YAML,
# Jinja, math, emoji shortcodes, HTML, entities, table pipes, backslashes, line breaks.
TITLE = 'Title "quoted": [link](x) *bold* #tag {{ 7*7 }} back\\slash\nkey: value $x$ :smile: <!-- theme: gaia -->'
PAPER_TITLE = "Paper: 'a' | b `code` --- &amp; #"
HOSTILE = {
    "subtitle": "- not a list <script>alert(1)</script>",
    "abstract": "# Not a heading\n---\n<!-- _class: injected -->\n    indented $$E=mc^2$$ :+1: &amp; <http://x.org>",
    "evaluation": "1. not a list\n> not a quote",
    "intro": "> baselines intro ===",
    "baseline_name": "Base|line *",
    "baseline_text": ":smile: $y$ <b>b</b>",
    "category_intro": "*intro* --- $z$",
    "caption": "Mix: *all* $x$ | caption",
    "description": "<script>alert(1)</script> --- $q$ :smile: [x](javascript:alert(1))",
}
REFERENCES = [
    "---",
    "# h",
    "- item",
    "+ item",
    "2) item",
    "10. item",
    "> quote",
    "===",
    "***",
    "    code",
    "\tcode",
    "<!-- theme: gaia -->",
    "<!-- _class: injected -->",
    "<!-- paginate: false -->",
    "$$x$$",
    "[ref]: http://x.org",
    "```",
    "~~~",
    "| a | b |",
    "<script>alert(1)</script>",
    "&amp; &#35;",
    ":smile: :+1: :thumbs_up:",
    "![img](x.png)",
    "key: value",
    "{{ 7*7 }}",
    "back\\slash\\",
    "line1\nline2\r\n# line3",
    "  - spaced",
    "<http://example.org>",
    "1:2:3 x:y",
]
PRETRAIN_COLUMNS = ["Data | source", "Share $%$"]
PRETRAIN_ROWS = [["web\n# text", "80 :smile:"], ["<!-- _class: injected -->", "1. x"]]
NOTES = ["---", "# note", "1) n"]
DISPLAY_NAME = "Model $\\alpha$ | <b>x</b> :smile: #1"
REPORTED_MODEL = "Rep $x$ *y*"


WORD_JOINER = "\u2060"  # invisible; lmdeck.markdown puts it in `:name:` so Marp shows no emoji


def normal(text: str) -> str:
    """Text as a reader sees it: whitespace collapsed (as html does), the invisible word joiner
    (it splits an emoji shortcode) dropped."""
    return " ".join(text.replace(WORD_JOINER, "").split())


def text_of(value: str) -> str:
    return value if not value else normal(value)


def inputs(text) -> tuple[dict, dict, list]:
    """Report, spec and score rows, with every user string passed through `text` (the identity
    for the hostile deck, a plain word for its twin)."""
    name, reported_name = text(DISPLAY_NAME), text(REPORTED_MODEL)
    report = {
        "name": "x",
        "title": text(TITLE),
        "subtitle": text(HOSTILE["subtitle"]),
        "paper": {"title": text(PAPER_TITLE), "url": "https://example.org/paper"},
        "abstract": text(HOSTILE["abstract"]),
        "evaluation": text(HOSTILE["evaluation"]),
        "pretraining": {
            "caption": text(HOSTILE["caption"]),
            "columns": [text(c) for c in PRETRAIN_COLUMNS],
            "rows": [[text(c) for c in row] for row in PRETRAIN_ROWS],
            "notes": [text(n) for n in NOTES],
        },
        "category_intros": {"exams": text(HOSTILE["category_intro"])},
        "baselines": {
            "intro": text(HOSTILE["intro"]),
            "models": [{"name": text(HOSTILE["baseline_name"]), "text": text(HOSTILE["baseline_text"])}],
        },
        "references": [text(r) for r in REFERENCES],
    }
    spec = ReportSpec.filled(
        {
            "models": [{"name": "m1", "display_name": name, "kind": "base", "reported_as": reported_name}],
            "benchmarks": [
                {
                    "name": "B1",
                    "category": "exams",
                    "shots": 0,
                    "metric": "acc",
                    "harness": "lm-eval",
                    "format": "mmlu",
                    "description": text(HOSTILE["description"]),
                    "reference": text("[1]"),
                }
            ],
            "reported": [],
        }
    )
    rows = []
    for model, source, score in (("m1", "measured", 50.0), (reported_name, "reported", 40.0)):
        row = {c: None for c in scores.COLUMNS}
        row.update(
            model=model,
            benchmark="B1",
            subtask="all",
            harness="lm-eval",
            metric="acc",
            shots=0,
            score=score,
            stderr=1.0,
            n=10,
            source=source,
            started="2026-01-01T00:00:00+00:00",
            category="exams",
            table="base",
            model_sha256="abc",
            data_sha256="def",
        )
        rows.append(row)
    return report, spec, rows


def build_deck(folder, text) -> dict:
    """The steps the workflow runs: deck-data, deck, html export (marp-cli, offline)."""
    import pandas as pd

    report, spec, rows = inputs(text)
    folder.mkdir(parents=True)
    scores.write(pd.DataFrame(rows, columns=scores.COLUMNS), folder / "scores.csv")
    scores.write_failures([], folder / "failures.csv")
    (folder / "benchmarks").mkdir()
    (folder / "attachments").mkdir()
    md, html = folder / "slides" / "x.md", folder / "slides" / "x.html"
    for argv in (
        [
            "deck-data",
            "--scores",
            str(folder / "scores.csv"),
            "--spec",
            json.dumps(spec),
            "--failures",
            str(folder / "failures.csv"),
            "--benchmarks-dir",
            str(folder / "benchmarks"),
            "--out",
            str(folder / "x.json"),
        ],
        [
            "deck",
            "--data",
            str(folder / "x.json"),
            "--report",
            json.dumps(report),
            "--attachments",
            str(folder / "attachments"),
            "--out",
            str(md),
        ],
        [
            "export",
            "--format",
            "html",
            "--deck",
            str(md),
            "--theme",
            str(ROOT / "templates" / "lmdeck.css"),
            "--out",
            str(html),
        ],
    ):
        assert cli.main(argv) == 0, argv[0]
    return {"md": md.read_text(encoding="utf-8"), "slides": slides_of(html.read_text(encoding="utf-8"))}


class Slides(HTMLParser):
    """Marp's html, slide by slide: the section's attributes, the tags inside it, and the text
    of each block (paragraph, heading, list item, table cell, footer)."""

    BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "footer", "header"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.slides: list[dict] = []
        self.inside = False
        self.open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.slides.append({"attrs": dict(attrs), "tags": Counter(), "blocks": [], "links": []})
            self.inside = True
            return
        if self.inside:
            self.slides[-1]["tags"][tag] += 1
            if tag == "a":
                self.slides[-1]["links"].append(dict(attrs).get("href"))
            if tag in self.BLOCKS:
                self.open.append((tag, []))

    def handle_endtag(self, tag):
        if tag == "section":
            self.inside = False
        elif self.inside and self.open and self.open[-1][0] == tag:
            tag, parts = self.open.pop()
            self.slides[-1]["blocks"].append((tag, normal("".join(parts))))

    def handle_data(self, data):
        for _, parts in self.open:
            parts.append(data)


def slides_of(html: str) -> list[dict]:
    parser = Slides()
    parser.feed(html)
    return parser.slides


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return build_deck(tmp_path_factory.mktemp("hostile") / "run", lambda s: s)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The same deck with every user string a plain word: the slide count to expect."""
    return build_deck(tmp_path_factory.mktemp("plain") / "run", lambda s: "plain")


def expected_footer() -> str:
    return normal(f"{TITLE} · {PAPER_TITLE}")


def test_front_matter_is_yaml_with_the_theme_and_footer(hostile):
    match = re.match(r"---\n(.*?)\n---\n", hostile["md"], flags=re.S)
    assert match, hostile["md"][:500]
    directives = yaml.safe_load(match.group(1))
    assert {k: directives[k] for k in ("marp", "theme", "paginate")} == {
        "marp": True,
        "theme": "lmdeck",
        "paginate": True,
    }
    assert set(directives) == {"marp", "theme", "paginate", "footer"}
    # Marp reads the footer as Markdown: every slide shows the title and paper title as written.
    footers = [[text for tag, text in s["blocks"] if tag == "footer"] for s in hostile["slides"]]
    assert footers == [[expected_footer()]] * len(hostile["slides"])


def test_no_text_adds_a_slide_theme_class_or_element(hostile, plain):
    assert len(hostile["slides"]) == len(plain["slides"]) > 10
    for slide, twin in zip(hostile["slides"], plain["slides"]):
        assert slide["attrs"].get("data-theme") == "lmdeck", slide["attrs"]
        assert slide["attrs"].get("class") == twin["attrs"].get("class"), slide["attrs"]
        assert slide["attrs"].get("data-marpit-pagination") == twin["attrs"].get("data-marpit-pagination")
        # Same elements as with plain text (no script, emoji image, math, heading, list, code, rule),
        # but for links: Marp links a bare http(s) URL in the text (its text stays the URL).
        assert slide["tags"] - Counter(a=99) == twin["tags"] - Counter(a=99), (slide["blocks"], twin["blocks"])
    assert not any(s["tags"]["script"] or s["tags"]["mjx-container"] for s in hostile["slides"])
    links = [href for s in hostile["slides"] for href in s["links"]]
    assert set(links) == {"https://example.org/paper", "http://x.org", "http://example.org"}, links


def blocks(slides: list[dict], tag: str | None = None) -> list[str]:
    return [text for s in slides for t, text in s["blocks"] if tag in (None, t)]


def test_every_reference_is_one_literal_paragraph(hostile):
    refs = [s for s in hostile["slides"] if s["attrs"].get("class") == "refs"]
    assert blocks(refs, "p") == [text_of(r) for r in REFERENCES]


def test_text_fields_render_literally(hostile):
    shown = blocks(hostile["slides"])
    title_slide = blocks(hostile["slides"][:1])
    assert normal(TITLE) in blocks(hostile["slides"][:1], "h1")
    assert normal(HOSTILE["subtitle"]) in title_slide and normal(PAPER_TITLE) in title_slide
    for key in ("abstract", "evaluation", "intro", "category_intro", "caption"):
        assert normal(HOSTILE[key]) in shown, key
    assert normal(f"{HOSTILE['baseline_name']} : {HOSTILE['baseline_text']}") in shown
    assert normal(f"B1 [1]: {HOSTILE['description']}") in " ".join(shown)
    for note in NOTES:
        assert note in blocks(hostile["slides"], "li"), note
    cells = blocks(hostile["slides"], "td") + blocks(hostile["slides"], "th")
    for cell in PRETRAIN_COLUMNS + [c for row in PRETRAIN_ROWS for c in row]:
        assert normal(cell) in cells, cell
    assert normal(f"{DISPLAY_NAME} (measured)") in cells and REPORTED_MODEL in cells
    assert normal(f"Reported vs. reproduced: {DISPLAY_NAME} as {REPORTED_MODEL}") in blocks(hostile["slides"], "h3")


def test_figures_draw_user_text_literally(tmp_path, monkeypatch):
    """Table PNGs and charts: `$` in a model name or a table cell is drawn as written, not as
    mathtext (matplotlib's own check on every text it draws)."""
    import pandas as pd

    report, spec, rows = inputs(lambda s: s)
    scores.write(pd.DataFrame(rows, columns=scores.COLUMNS), tmp_path / "scores.csv")
    drawn = []
    draw = matplotlib.text.Text.draw

    def recording_draw(self, renderer):
        text = self.get_text()
        drawn.append((text, self._preprocess_math(text)))
        return draw(self, renderer)

    monkeypatch.setattr(matplotlib.text.Text, "draw", recording_draw)
    assert (
        cli.main(
            [
                "figures",
                "--scores",
                str(tmp_path / "scores.csv"),
                "--spec",
                json.dumps(spec),
                "--report",
                json.dumps(report),
                "--out-dir",
                str(tmp_path / "att"),
                "--charts-dir",
                str(tmp_path / "att" / "charts"),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "att").rglob("*.png")) == [
        "Table1.png",
        "Table2.png",
        "Table3.png",
        "chart_exams.png",
    ]
    texts = {text for text, _ in drawn}
    for label in (f"{DISPLAY_NAME} (measured)", REPORTED_MODEL, HOSTILE["caption"], PRETRAIN_COLUMNS[1]):
        assert label in texts, label
    # Each string is drawn as itself: no mathtext, no TeX, `\$` not unescaped.
    assert [(t, how) for t, how in drawn if how != (t, False)] == []
