import json
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
    from lmdeck.settings import ReportSpec

    return ReportSpec.filled({"models": models, "benchmarks": benchmarks, "reported": list(reported)})


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


def workflow_configs(templates: Path) -> tuple[dict, dict]:
    """The default config (absolute paths, its own template folder) and the same minus BBH."""
    full = absolutize(default_config())
    full["report"]["templates"] = str(templates)
    return full, {**full, "benchmarks": [b for b in full["benchmarks"] if b["name"] != "BBH"]}


@pytest.fixture(scope="session")
def workflow(tmp_path_factory, worker_id):
    """One real run of the whole workflow: the default config minus BBH, own copy of the templates.

    (BBH is added later by a test to show that only new work runs.) Targets: the default (deck
    Markdown + html) and `export` (pdf, png per slide), as `make report` does.

    The run is made once for the whole session, also under pytest-xdist: the first worker to ask
    makes it in a folder all workers share (under a lock) and nobody writes there again. Each worker
    gets its own copy (metadata and mtimes kept) with its own templates, which tests may edit: the
    copy's deck steps are brought up to date once here (the template folder is a deck input), so
    the copy is a finished run like the original."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    shared = (root.parent if worker_id != "master" else root) / "workflow-shared"
    with FileLock(str(shared) + ".lock"):
        if not (shared / ".finished.json").exists():
            shutil.rmtree(shared, ignore_errors=True)
            shutil.copytree(ROOT / "templates", shared / "templates")
            proc = run_snakemake(shared, workflow_configs(shared / "templates")[1], "all", "export")
            assert proc.returncode == 0, proc.stderr[-5000:]
            record = {"args": proc.args, "returncode": 0, "stdout": proc.stdout, "stderr": proc.stderr}
            (shared / ".finished.json").write_text(json.dumps(record), encoding="utf-8")
    proc = subprocess.CompletedProcess(**json.loads((shared / ".finished.json").read_text(encoding="utf-8")))
    workdir = tmp_path_factory.mktemp("workflow")
    shutil.copytree(shared, workdir, symlinks=True, dirs_exist_ok=True)
    templates = workdir / "templates"
    full, first = workflow_configs(templates)
    settle = run_snakemake(workdir, first, "all", "export")
    assert settle.returncode == 0, settle.stderr[-5000:]
    assert not {"lm_eval", "opencompass", "build_model", "prepare_data"} & set(jobs_run(settle)), settle.stdout[-3000:]
    return {"dir": workdir, "config": full, "first": first, "proc": proc, "templates": templates}


# `make test` runs on two workers with `--dist loadfile`: whole files are handed out in collection
# order. The longest files go first, so the run does not end with one long file on one worker
# while the other is idle (the workflow-run readers and the others alternate: the first of them
# makes the shared `workflow` run while the other worker has work of its own).
LONGEST_FIRST = [
    "tests/test_deck.py",
    "tests/test_benchdata_pipeline.py",
    "tests/reliability/test_cache_integrity.py",
    "tests/reliability/test_faults.py",
    "tests/test_slurm.py",
    "tests/parity/test_lmeval_parity.py",
    "tests/test_workflow.py",
    "tests/parity/test_opencompass_parity.py",
    "tests/test_opencompass_native_gen.py",
    "tests/test_layout.py",
]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order stays as collected
