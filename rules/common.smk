# Config validation and the input functions: the only place that turns config into file lists.
import json
import os
import re
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from snakemake.utils import validate

from lmdeck import config as lmconfig
from lmdeck import formats, strict_yaml
from lmdeck import messages as lmmessages
from lmdeck import reported as lmreported
from lmdeck.harness import common as harness_common
from lmdeck.settings import ReportSpec

# Snakemake's YAML loader keeps the last of two equal keys and accepts alias bombs (which blow up
# whatever walks the config later): re-read its config files strictly first (lmdeck.strict_yaml).
strict_yaml.check_files(workflow.configfiles)
validate(config, schema="../schemas/config.schema.yaml", set_default=True)
# Relative paths resolve against the folder of the config file that holds them (--config values and
# defaults: the workflow's folder); made absolute once, here, so nothing depends on the working
# directory (config/README.md, "Paths"). A missing folder stops the parse, naming field and path.
config.update(
    lmconfig.with_absolute_paths(
        config,
        workflow.basedir,
        check=True,
        sources=lmconfig.config_sources(workflow.configfiles, workflow.config_settings.config, workflow.basedir),
    )
)
# The typed config (lmdeck.settings) that the rules below read, checked across fields; a config
# mistake that needs no model stops the parse (and `snakemake -n`) here, naming the field.
SETTINGS = lmconfig.settings(config)
lmreported.check(SETTINGS)  # the reported CSVs: a bad one stops `snakemake -n`, not only the merge


# Harness jobs record a failed benchmark instead of failing when the run keeps going, so
# the deck can still be made (lmdeck.harness.common.Job). An env var, not a param: a param
# change would rerun every harness job.
def _keep_going():
    settings = getattr(workflow, "execution_settings", None)
    if settings is not None:
        return settings.keep_going
    # Not yet set while the Snakefile is parsed: read the command line.
    return any(arg in ("--keep-going", "-k", "--keep_going") for arg in sys.argv)


# The parse's one effect beyond reading: this process's environment, which only the jobs this
# run starts inherit (-n and --lint start none). Nothing is written and nothing outlives the run.
# setdefault: a job-side Snakemake (SLURM) inherits the submitting run's choice.
os.environ.setdefault("LMDECK_KEEP_GOING", "1" if _keep_going() else "0")

MODELS = [m.name for m in SETTINGS.models]
LOCAL_BENCHMARKS = [b.name for b in SETTINGS.benchmarks if b.is_local]


wildcard_constraints:
    model="|".join(map(re.escape, MODELS)),
    benchmark="[A-Za-z0-9][A-Za-z0-9._-]*",


def data_files(wildcards):
    """The benchmark's own files, so editing one reruns its preparation; a folder without any of
    them, or a file over `limits.max_file_mib`, stops the run here (lmdeck.prepare.input_files)."""
    from lmdeck.prepare import input_files

    bench = SETTINGS.benchmark(wildcards.benchmark)
    if not bench.is_local:
        return []
    return input_files(lmconfig.prepare_spec(SETTINGS, bench))


def prepare_spec_json(wildcards):
    """The data step's spec (lmdeck.settings.PrepareSpec), its rerun trigger."""
    spec = lmconfig.prepare_spec(SETTINGS, SETTINGS.benchmark(wildcards.benchmark))
    return json.dumps(asdict(spec), sort_keys=True)


def corpus_files(wildcards):
    build = SETTINGS.model(wildcards.model).build
    return sorted(str(p) for p in Path(build.corpus).rglob("*") if p.is_file())  # absolute (above)


def harness_inputs(harness):
    """A harness job needs its built model (if any) and its benchmarks' prepared data."""

    def inputs(wildcards):
        model = SETTINGS.model(wildcards.model)
        files = {"data": [f"{lmconfig.DATA_DIR}/{b.name}/data.json" for b in SETTINGS.benchmarks_for(harness)]}
        if model.build is not None:
            files["model"] = lmconfig.model_path(model)
        return files

    return inputs


# `--config rerun=all`: when this run was asked for (lmdeck.harness.common.run_controls).
_RERUN_REQUESTED = datetime.now(timezone.utc).isoformat()


def job_spec_json(harness):
    """The job's spec, its rerun trigger: the config's part, plus the retry token of a manifest
    that records failures and the rerun=all order (run_controls; read here, never written)."""

    def spec(wildcards):
        manifest = f"results/raw/{harness}/{wildcards.model}/manifest.json"
        job = {
            **lmconfig.job_spec(SETTINGS, wildcards.model, harness).to_dict(),
            **harness_common.run_controls(manifest, SETTINGS.rerun, _RERUN_REQUESTED),
        }
        return json.dumps(job, sort_keys=True)

    return spec


