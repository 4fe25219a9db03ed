"""Bad input beyond the config schema (tests/reliability/test_config.py) and the benchmark
files (test_bad_data.py): reported CSVs, templates, the paper PDF, code safety defaults."""

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import default_config
from lmdeck import config as lmconfig
from lmdeck import scores
from lmdeck.cli import main
from lmdeck.harness import lmeval, opencompass
from lmdeck.settings import JobModel, ReportSpec


def spec_with(tmp_path, csv_text: str, file: Path | None = None) -> ReportSpec:
    config = default_config()
    lmconfig.validate(config)  # fills the schema's defaults in
    path = tmp_path / "reported.csv"
    path.write_text(csv_text, encoding="utf-8")
    entry = {"file": str(file or path), "table": "base", "allow_draft": False}
    return ReportSpec.from_dict(ReportSpec.of({**config, "reported": [entry]}))


GOOD_HEADER = "model,benchmark,shots,metric,score,source\n"


@pytest.mark.parametrize(
    "case,text,expected",
    [
        ("bad header", "model,bench,score\nX,MMLU,50\n", "line 1: header must be"),
        ("non-numeric score", GOOD_HEADER + "BlueLM-7B-Base,MMLU,5-shot,acc,fifty,x\n", "line 2: score 'fifty'"),
        (
            "score out of range",
            GOOD_HEADER + "BlueLM-7B-Base,MMLU,5-shot,acc,101,x\n",
            "line 2: score 101.0 is outside",
        ),
        (
            "unknown model for reported_as",
            GOOD_HEADER + "Someone-Else,MMLU,5-shot,acc,50,x\n",
            "models[0].reported_as: 'BlueLM-7B-Base' is not a model",
        ),
    ],
)
def test_reported_csv_errors_name_file_and_line(tmp_path, case, text, expected):
    spec = spec_with(tmp_path, text)
    with pytest.raises(scores.ScoresError) as err:
        scores.build_table([], spec)
    assert expected in str(err.value)
    if "line" in expected:
        assert "reported.csv" in str(err.value)


def test_missing_reported_file_is_named(tmp_path):
    spec = spec_with(tmp_path, GOOD_HEADER, file=tmp_path / "nope.csv")
    with pytest.raises(scores.ScoresError, match="nope.csv does not exist"):
        scores.build_table([], spec)


def test_a_pdf_that_is_not_a_pdf(tmp_path, capsys):
    fake = tmp_path / "paper.pdf"
    fake.write_text("<html>not a pdf</html>")
    out = tmp_path / "Preview.png"
    assert main(["preview", "--pdf", str(fake), "--out", str(out)]) == 1
    assert "paper.pdf: not a PDF" in capsys.readouterr().err
    assert not out.exists()


def test_missing_template_is_named(tmp_path, capsys):
    config = default_config()
    lmconfig.validate(config)  # fills the schema's defaults in
    config["report"]["sections"] = ["title", "no_such_slide"]
    config["models"] = [{k: v for k, v in m.items() if k != "reported_as"} for m in config["models"]]
    scores_csv = tmp_path / "scores.csv"
    spec = ReportSpec.of({**config, "reported": []})
    scores.write(scores.build_table([], ReportSpec.from_dict(spec)), scores_csv)
    failures_csv = tmp_path / "failures.csv"
    scores.write_failures([], failures_csv)
    import json

    data_json = tmp_path / "deck.json"
    assert (
        main(
            [
                "deck-data",
                "--scores",
                str(scores_csv),
                "--spec",
                json.dumps(spec),
                "--failures",
                str(failures_csv),
                "--benchmarks-dir",
                str(tmp_path),
                "--out",
                str(data_json),
            ]
        )
        == 0
    )
    code = main(
        [
            "deck",
            "--data",
            str(data_json),
            "--report",
            json.dumps(config["report"]),
            "--attachments",
            str(tmp_path),
            "--out",
            str(tmp_path / "deck.md"),
        ]
    )
    assert code == 1
    assert "report.sections: no template for section 'no_such_slide'" in capsys.readouterr().err
    assert not (tmp_path / "deck.md").exists()


def test_remote_code_is_off_unless_the_model_sets_it(tmp_path):
    config = lmconfig.validate(default_config())
    model = JobModel.of(config.models[0], "org/some-model")
    assert lmeval.model_args(model)["trust_remote_code"] is False
    text = opencompass.model_entry(model)
    assert "'trust_remote_code': False" in text and "trust_remote_code': True" not in text
    assert lmeval.model_args(replace(model, trust_remote_code=True))["trust_remote_code"] is True


def test_hostile_reported_cells_are_escaped(tmp_path):
    from lmdeck import tables

    spec = spec_with(tmp_path, GOOD_HEADER + "<script>x</script>|`y`,MMLU,5-shot,acc,50,src\n")
    spec = replace(spec, models=tuple(replace(m, reported_as=None) for m in spec.models))
    frame = scores.build_table([], spec)
    markdown = tables.pivot_markdown(tables.score_pivot(frame, spec, "base"))
    assert "&lt;script&gt;x&lt;/script&gt;\\|\\`y\\`" in markdown and "<script>" not in markdown
