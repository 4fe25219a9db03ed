"""The config as typed objects: what the rest of lmdeck reads, instead of nested dicts.

A config is validated once against schemas/config.schema.yaml (snakemake.utils.validate with
``set_default=True``, which fills the schema's defaults) and then normalised here. The schema is
the one place that states a default: ``from_dict`` reads the filled-in values with ``[key]``, and
``None`` stands for an optional field that has no default (``display_name`` falls back to ``name``,
a field the schema cannot default). What a harness job needs travels as JSON (its rerun trigger)
and is read back into the same kind of objects: ``JobSpec``.

Words (README, "Glossary"): a *benchmark* is one entry of ``benchmarks:`` (MMLU, as the config
names it); its *format* is how its authors ship its files (``mmlu``); a *task* is a harness's own
native task that evaluates it (``mmlu_abstract_algebra``); a *subtask* is one part of a
benchmark's data (a subject, a BBH task), each scored on its own and combined into the headline.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from lmdeck import resources

HARNESSES = ("lm-eval", "opencompass")
BUILTIN = "builtin"  # `data: builtin`: the native task's own hub dataset


@functools.cache
def _schema() -> dict:
    import yaml

    return yaml.safe_load(resources.schema().read_text(encoding="utf-8"))


def _node(*path: str) -> dict:
    node = _schema()
    for key in path:
        node = node["properties"][key]
        node = node.get("items", node)  # a list's entries
    return node


def schema_default(*path: str) -> Any:
    """The schema's default for a field, e.g. ``schema_default("limits", "max_item_kib")``: for
    code that runs without a config (a format reader called on its own)."""
    return _node(*path)["default"]


def with_schema_defaults(given: Mapping, *path: str) -> dict:
    """`given` (one entry of the config at `path`, e.g. "models") with the schema's defaults
    filled in as the workflow's validation fills them: for specs written in code (tests, benchmarks)."""

    def fill(node: dict, value: dict) -> dict:
        for key, prop in node.get("properties", {}).items():
            if key not in value and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
            if isinstance(value.get(key), dict) and prop.get("type") == "object":
                fill(prop, value[key])
        return value

    return fill(_node(*path), copy.deepcopy(dict(given)))


def harness_list(value: str | list[str]) -> tuple[str, ...]:
    """A benchmark's `harness:` as written (one name, or a list to run it through several)."""
    return (value,) if isinstance(value, str) else tuple(value)


def per_harness(value, harness: str):
    """A setting written once for every harness, or per harness ({lm-eval: .., opencompass: ..})."""
    return value.get(harness) if isinstance(value, Mapping) else value


# --- models -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """A model lmdeck builds itself (the demo's seeded random-init models)."""

    architecture: str
    seed: int
    hidden_size: int
    layers: int
    heads: int
    vocab_size: int
    corpus: str | None  # the folder whose text trains the tokenizer (made absolute at parse)

    @classmethod
    def from_dict(cls, d: Mapping) -> Build:
        return cls(**{f.name: d.get(f.name) if f.name == "corpus" else d[f.name] for f in fields(cls)})

    @classmethod
    def with_defaults(cls, architecture: str, **given) -> Build:
        """A build spec written in code (tests, benchmarks), the schema's defaults filled in."""
        return cls.from_dict(with_schema_defaults({**given, "architecture": architecture}, "models", "build"))


@dataclass(frozen=True)
class ModelLoading:
    """How the harnesses load a model: what a model entry and a harness job's model share."""

    name: str
    revision: str
    kind: str  # base | chat: which results table (and chat templates)
    dtype: str
    trust_remote_code: bool
    device: str
    gpus: int
    batch_size: int | str
    lm_eval_backend: str
    lm_eval_model_args: dict
    opencompass_model_kwargs: dict


@dataclass(frozen=True)
class Model(ModelLoading):
    path: str | None  # hub id or local folder; None for a built model
    display_name: str
    reported_as: str | None
    same_weights_as_reported: bool  # the weights the paper evaluated: only then a verdict other than "not comparable"
    build: Build | None

    @classmethod
    def from_dict(cls, d: Mapping) -> Model:
        return cls(
            name=d["name"],
            path=d.get("path"),
            revision=d["revision"],
            kind=d["kind"],
            display_name=d.get("display_name") or d["name"],
            reported_as=d.get("reported_as"),
            same_weights_as_reported=d["same_weights_as_reported"],
            dtype=d["dtype"],
            trust_remote_code=d["trust_remote_code"],
            device=d["device"],
            gpus=d["gpus"],
            batch_size=d["batch_size"],
            lm_eval_backend=d["lm_eval"]["backend"],
            lm_eval_model_args=dict(d["lm_eval"]["model_args"]),
            opencompass_model_kwargs=dict(d["opencompass"]["model_kwargs"]),
            build=Build.from_dict(d["build"]) if d.get("build") else None,
        )


