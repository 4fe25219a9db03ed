import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()
BIN = Path(sys.executable).parent

# Tests never reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def default_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def absolutize(config: dict) -> dict:
    """The shipped configs' paths are relative to config/ (their folder); tests run Snakemake in a tmp dir."""
    from lmdeck.config import with_absolute_paths

    return with_absolute_paths(config, ROOT / "config")


def report_spec(models: list[dict], benchmarks: list[dict], reported: list[dict] = ()) -> dict:
    """A report spec written in a test, in the shape the workflow passes it (lmdeck.settings.ReportSpec.of):
    the schema's defaults filled in."""
    from lmdeck.settings import with_schema_defaults

    return {
        "models": [with_schema_defaults(m, "models") for m in models],
        "benchmarks": [with_schema_defaults(b, "benchmarks") for b in benchmarks],
        "reported": [with_schema_defaults(r, "reported") for r in reported],
    }


def jobs_run(proc) -> list[str]:
    """Rule names of the jobs Snakemake executed, from its log."""
    text = proc.stdout + proc.stderr
    return [
        line.split("rule ", 1)[1].rstrip(":").strip()
        for line in text.splitlines()
        if line.strip().startswith(("rule ", "localrule ")) and line.strip().endswith(":")
    ]


def snakemake_on(
    workdir: Path, config_file: Path, *args: str, cores: str = "2", extra_env: dict | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """The repository's workflow run in `workdir` with the config file as written."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(extra_env or {})}
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    cmd += ["--configfile", str(config_file), "--cores", cores, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def run_snakemake(workdir: Path, config: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return snakemake_on(workdir, config_file, *args, timeout=timeout)


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory) -> Path:
    from lmdeck.demo_models import build_model
    from lmdeck.settings import Build

    out = tmp_path_factory.mktemp("models") / "demo-llama"
    return build_model(out, Build.with_defaults("llama", corpus=ROOT / "data" / "demo", seed=1))


@pytest.fixture(scope="session")
def workflow(tmp_path_factory):
    """One real run of the whole workflow: the default config minus BBH, own copy of the templates.

    (BBH is added later by a test to show that only new work runs.) Targets: the default (deck
    Markdown + html) and `export` (pdf, png per slide), as `make report` does."""
    workdir = tmp_path_factory.mktemp("workflow")
    templates = workdir / "templates"
    shutil.copytree(ROOT / "templates", templates)
    full = absolutize(default_config())
    full["report"]["templates"] = str(templates)
    first = {**full, "benchmarks": [b for b in full["benchmarks"] if b["name"] != "BBH"]}
    proc = run_snakemake(workdir, first, "all", "export")
    assert proc.returncode == 0, proc.stderr[-5000:]
    return {"dir": workdir, "config": full, "first": first, "proc": proc, "templates": templates}
