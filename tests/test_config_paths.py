"""One rule for paths in a config (config/README.md, "Paths"): relative to the folder of the config
file that holds them; --config values and defaults relative to the workflow's folder. So a config
kept anywhere, run with `--directory` from anywhere, finds its data."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT, default_config, jobs_run
from lmdeck import config as lmconfig
from lmdeck import resources


def snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The repo's Snakefile run from `cwd`, which is neither the config's folder nor the repo."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--cores", "2", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def write(path: Path, config: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path) -> dict:
    """A config outside the repo with its data, reported CSV and templates next to it, written relative;
    one demo model whose tokenizer corpus is the default (the workflow's data/demo)."""
    folder = tmp_path / "reports"
    shutil.copytree(ROOT / "data" / "demo" / "mmlu", folder / "data" / "mmlu")
    shutil.copy(ROOT / "config" / "reported" / "bluelm_base.csv", folder / "base.csv")
    shutil.copytree(ROOT / "templates", folder / "my-templates")
    config = default_config()
    config["models"] = config["models"][:1]
    config["benchmarks"] = [
        {**next(b for b in config["benchmarks"] if b["name"] == "MMLU"), "harness": "lm-eval", "data": "data/mmlu"}
    ]
    config["reported"] = [{"file": "base.csv", "table": "base"}]
    config["report"]["paper"]["pdf"] = ["paper.pdf"]  # a local candidate only: no network check
    config["report"]["templates"] = "my-templates"
    cwd, workdir = tmp_path / "cwd", tmp_path / "run"
    cwd.mkdir()
    return {
        "folder": folder,
        "config": config,
        "file": write(folder / "my.yaml", config),
        "cwd": cwd,
        "workdir": workdir,
    }


def test_a_config_elsewhere_runs_with_directory_from_anywhere(elsewhere, demo_model_dir):
    ctx = elsewhere
    targets = ["results/data/MMLU/data.json", "results/models/demo-llama"]
    args = ["--configfile", str(ctx["file"]), "--directory", str(ctx["workdir"]), *targets]
    dry = snakemake(ctx["cwd"], *args, "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert {"prepare_data", "build_model"} <= set(jobs_run(dry))
    assert not (ctx["workdir"] / "results").exists()

    run = snakemake(ctx["cwd"], *args)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (ctx["workdir"] / targets[0]).is_file()
    # The tokenizer was trained on the workflow's demo data (the corpus default), not a folder
    # looked up in the working directory: the same files as a model built from data/demo directly.
    built = ctx["workdir"] / targets[1]
    assert (built / "tokenizer.json").read_bytes() == (demo_model_dir / "tokenizer.json").read_bytes()
    assert not (ctx["cwd"] / "results").exists() and not (ctx["folder"] / "results").exists()

    again = snakemake(ctx["cwd"], *args, "-n")  # the absolute paths in params are the same each run
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]


def test_the_embedded_default_and_shipped_configs_resolve_from_any_directory(tmp_path):
    for name, configfile in (("default", None), ("chat", "chat-comparison.yaml"), ("bluelm", "bluelm-7b.yaml")):
        extra = ["--configfile", str(ROOT / "config" / configfile)] if configfile else []
        proc = snakemake(tmp_path, *extra, "--directory", str(tmp_path / f"run-{name}"), "-n")
        assert proc.returncode == 0, f"{name}: {proc.stderr[-3000:]}"


def test_a_missing_relative_folder_stops_the_parse_naming_field_and_path(elsewhere):
    ctx = elsewhere
    ctx["config"]["benchmarks"][0]["data"] = "data/no-such-folder"
    write(ctx["file"], ctx["config"])
    proc = snakemake(ctx["cwd"], "--configfile", str(ctx["file"]), "--directory", str(ctx["workdir"]), "-n")
    assert proc.returncode != 0
    expected = (
        f"benchmarks[0].data: folder {ctx['folder'] / 'data' / 'no-such-folder'} does not exist "
        f"(written 'data/no-such-folder': relative paths in a config resolve against the folder of the "
        f"config file {ctx['file']})"
    )
    output = proc.stdout + proc.stderr
    assert expected in output, output[-3000:]
    assert not (ctx["workdir"] / "results").exists()


# --- the rule itself (lmdeck.config.with_absolute_paths) -------------------------------------------


def test_each_field_resolves_against_its_own_base(tmp_path):
    """Two config files (Snakemake merges them, lists whole) and --config values: each field's
    paths resolve against the source that set it; defaults against the workflow's folder."""
    first, second, workflow = tmp_path / "a", tmp_path / "b", tmp_path / "wf"
    for folder in (first / "data" / "mmlu", first / "local-model", second / "tpl", workflow / "data" / "demo"):
        folder.mkdir(parents=True)
    (second / "base.csv").write_text("x", encoding="utf-8")
    config = {
        "models": [
            {"name": "m", "build": {"architecture": "llama"}},
            {"name": "hub", "path": "org/model"},
            {"name": "local", "path": "local-model"},
            {"name": "abs", "path": str(tmp_path)},
        ],
        "benchmarks": [{"name": "MMLU", "data": "data/mmlu"}, {"name": "B", "data": "builtin"}],
        "reported": [{"file": "base.csv", "table": "base"}],
        "report": {"paper": {"pdf": ["p.pdf", "https://example.org/p.pdf"]}, "templates": "tpl"},
    }
    files = [
        write(first / "a.yaml", {k: config[k] for k in ("models", "benchmarks")}),
        write(second / "b.yaml", {k: config[k] for k in ("reported", "report")}),
    ]
    overrides = {"report": {"paper": {"pdf": "../x.pdf"}}}
    merged = {**config, "report": {**config["report"], **overrides["report"]}}  # as Snakemake merges them
    sources = lmconfig.config_sources(files, overrides, workflow)
    out = lmconfig.with_absolute_paths(merged, workflow, sources=sources, check=True)
    assert out["models"][0]["build"]["corpus"] == str(resources.demo_data())  # the shipped demo data
    assert out["models"][1]["path"] == "org/model"  # a hub id
    assert out["models"][2]["path"] == str(first / "local-model")
    assert out["models"][3]["path"] == str(tmp_path)
    assert out["benchmarks"] == [
        {"name": "MMLU", "data": str(first / "data" / "mmlu")},
        {"name": "B", "data": "builtin"},
    ]
    assert out["reported"][0]["file"] == str(second / "base.csv")
    assert out["report"]["templates"] == str(second / "tpl")
    assert out["report"]["paper"]["pdf"] == str(tmp_path / "x.pdf")  # --config: the workflow's folder
    assert config["benchmarks"][0]["data"] == "data/mmlu"  # a copy: the input is left as it was

    only = lmconfig.config_sources(files[:1], {}, workflow)  # one file sets every field
    out = lmconfig.with_absolute_paths(config, workflow, sources=only)
    assert out["report"]["paper"]["pdf"] == [str(first / "p.pdf"), "https://example.org/p.pdf"]


SETTERS = {
    "benchmarks[0].data": lambda c, v: c["benchmarks"][0].update(data=v),
    "models[0].build.corpus": lambda c, v: c["models"][0]["build"].update(corpus=v),
    "models[0].path": lambda c, v: c["models"].__setitem__(0, {"name": "m", "path": v}),
    "reported[0].file": lambda c, v: c["reported"][0].update(file=v),
    "report.templates": lambda c, v: c["report"].update(templates=v),
}


@pytest.mark.parametrize(
    "field,written,kind",
    [
        ("benchmarks[0].data", "nope", "folder"),
        ("models[0].build.corpus", "../nope", "folder"),
        ("models[0].path", "./nope", "folder"),
        ("reported[0].file", "nope.csv", "file"),
        ("report.templates", "nope", "folder"),
    ],
)
def test_a_missing_path_names_field_absolute_path_and_base(tmp_path, field, written, kind):
    folder = tmp_path / "cfg"
    (folder / "data").mkdir(parents=True)
    (folder / "base.csv").write_text("x", encoding="utf-8")
    config = {
        "models": [{"name": "m", "build": {"architecture": "llama", "corpus": "data"}}],
        "benchmarks": [{"name": "MMLU", "data": "data"}],
        "reported": [{"file": "base.csv", "table": "base"}],
        "report": {},
    }
    SETTERS[field](config, written)
    file = write(folder / "c.yaml", config)
    with pytest.raises(lmconfig.ConfigError) as err:
        lmconfig.with_absolute_paths(config, ROOT, sources=lmconfig.config_sources([file], {}, ROOT), check=True)
    resolved = Path(os.path.normpath(folder / written))
    assert str(err.value) == (
        f"{field}: {kind} {resolved} does not exist (written {written!r}: relative paths in "
        f"a config resolve against the folder of the config file {file})"
    )


def test_an_absolute_path_is_kept_and_a_missing_one_named(tmp_path):
    config = {
        "models": [],
        "benchmarks": [{"name": "MMLU", "data": str(tmp_path / "gone")}],
        "reported": [],
        "report": {},
    }
    with pytest.raises(lmconfig.ConfigError, match=rf"^benchmarks\[0\]\.data: folder {tmp_path}/gone does not exist$"):
        lmconfig.with_absolute_paths(config, ROOT, check=True)
    (tmp_path / "gone").mkdir()
    assert lmconfig.with_absolute_paths(config, ROOT, check=True)["benchmarks"][0]["data"] == str(tmp_path / "gone")