# --- benchmarks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    name: str
    category: str
    harnesses: tuple[str, ...]
    format: str
    data: str  # a local folder (absolute after the parse) or BUILTIN
    variant: Mapping  # per harness; a harness absent: the format's choice
    shots: Any  # int, per-harness mapping, or None: the format's default
    metric: Any  # str, per-harness mapping, or None: the variant's
    aggregation: str | None  # micro | macro | None: the harness's own group rule
    max_gen_toks: int | None
    description: str
    reference: str

    @classmethod
    def from_dict(cls, d: Mapping) -> Benchmark:
        return cls(
            name=d["name"],
            category=d["category"],
            harnesses=harness_list(d["harness"]),
            format=d["format"],
            data=d["data"],
            variant=dict(d.get("variant") or {}),
            shots=d.get("shots"),
            metric=d.get("metric"),
            aggregation=d.get("aggregation"),
            max_gen_toks=d.get("max_gen_toks"),
            description=d["description"],
            reference=d["reference"],
        )

    @property
    def is_local(self) -> bool:
        return self.data != BUILTIN

    def shots_for(self, harness: str) -> int | None:
        return per_harness(self.shots, harness)

    def variant_for(self, harness: str) -> str | None:
        return self.variant.get(harness)

    def metric_for(self, harness: str) -> str | None:
        return per_harness(self.metric, harness)


@dataclass(frozen=True)
class Reported:
    file: str
    table: str
    allow_draft: bool  # rows marked draft (lmdeck extract-reported) are shown, marked, instead of refused

    @classmethod
    def from_dict(cls, d: Mapping) -> Reported:
        return cls(d["file"], d["table"], d["allow_draft"])


@dataclass(frozen=True)
class Limits:
    max_item_kib: float
    max_file_mib: float

    @classmethod
    def from_dict(cls, d: Mapping) -> Limits:
        return cls(d["max_item_kib"], d["max_file_mib"])

    @classmethod
    def default(cls) -> Limits:
        return cls(schema_default("limits", "max_item_kib"), schema_default("limits", "max_file_mib"))

    @property
    def max_item_bytes(self) -> int:
        return int(self.max_item_kib * 1024)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mib * 1024 * 1024)


@dataclass(frozen=True)
class Config:
    """A whole config, validated (schema defaults filled) and with absolute paths."""

    models: tuple[Model, ...]
    benchmarks: tuple[Benchmark, ...]
    reported: tuple[Reported, ...]
    allow_code_execution: bool
    code_timeout_s: float
    limits: Limits
    rerun: str
    report: Mapping = field(repr=False)  # the deck's text, read by the templates as written

    @classmethod
    def from_dict(cls, d: Mapping) -> Config:
        return cls(
            models=tuple(Model.from_dict(m) for m in d["models"]),
            benchmarks=tuple(Benchmark.from_dict(b) for b in d["benchmarks"]),
            reported=tuple(Reported.from_dict(r) for r in d["reported"]),
            allow_code_execution=d["allow_code_execution"],
            code_timeout_s=d["code_timeout_s"],
            limits=Limits.from_dict(d["limits"]),
            rerun=d["rerun"],
            report=d["report"],
        )

    def model(self, name: str) -> Model:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(f"models: no model named {name!r}")

    def benchmark(self, name: str) -> Benchmark:
        for bench in self.benchmarks:
            if bench.name == name:
                return bench
        raise KeyError(f"benchmarks: no benchmark named {name!r}")

    def benchmarks_for(self, harness: str) -> list[Benchmark]:
        return [b for b in self.benchmarks if harness in b.harnesses]

    def harnesses_in_use(self) -> list[str]:
        return [h for h in HARNESSES if self.benchmarks_for(h)]

    def model_kinds(self) -> list[str]:
        return sorted({m.kind for m in self.models})


