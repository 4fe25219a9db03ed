"""What plain YAML and a late merge let through, refused when the workflow is parsed (`snakemake -n`)
or by the config/scores functions themselves, each naming the field, file and line:
duplicate keys, alias bombs, names that collide, bad or ambiguous reported CSVs, empty model folders."""

import subprocess
import time

import pytest
import yaml

from conftest import ROOT, absolutize, default_config, run_snakemake, snakemake_on
from lmdeck.settings import ReportSpec
from lmdeck import config as lmconfig
from lmdeck import scores, strict_yaml

BASE_CSV = ROOT / "config" / "reported" / "bluelm_base.csv"
HEADER = "model,benchmark,shots,metric,score,source\n"


def config_text() -> str:
    return yaml.safe_dump(absolutize(default_config()), allow_unicode=True, sort_keys=False)


def dry_run_text(workdir, text: str) -> subprocess.CompletedProcess:
    """`snakemake -n` on a config file written as given (run_snakemake dumps a dict, which cannot
    hold a duplicate key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(text, encoding="utf-8")
    return snakemake_on(workdir, config_file, "-n", cores="1", timeout=300)


def refused(proc, *expected: str) -> str:
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output[-3000:]
    for text in expected:
        assert text in output, output[-3000:]
    return output


def line_of(text: str, start: str, nth: int = 1) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if line.startswith(start)]
    return lines[nth - 1]


# --- the YAML itself ------------------------------------------------------------------------------


def test_a_top_level_key_given_twice_stops_the_parse(tmp_path):
    text = config_text() + "benchmarks:\n- {name: MMLU, category: exams, harness: lm-eval, format: mmlu}\n"
    proc = dry_run_text(tmp_path, text)
    first, second = line_of(text, "benchmarks:"), line_of(text, "benchmarks:", 2)
    refused(proc, f"config.yaml line {second}: duplicate key 'benchmarks' (first given at line {first})")
    assert not (tmp_path / "results").exists()


def test_a_key_given_twice_inside_a_model_is_refused_by_load(tmp_path):
    text = config_text()
    kind = line_of(text, "  kind: base")
    lines = text.splitlines(keepends=True)
    lines.insert(kind, "  kind: chat\n")
    path = tmp_path / "twice.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(lmconfig.ConfigError) as err:
        lmconfig.load(path)
    assert f"twice.yaml line {kind + 1}: duplicate key 'kind' (first given at line {kind})" in str(err.value)
    # A `<<` merge overridden by an explicit key is YAML's own rule, not a duplicate.
    assert strict_yaml.loads("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n") == {
        "base": {"x": 1, "y": 2},
        "d": {"x": 3, "y": 2},
    }


def test_a_json_config_is_read_as_json_and_its_duplicate_keys_refused(tmp_path):
    import json

    config = default_config()
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent="\t", ensure_ascii=False), encoding="utf-8")  # tabs: not YAML
    assert lmconfig.load(path).report["name"] == config["report"]["name"]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('\t"report": {', '\t"code_timeout_s": 99,\n\t"report": {', 1), encoding="utf-8")
    with pytest.raises(lmconfig.ConfigError, match="config.json: duplicate key 'code_timeout_s' in one JSON object"):
        lmconfig.load(path)


@pytest.mark.parametrize(
    "case,text,expected",
    [
        (
            "two documents",
            "models: []\n---\nbenchmarks: []\n",
            "line 2: expected a single document in the stream, but found another document",
        ),
        ("a list", "- models\n- benchmarks\n", "line 1: the config must be a YAML mapping"),
    ],
)
def test_anything_but_one_mapping_is_refused_with_its_line(tmp_path, case, text, expected):
    path = tmp_path / "odd.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(lmconfig.ConfigError) as err:
        lmconfig.load(path)
    assert f"odd.yaml {expected}" in str(err.value)


def alias_bomb(levels: int) -> list:
    """`levels` nested lists of ten references to the same list: the YAML dump writes them as
    anchors and aliases (a few lines), the structure expands to 10**(levels+1) strings."""
    level = ["lol"] * 10
    for _ in range(levels):
        level = [level] * 10
    return level


def test_an_alias_bomb_stops_the_parse_in_seconds(tmp_path):
    # 10**6 strings: the old parse survived it (dumping it into every job's spec); a real
    # billion laughs (see the next test) ended in MemoryError after a minute.
    config = absolutize(default_config())
    config["models"][0]["lm_eval"] = {"model_args": {"bomb": alias_bomb(5)}}
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    assert len(text) < 20_000 and "*id" in text
    start = time.monotonic()
    proc = dry_run_text(tmp_path, text)
    refused(proc, "config.yaml line ", "anchors/aliases expand to more than 100000 values")
    assert time.monotonic() - start < 60


def test_a_billion_laughs_is_refused_by_load_naming_the_line(tmp_path):
    config = default_config()
    config["models"][0]["lm_eval"] = {"model_args": {"bomb": alias_bomb(8)}}
    path = tmp_path / "bomb.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(lmconfig.ConfigError, match=r"bomb\.yaml line \d+: anchors/aliases expand"):
        lmconfig.load(path)
    assert time.monotonic() - start < 5


# --- names ----------------------------------------------------------------------------------------


def test_benchmark_names_that_collide_stop_the_parse(tmp_path):
    config = absolutize(default_config())
    ceval = next(b for b in config["benchmarks"] if b["name"] == "C-Eval")
    config["benchmarks"].append({**ceval, "name": "C_eval"})
    proc = run_snakemake(tmp_path, config, "-n")
    refused(proc, "benchmarks[1] (C-Eval) and benchmarks[9] (C_eval) collide")
    assert not (tmp_path / "results").exists()


def test_model_names_that_collide_are_refused():
    config = default_config()
    config["models"].append({**config["models"][0], "name": "Demo_Llama"})
    with pytest.raises(
        lmconfig.ConfigError,
        match=r"models\[0\] \(demo-llama\) and models\[2\] \(Demo_Llama\) "
        "collide",
    ):
        lmconfig.validate(config)


# --- reported CSVs --------------------------------------------------------------------------------


def with_reported(tmp_path, *files: tuple[str, str]) -> dict:
    """The default config with its base-table CSV replaced by `files` ((name, text) each)."""
    config = absolutize(default_config())
    entries = []
    for name, text in files:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        entries.append({"file": str(path), "table": "base"})
    config["reported"] = entries + [r for r in config["reported"] if r["table"] != "base"]
    return config


def base_csv_plus(row: str) -> tuple[str, int]:
    text = BASE_CSV.read_text(encoding="utf-8").replace("\r\n", "\n")
    return text + row + "\n", text.count("\n") + 1


def test_a_reported_row_given_twice_with_another_score_stops_the_parse(tmp_path):
    text, line = base_csv_plus("BlueLM-7B-Base,MMLU,5-shot,acc,56.0,typo")
    first = line_of(text, "BlueLM-7B-Base,MMLU,")
    config = with_reported(tmp_path, ("base.csv", text))
    proc = run_snakemake(tmp_path / "run", config, "-n")
    refused(
        proc,
        f"base.csv line {first} and line {line}: BlueLM-7B-Base × MMLU (table base) is given twice, "
        "with scores 55.2 and 56",
    )


def test_a_reported_row_repeated_in_another_file_of_the_table_is_refused_by_the_merge(tmp_path):
    text = BASE_CSV.read_text(encoding="utf-8").replace("\r\n", "\n")
    first = line_of(text, "BlueLM-7B-Base,MMLU,")
    config = with_reported(
        tmp_path, ("base.csv", text), ("more.csv", HEADER + "BlueLM-7B-Base,MMLU,5-shot,acc_norm,57.0,x\n")
    )
    lmconfig.validate(config)  # fills the schema's defaults in
    with pytest.raises(scores.ScoresError) as err:
        scores.build_table([], ReportSpec.from_dict(ReportSpec.of(config)))
    assert f"base.csv line {first} and {tmp_path / 'more.csv'} line 2: BlueLM-7B-Base × MMLU" in str(err.value)


def test_an_exact_repeat_is_kept_once_with_a_warning(tmp_path, capsys):
    text, line = base_csv_plus(
        "BlueLM-7B-Base,MMLU,5-shot,acc,55.2,vivo-ai-lab/BlueLM:BlueLM_technical_report.pdf Table 3"
    )
    config = with_reported(tmp_path, ("base.csv", text))
    lmconfig.validate(config)
    frame = scores.build_table([], ReportSpec.from_dict(ReportSpec.of(config)))
    rows = frame[(frame["model"] == "BlueLM-7B-Base") & (frame["benchmark"] == "MMLU") & (frame["table"] == "base")]
    assert rows["score"].tolist() == [55.2]
    assert (
        f"and line {line}: BlueLM-7B-Base × MMLU (table base) is given twice with the same score"
        in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    "case,text,expected",
    [
        (
            "bad header",
            "model,bench,score\nX,MMLU,50\n",
            "base.csv line 1: header must be model,benchmark,shots,metric,score,source",
        ),
        ("non-numeric score", HEADER + "BlueLM-7B-Base,MMLU,5-shot,acc,fifty,x\n", "base.csv line 2: score 'fifty'"),
        (
            "score out of range",
            HEADER + "BlueLM-7B-Base,MMLU,5-shot,acc,101,x\n",
            "base.csv line 2: score 101.0 is outside 0-100",
        ),
        ("a row short of a column", HEADER + "BlueLM-7B-Base,MMLU,5-shot,55.2,x\n", "base.csv line 2: 5 columns"),
        (
            "reported_as absent",
            HEADER + "Someone-Else,MMLU,5-shot,acc,50,x\n",
            "models[0].reported_as: 'BlueLM-7B-Base' is not a model in the reported CSVs",
        ),
    ],
)
def test_a_bad_reported_csv_stops_the_parse(tmp_path, case, text, expected):
    proc = run_snakemake(tmp_path / "run", with_reported(tmp_path, ("base.csv", text)), "-n")
    output = refused(proc, expected)
    if case == "reported_as absent":
        assert "models there: " in output and "Someone-Else" in output
    assert not (tmp_path / "run" / "results").exists()


def test_a_missing_reported_file_stops_the_parse(tmp_path):
    config = with_reported(tmp_path, ("base.csv", HEADER))
    config["reported"][0]["file"] = str(tmp_path / "nope.csv")
    proc = run_snakemake(tmp_path / "run", config, "-n")
    refused(proc, f"reported: file {tmp_path / 'nope.csv'} does not exist")


# --- model folders --------------------------------------------------------------------------------


def test_a_model_folder_without_a_model_stops_the_parse(tmp_path):
    empty = tmp_path / "empty-model"
    empty.mkdir()
    config = absolutize(default_config())
    config["models"].append({"name": "broken", "path": str(empty), "kind": "base"})
    proc = run_snakemake(tmp_path / "run", config, "-n")
    refused(proc, f"models[2].path: the model folder {empty} has no config.json and no weights file")
    assert not (tmp_path / "run" / "results").exists()


def test_a_model_folder_needs_weights_but_a_hub_id_is_left_to_the_harness(tmp_path):
    folder = tmp_path / "half-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}', encoding="utf-8")
    config = default_config()
    config["models"][1] = {"name": "half", "path": str(folder), "kind": "base"}
    with pytest.raises(
        lmconfig.ConfigError,
        match=r"models\[1\]\.path: the model folder .*half-model has no "
        r"weights file \(\*\.safetensors",
    ):
        lmconfig.validate(config)
    (folder / "model.safetensors").write_bytes(b"")  # listing only: the parse reads no weights
    lmconfig.validate(config)
    config["models"][1]["path"] = "org/some-model"
    lmconfig.validate(config)


def test_an_unknown_section_stops_the_parse_listing_the_ones_there(tmp_path):
    config = absolutize(default_config())
    config["report"]["sections"] = ["title", "results", "conclusions"]
    output = refused(run_snakemake(tmp_path, config, "-n"), "report.sections[2]: no template for section 'conclusions'")
    assert "sections available: " in output and "results" in output.split("sections available: ")[1]
