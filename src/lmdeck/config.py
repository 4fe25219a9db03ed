"""Config checks the JSON schema cannot express, and the config -> job-spec mapping.

The schema (schemas/config.schema.yaml, applied with snakemake.utils.validate) checks
shapes and fills defaults; this module adds cross-field rules and is the only place
that turns the config into what a harness job needs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

HARNESSES = ("lm-eval", "opencompass")
SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
# The BlueLM report's evaluation settings (its Table 2), the default `shots` per format.
DEFAULT_SHOTS = {"mmlu": 5, "ceval": 5, "cmmlu": 5, "gaokao": 0, "agieval": 0, "gsm8k": 4, "math": 4,
                 "humaneval": 0, "bbh": 3}
# How each benchmark's authors combine subjects/tasks into the headline number:
# micro = over all items (MMLU, CMMLU, MATH, ...), macro = mean of subjects/tasks
# (C-Eval's and AGIEval's averages, BBH's mean over tasks).
DEFAULT_AGGREGATION = {"mmlu": "micro", "ceval": "macro", "cmmlu": "micro", "gaokao": "micro", "agieval": "macro",
                       "gsm8k": "micro", "math": "micro", "humaneval": "micro", "bbh": "macro"}
MODELS_DIR = "results/models"
DATA_DIR = "results/data"


class ConfigError(ValueError):
    """A config problem; the message starts with the offending field."""


def validate(config: dict, schema: Path = SCHEMA) -> dict:
    """Schema validation (with defaults) plus cross-field checks. Returns the config."""
    from snakemake.utils import validate as snakemake_validate

    snakemake_validate(config, str(schema), set_default=True)
    check(config)
    return config


def load(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a YAML mapping")
    return validate(config)


def check(config: dict) -> None:
    for section in ("models", "benchmarks"):
        names = Counter(entry["name"] for entry in config[section])
        for name, count in names.items():
            if count > 1:
                raise ConfigError(f"{section}: duplicate name {name!r} ({count} entries)")
    for i, model in enumerate(config["models"]):
        if "path" not in model and "build" not in model:
            raise ConfigError(f"models[{i}] ({model['name']}): needs `path` (hub id or folder) or `build`")
    for i, bench in enumerate(config["benchmarks"]):
        where = f"benchmarks[{i}] ({bench['name']})"
        bench.setdefault("shots", DEFAULT_SHOTS[bench["format"]])
        bench.setdefault("aggregation", DEFAULT_AGGREGATION[bench["format"]])
        if bench.get("data", "builtin") == "builtin" and not bench.get("task"):
            raise ConfigError(f"{where}.task: `data: builtin` needs the harness's task name in `task`")
        if bench["format"] == "humaneval" and not config.get("allow_code_execution", False):
            raise ConfigError(
                f"{where}: HumanEval executes model-written code. Opt in with top-level "
                "`allow_code_execution: true` (it then runs sandboxed, with a time limit per problem)."
            )


def with_absolute_paths(config: dict, root: str | Path) -> dict:
    """A copy of `config` whose relative paths (data folders, tokenizer corpus, reported CSVs,
    local paper PDFs) are resolved against `root`, for runs in another working directory."""
    import copy

    root = Path(root)
    config = copy.deepcopy(config)
    for bench in config["benchmarks"]:
        if bench.get("data", "builtin") != "builtin":
            bench["data"] = str((root / bench["data"]).resolve())
    for model in config["models"]:
        if "build" in model:
            model["build"]["corpus"] = str((root / model["build"].get("corpus", "data/demo")).resolve())
    for rep in config.get("reported", []):
        rep["file"] = str((root / rep["file"]).resolve())
    paper = config.get("report", {}).get("paper", {})
    if isinstance(paper.get("pdf"), list):
        paper["pdf"] = [p if p.startswith(("http://", "https://")) else str((root / p).resolve())
                        for p in paper["pdf"]]
    return config


def model_path(model: dict) -> str:
    """Where the harnesses load the model from."""
    if "build" in model:
        return f"{MODELS_DIR}/{model['name']}"
    return model["path"]


def is_local_data(bench: dict) -> bool:
    return bench.get("data", "builtin") != "builtin"


def benchmarks_for(config: dict, harness: str) -> list[dict]:
    return [b for b in config["benchmarks"] if b["harness"] == harness]


def harnesses_in_use(config: dict) -> list[str]:
    return [h for h in HARNESSES if benchmarks_for(config, h)]


def model_by_name(config: dict, name: str) -> dict:
    for model in config["models"]:
        if model["name"] == name:
            return model
    raise ConfigError(f"models: no model named {name!r}")


def job_spec(config: dict, model_name: str, harness: str) -> dict:
    """Everything one harness job needs, and nothing else: it is also the job's rerun trigger."""
    model = model_by_name(config, model_name)
    model_fields = ("name", "revision", "kind", "dtype", "trust_remote_code", "device", "gpus",
                    "batch_size", "lm_eval", "opencompass")
    benches = []
    for bench in benchmarks_for(config, harness):
        entry = {k: bench[k] for k in ("name", "format", "shots", "metric", "max_gen_toks", "aggregation")
                 if k in bench}
        entry["data"] = f"{DATA_DIR}/{bench['name']}" if is_local_data(bench) else "builtin"
        if bench.get("task"):
            entry["task"] = bench["task"]
        benches.append(entry)
    return {
        "harness": harness,
        "model": {**{k: model[k] for k in model_fields if k in model}, "path": model_path(model)},
        "benchmarks": benches,
        "allow_code_execution": config.get("allow_code_execution", False),
        "code_timeout_s": config.get("code_timeout_s", 10),
    }