@dataclass(frozen=True)
class NativeRun:
    harness: str
    variant: str
    shots: int


@dataclass(frozen=True)
class PrepareSpec:
    """What the data step reads for one benchmark (JSON: its rerun trigger)."""

    name: str
    format: str
    folder: str  # a local folder or BUILTIN
    runs: tuple[NativeRun, ...]  # every native task the config's models need
    limits: Limits

    @classmethod
    def from_dict(cls, d: Mapping) -> PrepareSpec:
        return cls(
            name=d["name"],
            format=d["format"],
            folder=d["folder"],
            runs=tuple(NativeRun(**r) for r in d["runs"]),
            limits=Limits.from_dict(d["limits"]),
        )

    @property
    def is_local(self) -> bool:
        return self.folder != BUILTIN


@dataclass(frozen=True)
class ReportSpec:
    """What the merge and the table steps read (JSON: their rerun trigger), in the schema's shape."""

    models: tuple[Model, ...]
    benchmarks: tuple[Benchmark, ...]
    reported: tuple[Reported, ...]

    @classmethod
    def from_dict(cls, d: Mapping) -> ReportSpec:
        return cls(
            models=tuple(Model.from_dict(m) for m in d["models"]),
            benchmarks=tuple(Benchmark.from_dict(b) for b in d["benchmarks"]),
            reported=tuple(Reported.from_dict(r) for r in d["reported"]),
        )

    @staticmethod
    def filled(spec: Mapping) -> dict:
        """A spec written in code (tests, benchmarks) with the schema's defaults filled in."""
        return {
            **spec,
            "models": [with_schema_defaults(m, "models") for m in spec["models"]],
            "benchmarks": [with_schema_defaults(b, "benchmarks") for b in spec["benchmarks"]],
            "reported": [with_schema_defaults(r, "reported") for r in spec["reported"]],
        }

    @staticmethod
    def of(config: Mapping) -> dict:
        """The JSON-ready spec of a validated config (schema defaults filled, paths absolute)."""
        return {
            "models": config["models"],
            "benchmarks": config["benchmarks"],
            "reported": config["reported"],
        }


# --- what one harness job gets (JSON: also the job's rerun trigger) --------------------------------


@dataclass(frozen=True)
class JobModel(ModelLoading):
    """The model as a harness loads it: no deck-only fields, so renaming one reruns nothing."""

    path: str  # a hub id or a local folder (a built model's output folder)

    @classmethod
    def of(cls, model: Model, path: str) -> JobModel:
        return cls(**{f.name: getattr(model, f.name) for f in fields(ModelLoading)}, path=path)

    @classmethod
    def with_defaults(cls, name: str, path: str, **given) -> JobModel:
        """A job's model written in code (tests, benchmarks): `given` in the config's shape."""
        return cls.of(Model.from_dict(with_schema_defaults({**given, "name": name, "path": path}, "models")), path)


@dataclass(frozen=True)
class JobBenchmark:
    """One benchmark's native task as the job runs it (defaults resolved against the format)."""

    name: str
    format: str
    variant: str
    shots: int
    metric: str
    aggregation: str
    max_gen_toks: int | None
    data: str  # the data step's folder for this native task
    builtin: bool  # the native task's own hub dataset (no local files)


@dataclass(frozen=True)
class JobSpec:
    harness: str
    model: JobModel
    benchmarks: tuple[JobBenchmark, ...]
    allow_code_execution: bool
    code_timeout_s: float
    retry: str | None = None  # run controls (lmdeck.harness.common.run_controls), absent by default
    rerun: str | None = None
    rerun_requested: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping) -> JobSpec:
        return cls(
            harness=d["harness"],
            model=JobModel(**d["model"]),
            benchmarks=tuple(JobBenchmark(**b) for b in d["benchmarks"]),
            allow_code_execution=d["allow_code_execution"],
            code_timeout_s=d["code_timeout_s"],
            retry=d.get("retry"),
            rerun=d.get("rerun"),
            rerun_requested=d.get("rerun_requested"),
        )

    def to_dict(self) -> dict:
        """JSON-ready, without the run controls that are not set (an ordinary run's spec is the config's alone)."""
        return {
            k: v for k, v in asdict(self).items() if v is not None or k not in ("retry", "rerun", "rerun_requested")
        }
