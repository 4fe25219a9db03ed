# Config validation and the input functions: the only place that turns config into file lists.
import json
import re
from pathlib import Path

from snakemake.utils import validate

from lmdeck import config as lmconfig
from lmdeck.benchmarks import source_files

validate(config, schema="../schemas/config.schema.yaml", set_default=True)
lmconfig.check(config)

MODELS = [m["name"] for m in config["models"]]
LOCAL_BENCHMARKS = [b["name"] for b in config["benchmarks"] if lmconfig.is_local_data(b)]


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    benchmark="[A-Za-z0-9][A-Za-z0-9._-]*",


def benchmark_by_name(name):
    return next(b for b in config["benchmarks"] if b["name"] == name)


def data_files(wildcards):
    """The benchmark's own files, so editing one reruns its preparation."""
    folder = Path(benchmark_by_name(wildcards.benchmark)["data"])
    if not folder.is_dir():
        return [str(folder)]  # Snakemake then reports the missing folder by name
    try:
        return [str(f) for f in source_files(benchmark_by_name(wildcards.benchmark)["format"], folder)]
    except ValueError:
        return [str(folder)]  # the prepare step names the exact problem


def corpus_files(wildcards):
    build = lmconfig.model_by_name(config, wildcards.model)["build"]
    return sorted(str(p) for p in Path(build.get("corpus", "data/demo")).rglob("*") if p.is_file())


def harness_inputs(harness):
    """A harness job needs its built model (if any) and its benchmarks' prepared data."""

    def inputs(wildcards):
        model = lmconfig.model_by_name(config, wildcards.model)
        files = {"data": [f"{lmconfig.DATA_DIR}/{b['name']}/items.jsonl"
                          for b in lmconfig.benchmarks_for(config, harness) if lmconfig.is_local_data(b)]}
        if "build" in model:
            files["model"] = lmconfig.model_path(model)
        return files

    return inputs


def job_spec_json(harness):
    return lambda wildcards: json.dumps(lmconfig.job_spec(config, wildcards.model, harness), sort_keys=True)


def manifests():
    return [f"results/raw/{h}/{m}/manifest.json" for h in lmconfig.harnesses_in_use(config) for m in MODELS]


def report_spec():
    """What the merge and table steps need from the config (also their rerun trigger)."""
    return json.dumps({
        "models": config["models"],
        "benchmarks": config["benchmarks"],
        "reported": config.get("reported", []),
        "tolerance": config["report"].get("tolerance", 5),
    }, sort_keys=True)


REPORT = config["report"]["name"]
TEMPLATES = Path(config["report"].get("templates", Path(workflow.basedir, "templates")))
ATTACHMENTS = f"attachments/{REPORT.upper()}"


def table_images():
    pre = config["report"].get("pretraining", {})
    return (["Table1"] if pre.get("rows") else []) + ["Table2", "Table3"]


def _reachable(url, timeout=3):
    import socket
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def paper_pdf():
    """The paper PDF to preview: the first local candidate that exists, else a reachable URL
    (fetched by Snakemake's http storage plugin); None, with a warning, when neither is there."""
    candidates = config["report"].get("paper", {}).get("pdf", [])
    candidates = [candidates] if isinstance(candidates, str) else candidates
    for candidate in candidates:
        if not candidate.startswith(("http://", "https://")) and Path(candidate).is_file():
            return candidate
    for candidate in candidates:
        if candidate.startswith(("http://", "https://")) and _reachable(candidate):
            return storage.http(candidate)
    if candidates:
        logger.warning(f"report.paper.pdf: none of {candidates} is available (offline?); "
                       "the title slide will have no preview.")
    return None


_PAPER_PDF = paper_pdf()
paper_pdf = lambda: _PAPER_PDF  # decided once per run: the network check is not free


def get_final_output():
    return [
        "results/scores.csv",
        "results/tables/base.md",
        "results/tables/reported_vs_measured.md",
        f"slides/{REPORT}.md",
        f"slides/{REPORT}.html",
        f"slides/{REPORT}.pdf",
        f"slides/{REPORT}-png",
    ]
