"""Config checks the JSON schema cannot express, and the config -> job-spec mapping.

The schema (schemas/config.schema.yaml, applied with snakemake.utils.validate) checks
shapes and fills defaults; this module adds cross-field rules and is the only place
that turns the config into what a harness job needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lmdeck import formats, resources, strict_yaml
from lmdeck.formats import DataError
from lmdeck.names import NameCollision, refuse_collisions
from lmdeck.settings import (
    BUILTIN,
    Benchmark,
    Config,
    JobBenchmark,
    JobModel,
    JobSpec,
    Model,
    NativeRun,
    PrepareSpec,
)

SCHEMA = resources.schema()
MODELS_DIR = "results/models"
DATA_DIR = "results/data"


class ConfigError(ValueError):
    """A config problem; the message starts with the offending field."""


def validate(config: dict, schema: Path = SCHEMA) -> Config:
    """Schema validation (which fills the schema's defaults into `config`), then the typed config
    with the cross-field checks."""
    from snakemake.utils import validate as snakemake_validate

    snakemake_validate(config, str(schema), set_default=True)
    return settings(config)


def load(path: str | Path) -> Config:
    """A config file read strictly (lmdeck.strict_yaml: no duplicate keys, one mapping, no alias
    bombs), validated and checked. Its paths stay as written (the workflow makes them absolute)."""
    try:
        config = strict_yaml.load(path)
    except strict_yaml.StrictYAMLError as err:
        raise ConfigError(str(err)) from None
    return validate(config)


def settings(config: dict) -> Config:
    """The typed config of a schema-validated one (defaults filled), checked across fields."""
    typed = Config.from_dict(config)
    check(typed)
    return typed


def check(config: Config) -> None:
    for section in ("models", "benchmarks"):
        # Names become folders, task names and table keys: two that differ only in case or
        # -/_/. would share them (a case-insensitive file system, the harness's task registry).
        try:
            refuse_collisions(
                enumerate(getattr(config, section)),
                name=lambda item: item[1].name,
                what=section,
                describe=lambda item: f"{section}[{item[0]}] ({item[1].name})",
            )
        except NameCollision as err:
            raise ConfigError(str(err)) from None
    for i, model in enumerate(config.models):
        if model.path is None and model.build is None:
            raise ConfigError(f"models[{i}] ({model.name}): needs `path` (hub id or folder) or `build`")
        if model.build is None:
            check_model_folder(model.path, f"models[{i}].path")
        elif model.same_weights_as_reported:
            raise ConfigError(
                f"models[{i}].same_weights_as_reported: {model.name} is built (`build:`), a random-init "
                "stand-in; it cannot have the reported model's weights"
            )
    check_sections(config.report)
    try:  # a crop's file is attachments/<report>/paper/<name>.png
        refuse_collisions(
            enumerate(config.report.get("paper", {}).get("tables", [])),
            name=lambda item: item[1]["name"],
            what="report.paper.tables",
            describe=lambda item: f"report.paper.tables[{item[0]}] ({item[1]['name']})",
        )
    except NameCollision as err:
        raise ConfigError(str(err)) from None
    for i, bench in enumerate(config.benchmarks):
        where = f"benchmarks[{i}] ({bench.name})"
        for kind in config.model_kinds():
            harness_runs(bench, where, kind)
        if bench.format == "humaneval" and not config.allow_code_execution:
            raise ConfigError(
                f"{where}: HumanEval executes model-written code. Opt in with top-level "
                "`allow_code_execution: true` (it then runs sandboxed, with a time limit per problem)."
            )


# What transformers needs in a local model folder; a folder without them fails deep inside it.
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "pytorch_model*")


def check_sections(report: Mapping) -> None:
    """Every slide section names a template in the report's template folder (else the packaged one)."""
    slides = Path(report.get("templates") or resources.templates()) / "slides"
    available = sorted(p.name.removesuffix(".md.j2") for p in slides.glob("*.md.j2"))
    for i, section in enumerate(report["sections"]):
        if section not in available:
            raise ConfigError(
                f"report.sections[{i}]: no template for section {section!r} in {slides} "
                f"(sections available: {', '.join(available) or 'none'})"
            )


def check_model_folder(path: str, field: str) -> None:
    """A `path` that is a local folder holds config.json and weights (listing only, nothing is
    read); anything else is a hub id (or a file a backend reads), checked where it is loaded."""
    folder = Path(path)
    if not folder.is_dir():
        return
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    if not any(next(folder.glob(pattern), None) for pattern in WEIGHT_PATTERNS):
        missing.append(f"weights file ({', '.join(WEIGHT_PATTERNS)})")
    if missing:
        raise ConfigError(f"{field}: the model folder {path} has no {' and no '.join(missing)}")


@dataclass(frozen=True)
class HarnessRun:
    """How one benchmark runs through one harness: the native task, shots and metric."""

    harness: str
    variant: str
    shots: int
    metric: str
    aggregation: str
    fixed_shots: tuple[int, ...] | None


def harness_runs(bench: Benchmark, where: str | None = None, kind: str = "base") -> list[HarnessRun]:
    """The benchmark's native task per harness, its defaults filled and checked against the
    format descriptor (what needs the data, e.g. how many exemplars exist, is checked by the
    data step). A ConfigError names the field and the allowed values."""
    where = where or f"benchmarks ({bench.name})"
    fmt = formats.get(bench.format)
    runs = []
    for harness in bench.harnesses:
        if not fmt.variants(harness):
            offered = ", ".join(fmt.harnesses()) or "none"
            raise ConfigError(
                f"{where}.harness: {fmt.label} has no native {harness} task (harnesses that have one: {offered})"
            )
        shots = bench.shots_for(harness)
        name = bench.variant_for(harness)
        try:
            if shots is None:
                shots = default_shots(fmt, harness, name, kind)
            task = fmt.variant(harness, name, shots, kind)
            if kind not in getattr(task, "kinds", (kind,)):
                raise DataError(
                    f"{fmt.label}: the {harness} variant {task.variant!r} is for "
                    f"{' and '.join(task.kinds)} models, not {kind}"
                )
            formats.check_shots(fmt, harness, task, shots)
        except DataError as err:
            field = "variant" if "variant" in str(err) else "shots"
            raise ConfigError(f"{where}.{field}: {err}") from None
        runs.append(
            HarnessRun(
                harness,
                task.variant,
                shots,
                bench.metric_for(harness) or task.metric,
                bench.aggregation or task.aggregation,
                formats.allowed_shots(task) and tuple(formats.allowed_shots(task)),
            )
        )
    return runs


def default_shots(fmt: formats.Format, harness: str, variant: str | None, kind: str) -> int:
    """The format's default shot count, or, when the named variant cannot honour it, the most it can."""
    shots = fmt.default_shots
    allowed = formats.allowed_shots(fmt.variant(harness, variant, shots, kind))
    return shots if allowed is None or shots in allowed else max(allowed)


def harness_run(bench: Benchmark, harness: str, kind: str = "base") -> HarnessRun:
    return next(r for r in harness_runs(bench, kind=kind) if r.harness == harness)


# --- paths ---------------------------------------------------------------------------------------
# The one rule (config/README.md, "Paths"): a relative path in a config resolves against the folder of
# the config file that holds it; values given with Snakemake's --config, and defaults, against the
# workflow's folder. The workflow applies it once at parse, so every job sees absolute paths whatever
# the working directory (--directory).

# The fields that hold paths, by the top-level entry a config file sets: Snakemake merges config files
# and --config in order, mappings key by key and lists whole, so the last source that sets one of these
# is where all its paths come from.
PATH_FIELDS = (("models",), ("benchmarks",), ("reported",), ("report", "paper", "pdf"), ("report", "templates"))
# A model `path` written like one is a local folder; anything else (org/name) is a hub id unless that folder exists.
_LOCAL_PREFIXES = ("/", "./", "../", "~")


@dataclass(frozen=True)
class PathBase:
    """Where a source's relative paths resolve, and how an error message says so."""

    folder: Path
    label: str


def config_sources(configfiles, overrides: dict, workflow_dir: str | Path) -> list[tuple[dict | None, PathBase]]:
    """Snakemake's config sources in merge order: each config file (None: not read, it is the only one
    and so sets every field), then the --config values."""
    files = [Path(f).absolute() for f in configfiles]
    sources: list[tuple[dict | None, PathBase]] = [
        (strict_yaml.load(f) if len(files) > 1 else None, PathBase(f.parent, f"the folder of the config file {f}"))
        for f in files
    ]
    if overrides:
        sources.append(
            (
                dict(overrides),
                PathBase(
                    Path(workflow_dir).absolute(),
                    f"the workflow's folder {Path(workflow_dir).absolute()} (a --config value)",
                ),
            )
        )
    return sources


def _sets(mapping: dict | None, field: tuple[str, ...]) -> bool:
    if mapping is None:
        return True
    for key in field:
        if not isinstance(mapping, dict) or key not in mapping:
            return False
        mapping = mapping[key]
    return True


def with_absolute_paths(config: dict, root: str | Path, *, sources=(), check: bool = False) -> dict:
    """A copy of `config` with every relative path made absolute (see "Paths" above): data folders,
    the tokenizer corpus (default: the shipped demo data, lmdeck.resources), a local model folder, reported
    CSVs, local paper PDFs, the template folder. `root`: where paths resolve when `sources` (from
    config_sources) do not say.
    check: a folder (or reported CSV written relative) that does not exist is a ConfigError naming
    the field, the absolute path and, for a relative one, the folder it was resolved against."""
    import copy

    from lmdeck.demo_models import default_corpus

    fallback = PathBase(Path(root).absolute(), f"{Path(root).absolute()}")
    bases = {}
    for field in PATH_FIELDS:
        bases[field] = fallback
        for mapping, base in sources:
            if _sets(mapping, field):
                bases[field] = base
    config = copy.deepcopy(config)

    def resolve(value: str, field: tuple[str, ...], where: str, kind: str | None) -> str:
        """kind: 'folder' or 'file' when it must exist (check), None when it need not."""
        base = bases[field]
        path = Path(value).expanduser()
        relative = not path.is_absolute()
        if relative:
            path = Path(os.path.normpath(base.folder / path))
        if check and kind and not (path.is_dir() if kind == "folder" else path.is_file()):
            hint = f" (written {value!r}: relative paths in a config resolve against {base.label})" if relative else ""
            if relative or kind == "folder":  # an absolute reported CSV is named by lmdeck.reported
                raise ConfigError(f"{where}: {kind} {path} does not exist{hint}")
        return str(path)

    for i, bench in enumerate(config.get("benchmarks", [])):
        if bench.get("data", BUILTIN) != BUILTIN:
            bench["data"] = resolve(bench["data"], ("benchmarks",), f"benchmarks[{i}].data", "folder")
    for i, model in enumerate(config.get("models", [])):
        if isinstance(model.get("build"), dict):
            build = model["build"]
            build["corpus"] = (
                resolve(build["corpus"], ("models",), f"models[{i}].build.corpus", "folder")
                if "corpus" in build
                else str(default_corpus())
            )
        elif isinstance(model.get("path"), str):
            written = model["path"]
            local = written.startswith(_LOCAL_PREFIXES) or (bases[("models",)].folder / written).is_dir()
            if local:  # a hub id (org/name) stays as it is
                model["path"] = resolve(written, ("models",), f"models[{i}].path", "folder")
    for i, rep in enumerate(config.get("reported", [])):
        rep["file"] = resolve(rep["file"], ("reported",), f"reported[{i}].file", "file")
    report = config.get("report", {})
    paper = report.get("paper", {})
    if "pdf" in paper:  # candidates: a missing one is skipped (the first available is previewed)
        pdfs = [
            p if p.startswith(("http://", "https://")) else resolve(p, ("report", "paper", "pdf"), "", None)
            for p in ([paper["pdf"]] if isinstance(paper["pdf"], str) else paper["pdf"])
        ]
        paper["pdf"] = pdfs[0] if isinstance(paper["pdf"], str) else pdfs
    if "templates" in report:
        report["templates"] = resolve(report["templates"], ("report", "templates"), "report.templates", "folder")
    return config


def model_path(model: Model) -> str:
    """Where the harnesses load the model from."""
    if model.build is not None:
        return f"{MODELS_DIR}/{model.name}"
    return model.path


def native_runs(config: Config, bench: Benchmark) -> list[HarnessRun]:
    """Every (harness, variant) the models of this config need for one benchmark, once each."""
    seen: dict[tuple[str, str], HarnessRun] = {}
    for kind in config.model_kinds():
        for run in harness_runs(bench, kind=kind):
            seen.setdefault((run.harness, run.variant), run)
    return list(seen.values())


def prepare_spec(config: Config, bench: Benchmark) -> PrepareSpec:
    """What the data step needs for one benchmark (also its rerun trigger)."""
    return PrepareSpec(
        name=bench.name,
        format=bench.format,
        folder=bench.data,
        runs=tuple(NativeRun(r.harness, r.variant, r.shots) for r in native_runs(config, bench)),
        limits=config.limits,
    )


def native_dir(bench_name: str, run: HarnessRun) -> str:
    """Where the data step writes a benchmark's converted files for one native task."""
    return f"{DATA_DIR}/{bench_name}/{run.harness}/{run.variant}"


def job_spec(config: Config, model_name: str, harness: str) -> JobSpec:
    """Everything one harness job needs, and nothing else: it is also the job's rerun trigger."""
    model = config.model(model_name)
    benches = []
    for bench in config.benchmarks_for(harness):
        run = harness_run(bench, harness, model.kind)
        benches.append(
            JobBenchmark(
                name=bench.name,
                format=bench.format,
                variant=run.variant,
                shots=run.shots,
                metric=run.metric,
                aggregation=run.aggregation,
                max_gen_toks=bench.max_gen_toks,
                data=native_dir(bench.name, run),
                builtin=not bench.is_local,
            )
        )
    return JobSpec(
        harness=harness,
        model=JobModel.of(model, model_path(model)),
        benchmarks=tuple(benches),
        allow_code_execution=config.allow_code_execution,
        code_timeout_s=config.code_timeout_s,
    )
