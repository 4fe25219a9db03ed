"""The deck's language (`report.language`) and its structure: every fixed text from a message catalog
(templates/i18n/<language>.yaml), a zh deck with no English left, the agenda from the sections kept.

The decks are built from constructed score tables (the stress deck of tests/test_layout.py) through
lmdeck's own steps; no harness runs."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from lmdeck import cli, deck, deck_data, figures, messages
from lmdeck.messages import MessageError, t
from lmdeck.settings import ReportSpec
from test_layout import stress_inputs

TEMPLATES = ROOT / "templates"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def schema() -> dict:
    return yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------- the catalogs


def test_catalogs_have_the_same_keys_and_fields():
    en, zh = messages.catalog("en"), messages.catalog("zh")
    assert sorted(en) == sorted(zh), f"only in en: {set(en) - set(zh)}; only in zh: {set(zh) - set(en)}"
    for key in en:
        assert messages.fields(en[key]) == messages.fields(zh[key]), key
    assert schema()["properties"]["report"]["properties"]["language"]["enum"] == list(messages.LANGUAGES)


def used_keys() -> tuple[set[str], set[str], list[re.Pattern]]:
    """Keys the templates and the code look up (`_("key")`, `t("key")`), those the code names
    otherwise (a string that is a key), and patterns for keys made from a value
    (`_("categories." ~ c.category)`, `t(f"results.{table}_table")`)."""
    literal, mentioned, patterns = set(), set(), []
    for path in sorted(TEMPLATES.rglob("*.j2")):
        text = path.read_text(encoding="utf-8")
        literal |= set(re.findall(r"""_\(\s*"([a-z0-9_.]+)"\s*[,)]""", text))
        patterns += [
            re.compile(re.escape(p) + r"[a-z_]+$") for p in re.findall(r"""_\(\s*"([a-z0-9_.]+\.)"\s*~""", text)
        ]
    for path in sorted((ROOT / "src" / "lmdeck").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        literal |= set(re.findall(r"""\bt\(\s*"([a-z0-9_.]+)"\s*[,)]""", text))
        for key in re.findall(r'\bf"([a-z_]+\.[a-z_]*\{[^{}"]+\}[a-z_]*)"', text):
            patterns.append(re.compile("^" + re.sub(r"\{[^{}]+\}", "[a-z_]+", key) + "$"))
        mentioned |= set(re.findall(r'"([a-z_]+\.[a-z0-9_.]+)"', text))  # keys in a table, such as DELTA_COLUMNS
    return literal, mentioned | literal, patterns


def test_every_key_used_exists_and_every_key_is_used():
    en = messages.catalog("en")
    literal, mentioned, patterns = used_keys()
    assert literal and patterns
    assert not literal - set(en), f"looked up but in no catalog: {sorted(literal - set(en))}"
    unused = [k for k in en if k not in mentioned and not any(p.search(k) for p in patterns)]
    assert not unused, f"in the catalogs but never looked up: {unused}"
    # Keys made from a value: every value they can take has its text.
    props = schema()["properties"]
    for category in props["benchmarks"]["items"]["properties"]["category"]["enum"]:
        assert f"categories.{category}" in en
    for kind in ("base", "chat"):
        assert f"kinds.{kind}" in en
    shipped = {p.name.removesuffix(".md.j2") for p in (TEMPLATES / "slides").glob("*.md.j2")} - {"title"}
    assert {k.removeprefix("sections.") for k in en if k.startswith("sections.")} == shipped


def test_a_missing_message_fails_naming_the_catalog():
    with messages.speaking("zh"):
        with pytest.raises(MessageError, match=r"i18n/zh\.yaml: no message 'results\.nope'"):
            t("results.nope")
        with pytest.raises(MessageError, match=r"zh\.yaml: message 'labels\.measured' needs name"):
            t("labels.measured")
        assert t("labels.measured", name="m") == "m（实测）"
    with pytest.raises(MessageError, match="report.language: 'fr'"):
        messages.catalog("fr")


# ------------------------------------------------------------------------------------- decks


def build(folder: Path, language: str | None, sections: list[str] | None = None, **report_changes) -> str:
    """The stress deck (16 reported baselines, 60 subtasks) through deck-data, figures and deck."""
    report, spec, frame = stress_inputs(folder)
    report = {**report, **report_changes}
    if language:
        report["language"] = language
    if sections:
        report["sections"] = sections
    from lmdeck import scores

    scores.write(frame, folder / "scores.csv")
    attachments = folder / "attachments"
    argv = ["figures", "--scores", folder / "scores.csv", "--spec", json.dumps(spec), "--report",
            json.dumps(report, ensure_ascii=False), "--out-dir", attachments, "--charts-dir", attachments / "charts"]  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main([str(a) for a in argv]) == 0
    missing_glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing_glyphs, missing_glyphs[:3]
    data = deck_data.build(ReportSpec.from_dict(spec), frame, None, folder, language=language)
    assets = deck.find_assets(attachments, folder / "slides", with_preview=False)
    return deck.render(report, data, assets)


def heading_lines(md: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^#{1,3} (.+)$", md, flags=re.M)]


def en_fixed_texts() -> list[str]:
    """The English catalog's headings and labels (up to their first field) that a zh deck must not show."""
    en = messages.catalog("en")
    keys = [k for k in en if k.startswith("sections.") or "heading" in k]
    keys += ["common.cont", "labels.measured", "labels.average", "results.bold_note", "baselines.measured_here"]
    keys += ["reported_vs_measured.note", "provenance.tasks_note", "charts.title"]
    keys += ["evaluation_setup.note", "harness_agreement.note", "paired_comparison.all_pairs"]
    texts = {re.split(r"\{", en[k].replace("{name}", "", 1))[0].strip() for k in keys}
    return sorted(t for t in texts if len(t) > 2)


@pytest.fixture(scope="module")
def zh_deck(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zh")
    return {"md": build(folder, "zh"), "folder": folder}


def test_zh_deck_has_chinese_headings_and_no_english_fixed_text(zh_deck):
    md = zh_deck["md"]
    flat = re.sub(r" {2,}", " ", md)  # table cells without their padding
    headings = heading_lines(md)
    assert len(headings) > 20
    assert all(CJK.search(h) for h in headings), [h for h in headings if not CJK.search(h)]
    for expected in ("目录", "摘要", "预训练", "评测", "评测基准", "基线模型", "结果：基座模型", "参考文献"):
        assert expected in headings, expected
    assert "基线模型（续）" in headings and "结果：基座模型（续）" in headings
    assert "### 得分：考试" in md and "### 得分：考试（对话模型）" in md
    # As words: user text (a model named "...-Pretrained-...") may hold one inside a word.
    leftover = [text for text in en_fixed_texts() if re.search(rf"(?<![\w-]){re.escape(text)}(?![\w-])", md)]
    assert not leftover, leftover
    assert "| 模型 |" in flat and "| 平均 |" in flat and "（实测）" in md and "| 评测基准 | 报告值 | 实测值 |" in flat
    assert "| 评测基准 | 评测框架 | 题目数 | 示例数 | 指标 | 最小可检测差异 |" in flat
    assert "\nlang: zh-CN\n---\n" in md.split("<!--", 1)[0]  # the front matter
    # User texts are shown as written: the report's English abstract and references stay English.
    assert "vivo AI Lab's BlueLM\\-7B" in md or "vivo AI Lab's BlueLM-7B" in md
    assert "Touvron et al" in md


def test_zh_charts_and_table_images_are_drawn_with_a_cjk_font(zh_deck):
    with messages.speaking("zh"):
        families = figures.configure_fonts()
    assert any("CJK" in family for family in families)
    charts = sorted((zh_deck["folder"] / "attachments" / "charts").glob("*.png"))
    assert [p.name for p in charts][:2] == ["chart_coding.png", "chart_coding_chat.png"]
    assert (zh_deck["folder"] / "attachments" / "Table2.png").stat().st_size > 1000


def test_agenda_lists_the_sections_kept_in_their_order(tmp_path, capfd):
    sections = ["title", "agenda", "references", "abstract", "pretraining", "baselines", "results", "charts"]
    md = build(tmp_path, "zh", sections, pretraining={}, baselines={}, references=[])
    err = capfd.readouterr().err
    for section, why in (("pretraining", "report.pretraining"), ("baselines", "report.baselines")):
        assert f"lmdeck deck: section {section!r} left out: no {why}" in err
    assert "section 'references' left out: no report.references" in err
    agenda = md.split("## 目录", 1)[1].split("\n---\n", 1)[0]
    assert re.findall(r"^(\d+)\. (.+)$", agenda, flags=re.M) == [("1", "摘要"), ("2", "结果"), ("3", "得分图")]
    assert "## 预训练" not in md and "### 基线模型" not in md and "## 参考文献" not in md


def test_en_agenda_and_evaluation_follow_the_sections(tmp_path, capfd):
    sections = ["title", "agenda", "evaluation", "benchmarks", "paper_tables", "results", "examples", "provenance"]
    md = build(tmp_path, None, sections)
    assert "section 'paper_tables' left out" in capfd.readouterr().err
    agenda = md.split("## Agenda", 1)[1].split("\n---\n", 1)[0]
    names = ["Evaluation", "Benchmarks", "Results", "Provenance"]
    assert re.findall(r"^\d+\. (.+)$", agenda, flags=re.M) == names
    evaluation = md.split("## Evaluation", 1)[1].split("\n---\n", 1)[0]
    assert re.findall(r"^- (.+)$", evaluation, flags=re.M) == ["Benchmarks", "Results"]  # the back matter aside
    assert "### Results: base models" in md and "| Model |" in re.sub(r" {2,}", " ", md)
    assert "lang:" not in md.split("\n---\n", 1)[0]
