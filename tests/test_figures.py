import logging
import math
import struct
import warnings
from pathlib import Path

import pandas as pd
import pytest

from lmdeck import figures
from lmdeck.figures import (
    MISSING,
    best_mask,
    bold_cells,
    cell_text,
    configure_fonts,
    pdf_first_page_png,
    render_category_charts,
    render_table_png,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_PDF = ROOT / ".." / "shared" / "reference" / "BlueLM_technical_report.pdf"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert data.rstrip(b"\x00")[-8:-4] == b"IEND"
    return struct.unpack(">II", data[16:24])


def pivot(n_cols: int, models=("BlueLM-7B", "Qwen-7B", "LLaMA2-7B")) -> pd.DataFrame:
    cols = [f"Bench{j}" for j in range(n_cols - 1)] + ["Average"]
    data = [[10.0 + 7 * i + 3 * j for j in range(n_cols)] for i in range(len(models))]
    frame = pd.DataFrame(data, index=pd.Index(list(models), name="Model"), columns=cols)
    frame.iloc[0, 0] = math.nan
    return frame


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------- tables


def test_table_png_written_and_valid(tmp_path):
    out = render_table_png(pivot(4), tmp_path / "t.png", title="Base models", note="–: not reported")
    assert out == tmp_path / "t.png"
    width, height = png_size(out)
    assert width > 300 and height > 100
    import matplotlib.image

    assert matplotlib.image.imread(out).shape[:2] == (height, width)
    assert no_temp_files(tmp_path)


def test_table_grows_with_columns(tmp_path):
    narrow = png_size(render_table_png(pivot(3), tmp_path / "narrow.png"))
    wide = png_size(render_table_png(pivot(10), tmp_path / "wide.png"))
    assert wide[0] > narrow[0] * 2
    taller = png_size(render_table_png(pivot(3, models=[f"m{i}" for i in range(8)]), tmp_path / "tall.png"))
    assert taller[1] > narrow[1]


def test_table_is_deterministic(tmp_path):
    frame = pivot(6)
    a = render_table_png(frame, tmp_path / "a.png", title="T", note="n")
    b = render_table_png(frame.copy(), tmp_path / "b.png", title="T", note="n")
    assert a.read_bytes() == b.read_bytes()


def test_chinese_label_renders_without_glyph_warnings(tmp_path, caplog):
    families = configure_fonts()
    assert len(families) == 2 and "CJK" in families[1], families
    frame = pivot(4, models=("蓝心大模型-7B (measured)", "通义千问-7B", "LLaMA2-7B"))
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        render_table_png(frame, tmp_path / "zh.png", title="中文标题 scores", note="注：– 表示未报告")
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "missing from font" in m or "Glyph" in m or "findfont" in m], messages


def test_cell_text():
    assert cell_text(math.nan) == MISSING == "–"
    assert cell_text(None) == MISSING
    assert cell_text(pd.NA) == MISSING
    assert cell_text(0.0) == "0.0"
    assert cell_text(-0.01) == "0.0"
    assert cell_text(45.26) == "45.3"
    assert cell_text(100) == "100"
    assert cell_text("12.5%") == "12.5%"
    assert cell_text("中文网页") == "中文网页"


def test_best_per_column_bold():
    frame = pd.DataFrame(
        {
            "A": [50.0, 70.0, math.nan],
            "B": [math.nan, math.nan, math.nan],
            "C": [60.04, 59.0, 60.01],
            "Average": [1.0, 2.0, 3.0],
        },
        index=["x", "y", "z"],
    )
    mask = best_mask(frame)
    assert mask["A"].tolist() == [False, True, False]
    assert mask["B"].tolist() == [False, False, False]  # all missing: nothing bold
    assert mask["C"].tolist() == [True, False, True]  # equal as shown (60.0): both bold
    assert mask["Average"].tolist() == [False, False, True]
    assert bold_cells(frame).equals(mask)  # all-numeric frame: bold by default


def test_string_table_is_not_bold(tmp_path):
    mix = pd.DataFrame(
        {
            "Dataset": ["Web", "中文网页", "Code"],
            "Tokens (B)": ["1,200", "900", "300"],
            "Share": ["50%", "37.5%", "12.5%"],
        }
    )
    assert not bold_cells(mix).to_numpy().any()
    mixed = mix.assign(Weight=[1.5, 0.5, 2.0])  # a numeric column in a general table: still no bold
    assert not bold_cells(mixed).to_numpy().any()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = render_table_png(mix, tmp_path / "mix.png", title="Pre-training data")
    assert png_size(out)[0] > 200
    assert not [w for w in caught if "Glyph" in str(w.message)]


