import copy
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
    """Config paths are relative to the repo; tests run Snakemake in a tmp dir."""
    config = copy.deepcopy(config)
    for bench in config["benchmarks"]:
        if bench.get("data", "builtin") != "builtin":
            bench["data"] = str((ROOT / bench["data"]).resolve())
    for model in config["models"]:
        if "build" in model:
            model["build"]["corpus"] = str((ROOT / model["build"].get("corpus", "data/demo")).resolve())
    for rep in config.get("reported", []):
        rep["file"] = str((ROOT / rep["file"]).resolve())
    return config


def run_snakemake(workdir: Path, config: dict, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    config_file = workdir / "config.yaml"
    config_file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config_file), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory) -> Path:
    from lmdeck.demo_models import build_model

    out = tmp_path_factory.mktemp("models") / "demo-llama"
    return build_model(out, "llama", ROOT / "data" / "demo", seed=1)
