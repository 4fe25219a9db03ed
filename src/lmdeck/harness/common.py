"""What both harness adapters share: units of work, fingerprints, the per-benchmark cache.

A harness job evaluates one model on all of its benchmarks for one harness (the model
loads once). Each benchmark's result lands in its own folder with a `run.json` written
last; a later job whose fingerprint for that benchmark is unchanged reuses it, so adding
a benchmark to the config evaluates only the new one, provided the folder still holds exactly
what was written (lmdeck.harness.cache_index).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from datetime import datetime, timezone
from dataclasses import asdict
from pathlib import Path

from lmdeck import console, fileio
from lmdeck.harness import cache_index
from lmdeck.settings import JobBenchmark, JobModel, JobSpec

# Where lmdeck's offline `code_eval` metric and HF's module cache live (prepare_code_execution).
MODULES_CACHE = Path("results/hf_modules")


def data_info(bench: JobBenchmark) -> dict:
    """The prepared native data's provenance (native.json, written by the data step)."""
    native = Path(bench.data)
    info = json.loads((native / "native.json").read_text(encoding="utf-8"))
    # The converted files and task index too: a change in how lmdeck converts reruns the benchmark.
    info["native_sha256"] = fileio.sha256_dir(native)
    return info


def prepare_code_execution(spec: JobSpec, modules_cache: Path = MODULES_CACHE) -> None:
    """Model-written code runs only with the config's opt-in: then lm-eval's `code_eval` metric is
    served offline by lmdeck (lmdeck.harness.code_eval) and runs each program in lmdeck's bubblewrap
    sandbox (lmdeck.sandbox); without a working bwrap the job stops here (SandboxUnavailable)."""
    if not spec.allow_code_execution:
        return
    if not any(b.format == "humaneval" for b in spec.benchmarks):
        return
    from lmdeck import sandbox
    from lmdeck.harness import code_eval

    sandbox.require()  # no bubblewrap, no code execution: refused before the model loads

    cache = Path(modules_cache).resolve()
    code_eval.install_offline_metric(cache)
    os.environ["HF_MODULES_CACHE"] = str(cache)
    # evaluate reads its own offline switch (not HF_HUB_OFFLINE), and a real `code_eval` script
    # downloaded once into its default cache would win over lmdeck's: give it a private one.
    os.environ["HF_EVALUATE_OFFLINE"] = "1"
    os.environ["HF_EVALUATE_CACHE"] = str(cache / "evaluate")
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    os.environ["LMDECK_CODE_TIMEOUT_S"] = str(spec.code_timeout_s)


def model_fingerprint(model: JobModel) -> str:
    """sha256 of a local model folder; for a hub id, the id and revision asked for."""
    path = Path(model.path)
    if path.is_dir():
        return fileio.sha256_dir(path)
    return f"hub:{model.path}@{model.revision}"