def manifests():
    return [f"results/raw/{h}/{m}/manifest.json" for h in SETTINGS.harnesses_in_use() for m in MODELS]


def announce_failed_jobs():
    """A manifest that records failed benchmarks (a --keep-going run) makes its job run again:
    its retry token changes the job's params (lmdeck.harness.common.retry_token); benchmarks
    that succeeded are reused, and the merge after it is redone. Parsing only reads: a dry-run
    changes nothing."""
    for path in manifests():
        if harness_common.has_failures(harness_common.read_manifest(path)):
            logger.info(f"{path} records failed benchmarks: its job will run again")


announce_failed_jobs()


def report_spec():
    """What the merge and table steps need from the config (also their rerun trigger)."""
    return json.dumps(ReportSpec.of(config), sort_keys=True)


# The statistics step's outputs (rule statistics), read by the tables, figures and deck data.
STATS_CSVS = {
    "comparisons": "results/tables/paired_comparisons.csv",
    "agreement": "results/tables/harness_agreement.csv",
    "disagreements": "results/tables/harness_disagreements.csv",
}

REPORT = config["report"]["name"]
TEMPLATES = Path(config["report"].get("templates", Path(workflow.basedir, "templates")))
ATTACHMENTS = f"attachments/{REPORT.upper()}"


def message_catalogs():
    """The deck's fixed texts in report.language (lmdeck.messages): editing them re-renders."""
    return [str(lmmessages.catalog_path(config["report"]["language"]))]


def table_images():
    pre = config["report"].get("pretraining", {})
    return (["Table1"] if pre.get("rows") else []) + ["Table2", "Table3"]


def paper_candidates():
    """report.paper.pdf as a list (local paths, http(s) URLs). Which one is available is decided
    by the preview step (lmdeck preview --first-of), never here: the parse makes no network
    connection (it runs for -n, --lint and in every cluster job step)."""
    pdf = config["report"].get("paper", {}).get("pdf", [])
    return [pdf] if isinstance(pdf, str) else list(pdf)


def paper_local_pdf():
    """The first local candidate that exists (a read): the preview's input, so editing it re-renders."""
    local = (c for c in paper_candidates() if not c.startswith(("http://", "https://")))
    return next((c for c in local if Path(c).is_file()), None)


def paper_tables():
    """report.paper.tables: the paper's own tables, cropped from its PDF (lmdeck paper-tables)."""
    return config["report"].get("paper", {}).get("tables", [])


def announce_missing_preview():
    """An empty Preview.png is the preview step's 'none was available' (read here, never written)."""
    preview = Path(f"{ATTACHMENTS}/Preview.png")
    if paper_candidates() and preview.is_file() and preview.stat().st_size == 0:
        logger.info(
            f"{preview} is empty: no report.paper.pdf candidate was available when it was made (see "
            "logs/preview/preview.log); the deck has no preview. `snakemake --cores all --forcerun preview` tries again"
        )


announce_missing_preview()


def get_final_output():
    # The manifests are targets too: a harness job whose manifest went missing (deleted to
    # make it run again) must run even though the scores downstream look up to date.
    return manifests() + [
        "results/scores.csv",
        "results/failures.csv",
        "results/tables/base.md",
        "results/tables/reported_vs_measured.md",
        f"slides/{REPORT}.md",
    ]


def freeze_long_lived_objects():
    """What Snakemake, its plugins, pandas and the parsed workflow have allocated so far lives
    until the process exits. gc.freeze() keeps it out of every later garbage collection,
    including the interpreter's last one at exit, which otherwise walks all of it: a no-op run
    takes ~0.3 s less (2.1 -> 1.8 s here), a template-only re-render ~0.5 s less. Interpreter
    tuning only: no object changes, nothing is written, and the run does the same."""
    import gc

    gc.freeze()


def finish_quickly():
    """Called once the run is over (onsuccess/onerror). Snakemake's job-rate limiter
    (--max-jobs-per-timespan, default 100/1s) arms a one-second timer thread after every
    scheduling round, and the process cannot exit before the last one fires: up to 1 s of
    idling after the last job. Nothing is left for them to release, so they are cancelled;
    and what the run allocated joins the frozen objects (above). Quick-exit code: called from
    onsuccess/onerror only, never while parsing."""
    import threading

    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()
    freeze_long_lived_objects()