# ------------------------------------------------------------------------------------- charts


def chart_scores() -> pd.DataFrame:
    rows = []
    for label, source in [("BlueLM-7B", "reported"), ("蓝心-7B (measured)", "measured")]:
        for bench, score in [("C-Eval", 72.7), ("MMLU", 50.5), ("GSM8K", 27.2)]:
            if (label, bench) == ("BlueLM-7B", "MMLU"):
                continue  # a missing value: no bar
            rows.append(
                {"model": label.split(" ")[0], "benchmark": bench, "score": score, "source": source, "label": label}
            )
    return pd.DataFrame(rows)


def test_category_charts_one_file_per_category_with_data(tmp_path):
    categories = {"exams": ["C-Eval", "MMLU"], "math": ["GSM8K", "MATH"], "coding": ["HumanEval"], "reasoning": []}
    labels = ["BlueLM-7B", "蓝心-7B (measured)"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = render_category_charts(chart_scores(), categories, tmp_path, labels)
    assert got == {"exams": tmp_path / "chart_exams.png", "math": tmp_path / "chart_math.png"}
    for path in got.values():
        assert png_size(path)[0] > 300
    assert not (tmp_path / "chart_coding.png").exists()
    assert not (tmp_path / "chart_reasoning.png").exists()
    assert no_temp_files(tmp_path)
    assert not [w for w in caught if "Glyph" in str(w.message) or "missing from font" in str(w.message)]


def test_category_charts_only_listed_labels_and_deterministic(tmp_path):
    categories = {"exams": ["C-Eval", "MMLU"]}
    a = render_category_charts(chart_scores(), categories, tmp_path / "a", ["BlueLM-7B", "蓝心-7B (measured)"])
    b = render_category_charts(chart_scores(), categories, tmp_path / "b", ["BlueLM-7B", "蓝心-7B (measured)"])
    assert a["exams"].read_bytes() == b["exams"].read_bytes()
    # A label with no scores at all in the category: no chart.
    assert render_category_charts(chart_scores(), {"math": ["MATH"]}, tmp_path / "c", ["BlueLM-7B"]) == {}


def test_chart_legend_names_the_models_and_bars_carry_their_values(tmp_path, monkeypatch):
    """The legend says whose bar is whose (in the models' order), the value labels say the scores."""
    from lmdeck import figures

    drawn = []
    save = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, path: (drawn.append(fig), save(fig, path)))
    labels = ["BlueLM-7B", "蓝心-7B (measured)"]
    render_category_charts(chart_scores(), {"exams": ["C-Eval", "MMLU"]}, tmp_path, labels)
    [fig] = drawn
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert legend[: len(labels)] == labels
    values = {text.get_text() for text in fig.axes[0].texts}
    scores = chart_scores()
    assert {f"{v:.1f}" for v in scores[scores["benchmark"].isin(["C-Eval", "MMLU"])]["score"]} <= values


# ---------------------------------------------------------------------------------------- PDF


def test_pdf_first_page(tmp_path):
    if not REFERENCE_PDF.exists():
        pytest.skip(f"reference PDF absent: {REFERENCE_PDF}")
    if figures.shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    out = pdf_first_page_png(REFERENCE_PDF, tmp_path / "cover.png", dpi=40)
    width, height = png_size(out)
    assert 250 < width < 600 and 250 < height < 800  # a page at 40 dpi: ~340 x 440
    assert [p.name for p in tmp_path.iterdir()] == ["cover.png"]


def test_pdf_rejects_non_pdf(tmp_path):
    fake = tmp_path / "x.pdf"
    fake.write_text("not really a pdf\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.pdf: not a PDF"):
        pdf_first_page_png(fake, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_pdf_without_pdftoppm(tmp_path, monkeypatch):
    fake = tmp_path / "y.pdf"
    fake.write_bytes(b"%PDF-1.4\n%%EOF\n")
    monkeypatch.setattr(figures.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="poppler-utils"):
        pdf_first_page_png(fake, tmp_path / "y.png")