def fingerprint(spec: JobSpec, bench: JobBenchmark, model_sha: str, data_sha: str, harness_version: str) -> str:
    material = {
        "model": {k: v for k, v in asdict(spec.model).items() if k != "batch_size"},
        "model_sha256": model_sha,
        "benchmark": asdict(bench),
        "data_sha256": data_sha,
        "harness_version": harness_version,
        "code": {"allow_code_execution": spec.allow_code_execution, "code_timeout_s": spec.code_timeout_s},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def cache_problem(bench_dir: Path, expected: str) -> str | None:
    """Why the benchmark's folder cannot be reused: None when it can, "" when there is none.

    A run.json that does not parse or holds no fingerprint (a partial write, corruption) counts
    as absent; so does a folder that is no longer what its job wrote (lmdeck.harness.cache_index).
    """
    if not bench_dir.exists():
        return ""
    run_file = bench_dir / "run.json"
    try:
        run = json.loads(run_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "its last evaluation did not finish (no run.json)"
    except (OSError, ValueError):
        return "its run.json is unreadable"
    if not isinstance(run, dict) or not isinstance(run.get("fingerprint"), str):
        return "its run.json holds no fingerprint"
    if run["fingerprint"] != expected:
        return "its model, data or settings changed"
    return cache_index.problem(bench_dir)


def read_manifest(path: str | Path) -> dict:
    """A job's manifest; {} when there is none or it does not parse (the job then runs anyway)."""
    try:
        recorded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def has_failures(manifest: dict) -> bool:
    entries = manifest.get("benchmarks")
    return isinstance(entries, list) and any(isinstance(e, dict) and e.get("status", "ok") != "ok" for e in entries)


def retry_token(manifest: Path) -> str:
    """Part of the harness job's params (its rerun trigger), read when the workflow is parsed and
    never written there, so a dry-run changes nothing.

    A manifest that records failed benchmarks (a --keep-going run) gives a token unique to that
    run: the params differ from those Snakemake recorded, and the job runs again (reusing the
    benchmarks that succeeded). The job stores the token it ran with in its new manifest; a
    manifest without failures gives that stored token back, so the params stay the same and the
    job does not run a second time."""
    recorded = read_manifest(manifest)
    if has_failures(recorded):
        return f"retry failed run {recorded.get('failed_run', '')}"
    return str(recorded.get("retry", ""))


def run_controls(manifest: Path, rerun: str, requested: str) -> dict:
    """What the job spec gains besides the config: the retry token (above), and with
    `--config rerun=all` the order to ignore the cache, stamped with the time the run was asked
    for, so that every such run changes the params and re-evaluates everything. Both are absent
    by default, so the spec of an ordinary run is the config's alone."""
    controls = {}
    token = retry_token(manifest)
    if token:
        controls["retry"] = token
    if rerun == "all":
        controls.update(rerun="all", rerun_requested=requested)
    return controls


class JobFailed(RuntimeError):
    pass


class Job:
    """One harness job's bookkeeping: which benchmarks are cached, which ran, which failed.

    A failed benchmark never stops the others. At the end, failures either stop the job
    (the default: Snakemake then reports the job and its log) or, when Snakemake runs with
    --keep-going (LMDECK_KEEP_GOING=1), are recorded in the manifest so the deck can still be
    made and name what is missing; the next run sees them and runs the job again (retry_token).
    """

    def __init__(self, spec: JobSpec, manifest: Path, version: str, log: str | None = None):
        self.spec, self.manifest, self.version, self.log = spec, Path(manifest), version, log
        self.job_dir = self.manifest.parent
        self.job_dir.mkdir(parents=True, exist_ok=True)
        self.model_sha = model_fingerprint(spec.model)
        self.entries: dict[str, dict] = {}
        self.expected: dict[str, tuple[str, dict]] = {}
        self.todo: list[JobBenchmark] = []
        for bench in spec.benchmarks:
            data = data_info(bench)
            expected = fingerprint(spec, bench, self.model_sha, data["native_sha256"], version)
            self.expected[bench.name] = (expected, data)
            why = cache_problem(self.bench_dir(bench), expected)
            if why is None and spec.rerun == "all":
                why = "the run asks for everything again (rerun=all)"
            cached = why is None
            self.entries[bench.name] = {
                "benchmark": bench.name,
                "dir": str(self.bench_dir(bench)),
                "run": asdict(bench),
                "cached": cached,
                "status": "ok",
            }
            if not cached:
                if why:
                    console.notice(f"{spec.harness} {spec.model.name} × {bench.name}: {why}; evaluating again")
                # Nothing of an older evaluation of this benchmark may be read as this one's.
                cache_index.forget(self.bench_dir(bench))
                shutil.rmtree(self.bench_dir(bench), ignore_errors=True)
                self.todo.append(bench)

    @functools.cached_property
    def device(self) -> str:
        """Asked only when a benchmark finished (torch is loaded by then): a job whose
        benchmarks all come from the cache never imports it."""
        return device_name(self.spec.model.device)

    def bench_dir(self, bench: JobBenchmark) -> Path:
        return self.job_dir / bench.name

    def done(self, bench: JobBenchmark, clock: "Stopwatch") -> None:
        expected, data = self.expected[bench.name]
        write_run_record(
            self.bench_dir(bench),
            fingerprint=expected,
            started=clock.started,
            seconds=clock.seconds,
            harness_version=self.version,
            model_sha256=self.model_sha,
            data_sha256=data["data_sha256"],
            shots=bench.shots,
            variant=bench.variant,
            max_gen_toks=bench.max_gen_toks,
            device=self.device,
        )
        cache_index.record(self.bench_dir(bench))

    def failed(self, bench: JobBenchmark, error: BaseException) -> None:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
        message = f"{type(error).__name__}: {error}".strip()
        self.entries[bench.name].update(status="failed", error=message[:500], log=self.log or "")

    def finish(self) -> None:
        failures = [e for e in self.entries.values() if e["status"] == "failed"]
        if failures and os.environ.get("LMDECK_KEEP_GOING") != "1":
            names = ", ".join(f"{self.spec.model.name} × {e['benchmark']}" for e in failures)
            raise JobFailed(
                f"{self.spec.harness} failed for {names}: {failures[0]['error']}"
                + (f" (log: {self.log})" if self.log else "")
            )
        manifest = {
            "harness": self.spec.harness,
            "model": self.spec.model.name,
            "benchmarks": list(self.entries.values()),
        }
        if failures:
            manifest["failed_run"] = uuid.uuid4().hex  # makes the next run's retry token new
        if self.spec.retry:
            manifest["retry"] = self.spec.retry  # the token this job ran with (retry_token)
        fileio.write_json(self.manifest, manifest)


def device_name(device: str) -> str:
    """What the scores were measured on, for the deck's provenance slide (e.g. "NVIDIA H100
    80GB HBM3", "CPU (x86_64)"). The harness process imports torch anyway."""
    import platform

    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device if ":" in device else "cuda:0"))
    return f"CPU ({platform.machine()})"


def go_offline_where_possible(spec: JobSpec) -> None:
    """Local model and local data need no hub: say so, so nothing tries the network."""
    if Path(spec.model.path).is_dir():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not any(b.builtin for b in spec.benchmarks):
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Stopwatch:
    def __enter__(self):
        self.started = utc_now()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = round(time.perf_counter() - self._t0, 3)


def write_run_record(bench_dir: Path, **record) -> None:
    """Written last: its presence marks the benchmark's results as complete."""
    fileio.write_json(bench_dir / "run.json", record)
