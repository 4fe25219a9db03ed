#!/usr/bin/env python3
"""`make bench`: lmdeck's performance figures (issue 7), measured side by side in one run.

Every workflow run happens in a fresh temp working directory
(`snakemake -s <repo>/Snakefile --directory <tmp> --configfile <tmp>/config.yaml --cores 2`)
with the default config's relative paths made absolute. Absolute seconds are noisy on a
shared 2-core machine, so the headline figures are ratios of runs made one after the other;
CPU seconds and the load average are recorded beside every wall time.

Cases (goal in brackets):
  1. cold run of the default config vs the naive loop (bench/naive_loop.sh: the lm_eval /
     opencompass CLI once per model x benchmark, serially) on the same prepared inputs [<= 0.5]
  2. no-op rerun vs Snakemake's floor, a one-rule Snakefile's no-op (interleaved, medians) [<= 1.25x]
  3. template-only change: re-render wall [<= 5 % of the cold run], zero harness jobs
  4. adding BBH to a run without it: only BBH's work runs (jobs + manifests)
  5. DAG scale: `snakemake -n` on 20 models x 60 benchmarks [<= 10 s], and its growth
  6. tables + deck for 100 models x 200 subtasks x 2 harnesses [<= 10 s, <= 1 GiB]
  7. statistics (intervals, best-vs-rest comparisons, harness agreement) on per-item records:
     100 models x 200 subtasks x 2 harnesses x 20 items, 1,000 resamples [<= 10 s]

Writes bench/results.md and bench/results.json. `python bench/run.py --cases 5,6` runs a subset;
`--cases 2` makes one plain run of the default config and measures its no-op (about 2 minutes).

The whole bench keeps to a wall-clock budget (--budget, default 850 s: `make bench` must stay
under 15 minutes on a shared 2-core machine). Cheap figures run first; when the naive loop
would not leave room for the rest, it is stopped between two invocations and its remaining
invocations are extrapolated from the measured ones (same harness and benchmark on the other
model), which results.md says; later optional work (adding BBH, DAG growth points) is skipped
when it would not fit. `--budget 0` runs everything.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
NAIVE_LOOP = BENCH / "naive_loop.sh"

HARNESS_RULES = ("lm_eval", "opencompass")
FORMATS = ["mmlu", "ceval", "cmmlu", "gaokao", "agieval", "gsm8k", "math", "humaneval", "bbh"]
CATEGORIES = ["exams", "math", "coding", "reasoning"]
# DAG-growth points: (models, benchmarks). Hub models make two harness jobs per model, every
# benchmark one prepare_data job (plus merge, tables, figures, preview, deck_data, deck, all);
# the benchmark count also sets the size of every job's spec. "local" rows point every
# benchmark at a demo data folder: the input functions that list its files run for every job.
DAG_MAIN = (20, 60, "builtin")
# The builtin series (about 100, 300, 600, 1200 jobs) runs early, with the main point; the rest
# runs last, in this order, while the budget allows.
DAG_GROWTH = [(17, 60, "builtin"), (117, 60, "builtin"), (267, 60, "builtin"), (567, 60, "builtin")]
DAG_EXTRA = [(100, 300, "local"), (20, 60, "local"), (20, 960, "builtin")]
RENDER_SCALE = {"models": 100, "benchmarks": 40, "subtasks": 10}  # 400 subtasks/model, 200 per harness
# Every benchmark through both harnesses (so the harness agreement runs too): 200 subtasks per harness.
STATS_SCALE = {"models": 100, "benchmarks": 20, "subtasks": 10, "items": 20}
STATS_GOAL_S = 10.0


# --------------------------------------------------------------------------- config helpers


def default_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))


def absolutize(config: dict, root: Path = ROOT) -> dict:
    """The default config's paths are relative to its folder, config/; bench runs use a temp dir."""
    from lmdeck.config import with_absolute_paths

    return with_absolute_paths(config, root / "config")


def dag_config(n_models: int, n_benchmarks: int, data: str = "builtin", root: Path = ROOT) -> dict:
    """A config of hub models `org/model-i` x benchmarks (harnesses alternate where the format
    has a native task in both), `data: builtin` (the native task's hub data), or with
    data="local" each benchmark reading the demo folder of its format.

    Nothing in it needs to exist for `snakemake -n`. The report section is the default's."""
    from lmdeck import formats

    base = absolutize(default_config(root), root)
    models = [
        {"name": f"model-{i}", "path": f"org/model-{i}", "kind": "base" if i % 4 else "chat", "dtype": "bfloat16"}
        for i in range(n_models)
    ]
    benchmarks = []
    for j in range(n_benchmarks):
        fmt = FORMATS[j % len(FORMATS)]
        offered = formats.get(fmt).harnesses()
        harness = offered[j % len(offered)]
        bench = {"name": f"bench-{j}", "category": CATEGORIES[j % len(CATEGORIES)], "harness": harness, "format": fmt}
        bench["data"] = str((root / "data" / "demo" / fmt).resolve()) if data == "local" else "builtin"
        benchmarks.append(bench)
    return {
        "models": models,
        "benchmarks": benchmarks,
        "allow_code_execution": True,
        "reported": base.get("reported", []),
        "report": base["report"],
    }


def without_benchmark(config: dict, name: str) -> dict:
    config = copy.deepcopy(config)
    config["benchmarks"] = [b for b in config["benchmarks"] if b["name"] != name]
    return config


# --------------------------------------------------------------------------- log parsing

_RULE_LINE = re.compile(r"^\s*(?:local)?rule (\S+?):\s*$")
_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]\s*$")
_FINISHED = re.compile(r"Finished jobid: \d+ \(Rule: ([^)]+)\)")


def jobs_from_log(text: str) -> list[str]:
    """Rule names of the jobs Snakemake ran (or, with -n, would run): `rule X:` / `localrule X:`."""
    return [m.group(1) for line in text.splitlines() if (m := _RULE_LINE.match(line))]


def job_stats(text: str) -> dict[str, int]:
    """Snakemake's `Job stats:` table (job -> count, plus `total`); {} when absent."""
    stats: dict[str, int] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Job stats:":
            for row in lines[i + 1 :]:
                parts = row.split()
                if not parts or parts[0] in ("job", "total") or set(parts[0]) <= {"-"}:
                    if parts and parts[0] == "total" and len(parts) >= 2 and parts[1].isdigit():
                        stats["total"] = int(parts[1])
                        break
                    continue
                if len(parts) >= 2 and parts[1].isdigit():
                    stats[parts[0]] = int(parts[1])
                else:
                    break
            break
    return stats


def finish_times(text: str) -> dict[str, float]:
    """Rule -> epoch second when its last job finished, from the log's timestamp lines."""
    out, stamp = {}, None
    for line in text.splitlines():
        if m := _STAMP.match(line):
            stamp = time.mktime(time.strptime(m.group(1).replace("  ", " "), "%a %b %d %H:%M:%S %Y"))
        elif (m := _FINISHED.search(line)) and stamp is not None:
            out[m.group(1)] = stamp
    return out


def job_benchmarks(workdir: Path) -> dict[str, dict]:
    """Snakemake `benchmark:` files of a run: 'rule/wildcards' -> {s, cpu_time, max_rss}."""
    rows = {}
    for tsv in sorted(Path(workdir, "benchmarks").glob("*/*.tsv")):
        lines = tsv.read_text().splitlines()
        if len(lines) < 2:
            continue
        head, values = lines[0].split("\t"), lines[-1].split("\t")
        rec = dict(zip(head, values))
        rows[f"{tsv.parent.name}/{tsv.stem}"] = {k: _num(rec.get(k)) for k in ("s", "cpu_time", "max_rss")}
    return rows


def _num(value):
    try:
        return round(float(value), 2)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- running things


def env() -> dict:
    path = os.pathsep.join([str(BIN), str(ROOT / "node_modules" / ".bin"), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def loadavg() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def measure(
    cmd: list[str], cwd: Path, log: Path, timeout: float = 900, extra_env: dict | None = None, poll=None
) -> dict:
    """Run cmd; wall seconds, CPU seconds and peak RSS of it and its descendants (os.wait4).

    `poll`, if given, is called about twice a second while the command runs."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load = loadavg()
    with open(log, "w", encoding="utf-8") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env(), **(extra_env or {})},
            start_new_session=True,
        )
        killer = threading.Timer(timeout, _kill, (proc.pid,))
        killer.start()
        try:
            while True:  # blocking wait unless there is something to poll
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG if poll else 0)
                if pid:
                    break
                poll()
                time.sleep(0.5)
        except BaseException:
            _kill(proc.pid)
            raise
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,
        "rc": proc.returncode,
        "load": load,
        "text": text,
        "log": str(log),
    }


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def write_config(workdir: Path, config: dict) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def snakemake_cmd(workdir: Path, config: dict, *args: str) -> list:
    """The workflow on `config` (written into `workdir`), run there on two cores."""
    cfg = write_config(workdir, config)
    return [
        BIN / "snakemake",
        "-s",
        ROOT / "Snakefile",
        "--directory",
        workdir,
        "--configfile",
        cfg,
        "--cores",
        "2",
        *args,
    ]


def snakemake(workdir: Path, config: dict, *args: str, log_name: str, timeout: float = 900) -> dict:
    cmd = snakemake_cmd(workdir, config, *args)
    run = measure(cmd, workdir, workdir.parent / "logs" / f"{log_name}.log", timeout)
    run["jobs"] = jobs_from_log(run["text"])
    if run["rc"] != 0:
        raise RuntimeError(
            f"snakemake ({log_name}) failed with exit {run['rc']}; see {run['log']}:\n" + run["text"][-3000:]
        )
    return run


# --------------------------------------------------------------------------- naive loop inputs


def naive_inputs(source: Path, config: dict, out: Path) -> dict:
    """What naive_loop.sh needs, from a finished lmdeck run in `source`: env for the loop, one
    OpenCompass config per model x benchmark (lmdeck's own generator, given that benchmark
    alone), and per model x lm-eval benchmark the folder of generated task YAMLs and the
    generation override (`<model>/<benchmark>.lmeval`, sourced by the loop)."""
    from lmdeck import config as lmconfig
    from lmdeck.harness import lmeval, opencompass

    settings = lmconfig.validate(copy.deepcopy(config))
    models = [m.name for m in settings.models]
    lm = [b.name for b in settings.benchmarks_for("lm-eval")]
    oc = [b.name for b in settings.benchmarks_for("opencompass")]
    for model in models:
        for harness in ("opencompass", "lm-eval"):
            spec = lmconfig.job_spec(settings, model, harness)
            if (source / spec.model.path).is_dir():  # a built demo model: its folder in that run
                spec = replace(spec, model=replace(spec.model, path=str(source / spec.model.path)))
            for bench in spec.benchmarks:
                bench = replace(bench, data=str(source / bench.data))
                folder = out / "configs" / model
                if harness == "opencompass":
                    job = folder / bench.name
                    job.mkdir(parents=True, exist_ok=True)
                    config_path = opencompass.write_config(replace(spec, benchmarks=(bench,)), [bench], job)
                    config_path.rename(folder / f"{bench.name}.py")
                    job.rmdir()
                else:
                    gen = lmeval.gen_kwargs(bench) or ""
                    (folder / f"{bench.name}.lmeval").write_text(
                        f"tasks_dir={shlex.quote(bench.data)}\ngen_kwargs={shlex.quote(gen)}\n"
                    )
    first = settings.models[0]
    env = {
        "MODELS": " ".join(models),
        "LMEVAL_BENCHMARKS": " ".join(lm),
        "OPENCOMPASS_BENCHMARKS": " ".join(oc),
        "DTYPE": str(first.dtype),
        "BATCH_SIZE": str(first.batch_size),
    }
    if settings.allow_code_execution:
        # lm-eval's humaneval loads its code_eval metric at import: lmdeck's offline copy, as lmdeck's job uses it.
        cache = source / "results" / "hf_modules"
        env.update(
            HF_MODULES_CACHE=str(cache),
            HF_EVALUATE_OFFLINE="1",
            HF_EVALUATE_CACHE=str(cache / "evaluate"),
            HF_ALLOW_CODE_EVAL="1",
        )
    return env


# --------------------------------------------------------------------------- synthetic scores


def synthetic_scores(
    n_models: int = 100, n_benchmarks: int = 40, n_subtasks: int = 10, seed: int = 0, n_reported: int = 5
):
    """A tidy scores frame (lmdeck.scores.COLUMNS) like merge_scores writes, and its spec.

    Benchmarks alternate harnesses, each with `n_subtasks` subtask rows plus its headline row
    (subtask `all`) per model; `n_reported` paper models add reported headline rows."""
    import numpy as np
    import pandas as pd

    from lmdeck.scores import AGGREGATE, COLUMNS

    rng = np.random.default_rng(seed)
    models = [
        {
            "name": f"model-{i:03d}",
            "display_name": f"Model {i:03d}",
            "kind": "base" if i % 5 else "chat",
            "reported_as": f"Paper-{i % n_reported}" if n_reported and i < n_reported else None,
        }
        for i in range(n_models)
    ]
    for m in models:
        if m["reported_as"] is None:
            del m["reported_as"]
    from lmdeck import formats

    # A valid config's benchmarks: each format through a harness that has a native task for it
    # (alternating where both do), at the format's own shots.
    benches = [
        {
            "name": f"bench-{j:02d}",
            "category": CATEGORIES[j % len(CATEGORIES)],
            "harness": formats.get(FORMATS[j % len(FORMATS)]).harnesses()[
                j % len(formats.get(FORMATS[j % len(FORMATS)]).harnesses())
            ],
            "format": FORMATS[j % len(FORMATS)],
            "metric": "acc",
            "aggregation": "micro",
        }
        for j in range(n_benchmarks)
    ]
    rows = []
    for m in models:
        for b in benches:
            scores = rng.uniform(0, 100, n_subtasks)
            n = rng.integers(20, 200, n_subtasks)
            stderr = np.sqrt(scores / 100 * (1 - scores / 100) / (n - 1)) * 100
            base = {
                "model": m["name"],
                "benchmark": b["name"],
                "harness": b["harness"],
                "metric": "acc",
                "shots": 5,
                "source": "measured",
                "harness_version": f"{b['harness']} x.y",
                "model_sha256": "ab" * 32,
                "data_sha256": "cd" * 32,
                "started": "2026-01-01T00:00:00+00:00",
                "seconds": 12.5,
                "category": b["category"],
                "table": m["kind"],
                "reference": f"results/raw/{b['harness']}/{m['name']}/{b['name']}",
            }
            for k in range(n_subtasks):
                rows.append(
                    {
                        **base,
                        "subtask": f"subtask_{k:02d}",
                        "score": float(scores[k]),
                        "stderr": float(stderr[k]),
                        "n": int(n[k]),
                    }
                )
            w = n / n.sum()
            rows.append(
                {
                    **base,
                    "subtask": AGGREGATE,
                    "score": float((w * scores).sum()),
                    "stderr": float(np.sqrt(((w * stderr) ** 2).sum())),
                    "n": int(n.sum()),
                }
            )
    for r in range(n_reported):
        for b in benches:
            rows.append(
                {
                    "model": f"Paper-{r}",
                    "benchmark": b["name"],
                    "subtask": AGGREGATE,
                    "harness": "",
                    "metric": "acc",
                    "shots": 5,
                    "score": float(rng.uniform(0, 100)),
                    "stderr": float("nan"),
                    "n": None,
                    "source": "reported",
                    "harness_version": "",
                    "model_sha256": "",
                    "data_sha256": "",
                    "started": "",
                    "seconds": float("nan"),
                    "category": b["category"],
                    "table": "base",
                    "reference": "paper",
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["n"] = frame["n"].astype("Int64")
    frame["shots"] = frame["shots"].astype("Int64")
    from lmdeck.settings import ReportSpec

    # As the workflow passes it (lmdeck.settings.ReportSpec.of): the schema's defaults filled in.
    spec = ReportSpec.filled({"models": models, "benchmarks": benches, "reported": []})
    return frame, spec


def synthetic_samples(
    n_models: int = 100, n_benchmarks: int = 20, n_subtasks: int = 10, n_items: int = 20, seed: int = 0
):
    """Per-item records (lmdeck.scores.SAMPLE_COLUMNS) like merge_scores writes, every benchmark
    through both harnesses on the same items, with the score table built from them (lm-eval
    headlines micro, OpenCompass macro, as the harnesses' own rules) and its spec."""
    import numpy as np
    import pandas as pd

    from lmdeck.scores import AGGREGATE, COLUMNS, SAMPLE_COLUMNS
    from lmdeck.settings import with_schema_defaults

    rng = np.random.default_rng(seed)
    models = [{"name": f"model-{i:03d}", "kind": "base" if i % 5 else "chat"} for i in range(n_models)]
    benches = [
        {
            "name": f"bench-{j:02d}",
            "category": CATEGORIES[j % len(CATEGORIES)],
            "harness": ["lm-eval", "opencompass"],
            "format": FORMATS[j % len(FORMATS)],
            "shots": 5,
        }
        for j in range(n_benchmarks)
    ]
    n = n_benchmarks * n_subtasks * n_items
    bench_of = np.repeat(np.arange(n_benchmarks), n_subtasks * n_items)
    subtask_of = np.tile(np.repeat(np.arange(n_subtasks), n_items), n_benchmarks)
    item_ids = np.array(
        [
            f"data/{b:02d}/s{s:02d}.jsonl:{k}"
            for b, s, k in zip(bench_of, subtask_of, np.tile(np.arange(n_items), n_benchmarks * n_subtasks))
        ]
    )
    # Ability per model, difficulty per item: correct when ability beats difficulty plus noise;
    # OpenCompass scores an item differently about one time in ten.
    ability = rng.normal(0, 1, n_models)
    difficulty = rng.normal(0, 1, n)
    lm = (ability[:, None] - difficulty[None, :] + rng.normal(0, 1, (n_models, n)) > 0).astype(float)
    oc = np.where(rng.uniform(size=lm.shape) < 0.1, 1 - lm, lm)
    frames, rows = [], []
    for harness, correct, how in (("lm-eval", lm, "micro"), ("opencompass", oc, "macro")):
        frames.append(
            pd.DataFrame(
                {
                    "model": np.repeat([m["name"] for m in models], n),
                    "harness": harness,
                    "benchmark": np.tile(np.array([b["name"] for b in benches])[bench_of], n_models),
                    "subtask": np.tile(np.char.add("subtask_", np.char.zfill(subtask_of.astype(str), 2)), n_models),
                    "task": "",
                    "item_id": np.tile(item_ids, n_models),
                    "prompt": "Q",
                    "prediction": np.where(correct.ravel() == 1, "A", "B"),
                    "target": "A",
                    "score": correct.ravel(),
                    "max_score": 1.0,
                    "metric": "acc",
                }
            )
        )
        per_subtask = correct.reshape(n_models, n_benchmarks, n_subtasks, n_items).mean(axis=3) * 100
        for i, m in enumerate(models):
            for j, b in enumerate(benches):
                base = {
                    "model": m["name"],
                    "benchmark": b["name"],
                    "harness": harness,
                    "metric": "acc",
                    "shots": 5,
                    "source": "measured",
                    "category": b["category"],
                    "table": m["kind"],
                    "variant": harness,
                }
                for k in range(n_subtasks):
                    rows.append(
                        {
                            **base,
                            "subtask": f"subtask_{k:02d}",
                            "score": per_subtask[i, j, k],
                            "n": n_items,
                            "aggregation": "",
                        }
                    )
                pooled = per_subtask[i, j].mean()  # equal subtask sizes: micro and macro agree
                rows.append(
                    {**base, "subtask": AGGREGATE, "score": pooled, "n": n_items * n_subtasks, "aggregation": how}
                )
    samples = pd.concat(frames, ignore_index=True)[SAMPLE_COLUMNS]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # As the workflow passes it (lmdeck.settings.ReportSpec.of): the schema's defaults filled in.
    spec = {
        "models": [with_schema_defaults(m, "models") for m in models],
        "benchmarks": [with_schema_defaults(b, "benchmarks") for b in benches],
        "reported": [],
    }
    return frame, samples, spec


def stats_worker(workdir: Path) -> None:
    """Child process of case 7: what the merge adds (intervals) and the `statistics` rule does, timed per phase."""
    t0 = time.perf_counter()
    import pandas as pd

    from lmdeck import scores
    from lmdeck.settings import ReportSpec
    from lmdeck.stats import step

    phases = {"import": time.perf_counter() - t0}
    spec = ReportSpec.from_dict(json.loads((workdir / "spec.json").read_text()))
    t = time.perf_counter()
    frame = scores.read(workdir / "scores.csv")
    samples = pd.read_parquet(workdir / "samples.parquet")
    phases["read"] = time.perf_counter() - t
    t = time.perf_counter()
    frame = step.add_intervals(frame, samples)
    phases["intervals"] = time.perf_counter() - t
    t = time.perf_counter()
    frames = step.compute(frame, samples, spec)
    phases["comparisons_agreement"] = time.perf_counter() - t
    t = time.perf_counter()
    step.write(frames, {name: workdir / f"{name}.csv" for name in frames})
    phases["write"] = time.perf_counter() - t
    measured = frame[frame["source"] == "measured"]
    print(
        json.dumps(
            {
                "phases": {k: round(v, 3) for k, v in phases.items()},
                "measured_rows": len(measured),
                "rows_with_interval": int(measured["ci_low"].notna().sum()),
                "comparisons": len(frames["comparisons"]),
                "agreement_rows": len(frames["agreement"]),
            }
        )
    )


def run_worker(kind: str, work: Path, tmp: Path) -> tuple[dict, dict]:
    """A case's child process (`--<kind>-worker`), measured; its run record and the JSON it printed last."""
    run = measure(
        [sys.executable, Path(__file__).resolve(), f"--{kind}-worker", work],
        work,
        tmp / "logs" / f"{kind}.log",
        timeout=300,
    )
    if run["rc"] != 0:
        raise RuntimeError(f"{kind} worker failed; see {run['log']}:\n{run['text'][-3000:]}")
    return run, json.loads(run["text"].strip().splitlines()[-1])


def render_worker(workdir: Path) -> None:
    """Child process of case 6: what the `tables`, `deck_data` and `deck` rules do, timed per phase."""
    t0 = time.perf_counter()
    from lmdeck import deck, deck_data, scores, tables
    from lmdeck.settings import ReportSpec

    phases = {"import": time.perf_counter() - t0}
    spec = ReportSpec.from_dict(json.loads((workdir / "spec.json").read_text()))  # as the rules' steps read it
    report = json.loads((workdir / "report.json").read_text())
    t = time.perf_counter()
    frame = scores.read(workdir / "scores.csv")
    phases["read_csv"] = time.perf_counter() - t
    t = time.perf_counter()
    tables.write_tables(frame, spec, workdir / "tables")
    phases["write_tables"] = time.perf_counter() - t
    t = time.perf_counter()
    # What the deck_data rule does: read the scores, write the deck's tables and provenance.
    data_json = workdir / "deck" / "data.json"
    deck_data.write(data_json, spec, workdir / "scores.csv", workdir / "failures.csv", workdir / "benchmarks")
    phases["deck_data"] = time.perf_counter() - t
    t = time.perf_counter()
    # What the deck rule does: render every section from that JSON, write the Markdown.
    out = workdir / "slides" / "deck.md"
    assets = deck.find_assets(workdir / "attachments", out.parent, with_preview=False)
    deck.write_deck(out, report, data_json, assets, deck.TEMPLATES)
    phases["render_deck"] = time.perf_counter() - t
    print(
        json.dumps(
            {
                "phases": {k: round(v, 3) for k, v in phases.items()},
                "deck_bytes": out.stat().st_size,
                "rows": len(frame),
            }
        )
    )


# --------------------------------------------------------------------------- the cases


def goal(value: float, limit: float) -> bool:
    return value <= limit


class Budget:
    """Wall-clock budget of the whole bench (`make bench` must stay under 15 minutes)."""

    def __init__(self, seconds: float):
        self.seconds = seconds or float("inf")
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()


def naive_plan(config: dict) -> list[tuple[str, str, str]]:
    """(harness, model, benchmark) in naive_loop.sh's order."""
    from lmdeck import config as lmconfig

    settings = lmconfig.validate(copy.deepcopy(config))
    lm = [b.name for b in settings.benchmarks_for("lm-eval")]
    oc = [b.name for b in settings.benchmarks_for("opencompass")]
    return [
        (h, m.name, b) for m in settings.models for h, names in (("opencompass", oc), ("lm-eval", lm)) for b in names
    ]


def extrapolate(plan: list[tuple[str, str, str]], measured: list[dict]) -> tuple[float, list[dict]]:
    """Seconds the plan's unmeasured invocations would take: the mean of the same harness and
    benchmark on the models measured, else of the same harness, else of everything measured."""

    def mean(rows):
        return statistics.mean(r["s"] for r in rows) if rows else None

    done = {(r["harness"], r["model"], r["benchmark"]) for r in measured}
    estimates = []
    for harness, model, bench in plan:
        if (harness, model, bench) in done:
            continue
        est = (
            mean([r for r in measured if (r["harness"], r["benchmark"]) == (harness, bench)])
            or mean([r for r in measured if r["harness"] == harness])
            or mean(measured)
            or 0.0
        )
        estimates.append({"harness": harness, "model": model, "benchmark": bench, "s": round(est, 2)})
    return sum(e["s"] for e in estimates), estimates


def run_naive_loop(tmp: Path, lm_dir: Path, config: dict, deadline: float, budget: Budget) -> dict:
    """naive_loop.sh over the cold run's models and task files. When the budget cannot hold the
    whole loop, it is stopped between two invocations and the rest is extrapolated."""
    naive_dir = tmp / "naive"
    out = naive_dir / "out"
    loop_env = naive_inputs(lm_dir, config, naive_dir)
    timings = out / "timings.tsv"
    stop = out / "STOP"

    def poll():
        rows = _naive_timings(timings)
        slowest = max((r["s"] for r in rows), default=0.0)
        if rows and not stop.exists() and budget.elapsed() + slowest > deadline:
            stop.touch()  # naive_loop.sh checks it before each invocation

    run = measure(
        ["bash", NAIVE_LOOP, lm_dir, naive_dir / "configs", out],
        naive_dir,
        tmp / "logs" / "naive.log",
        timeout=3600,
        extra_env=loop_env,
        poll=poll,
    )
    if run["rc"] != 0:
        raise RuntimeError(f"naive loop failed (exit {run['rc']}); see {run['log']}:\n{run['text'][-3000:]}")
    plan = naive_plan(config)
    measured = _naive_timings(timings)
    rest_s, estimates = extrapolate(plan, measured)
    scale = (run["wall"] + rest_s) / run["wall"]
    return {
        "wall": run["wall"] + rest_s,
        "cpu": run["cpu"] * scale,
        "measured_wall": run["wall"],
        "measured_cpu": run["cpu"],
        "load": run["load"],
        "invocations": measured,
        "extrapolated": estimates,
        "planned": len(plan),
    }


def case_cold_vs_naive(tmp: Path, results: dict, budget: Budget, reserve) -> dict:
    """Cases 1-3 share one lmdeck run directory (cold run, no-op, template edit).

    The naive loop stops early enough to leave reserve(cold run's wall) seconds for what follows it."""
    base = absolutize(default_config())
    # Prepared inputs, once: the demo models and every benchmark's prepared items.
    prep_dir = tmp / "prep"
    prep_targets = [f"results/models/{m['name']}" for m in base["models"]] + [
        f"results/data/{b['name']}/data.json" for b in base["benchmarks"]
    ]
    prep = snakemake(prep_dir, base, *prep_targets, log_name="prep")
    print(f"  prepared inputs (build_model + prepare_data): {prep['wall']:.1f} s", flush=True)

    # Warm the page cache for both harnesses' imports (neither contender pays a cold disk).
    measure(
        [sys.executable, "-c", "import lm_eval, lm_eval.models, opencompass.cli.main, transformers, torch"],
        tmp,
        tmp / "logs" / "warm.log",
    )

    lm_dir = tmp / "lmdeck"
    shutil.copytree(prep_dir, lm_dir, symlinks=True)
    shutil.copytree(ROOT / "templates", lm_dir / "templates")
    config = copy.deepcopy(base)
    config["report"]["templates"] = str(lm_dir / "templates")
    started_epoch = time.time()
    cold = snakemake(lm_dir, config, log_name="lmdeck_cold")
    finished = finish_times(cold["text"])
    eval_wall = (finished["merge_scores"] - started_epoch) if "merge_scores" in finished else None
    print(f"  lmdeck cold run: {cold['wall']:.1f} s ({len(cold['jobs'])} jobs)", flush=True)

    deadline = budget.seconds - reserve(cold["wall"])
    naive = run_naive_loop(tmp, lm_dir, config, deadline, budget)
    note = (
        f"; {len(naive['extrapolated'])} of {naive['planned']} invocations extrapolated (time budget)"
        if naive["extrapolated"]
        else ""
    )
    print(f"  naive loop: {naive['wall']:.1f} s ({len(naive['invocations'])} invocations run{note})", flush=True)

    ratio = cold["wall"] / naive["wall"]
    results["cases"].append(
        {
            "id": 1,
            "name": "cold run: lmdeck / naive loop (wall)",
            "value": round(ratio, 3),
            "unit": "ratio",
            "goal": 0.5,
            "pass": goal(ratio, 0.5),
            "note": note.lstrip("; "),
            "details": {
                "prep_wall_s": round(prep["wall"], 2),
                "lmdeck_wall_s": round(cold["wall"], 2),
                "naive_wall_s": round(naive["wall"], 2),
                "naive_measured_wall_s": round(naive["measured_wall"], 2),
                "lmdeck_cpu_s": round(cold["cpu"], 2),
                "naive_cpu_s": round(naive["cpu"], 2),
                "cpu_ratio": round(cold["cpu"] / naive["cpu"], 3),
                "ratio_with_prep": round((prep["wall"] + cold["wall"]) / (prep["wall"] + naive["wall"]), 3),
                "lmdeck_to_scores_csv_s": round(eval_wall, 1) if eval_wall else None,
                "eval_only_ratio": round(eval_wall / naive["wall"], 3) if eval_wall else None,
                "load_at_start": {"prep": prep["load"], "lmdeck": cold["load"], "naive": naive["load"]},
                "lmdeck_jobs": cold["jobs"],
                "lmdeck_job_benchmarks": job_benchmarks(lm_dir),
                "lmdeck_job_finished_at_s": {k: round(v - started_epoch, 1) for k, v in finished.items()},
                "naive_invocations": naive["invocations"],
                "naive_extrapolated": naive["extrapolated"],
            },
        }
    )

    case_noop(tmp, results, lm_dir, config)

    # 3. Template-only change: append a line to a slide template; three edits, the median.
    template = lm_dir / "templates" / "slides" / "references.md.j2"
    edits = []
    for i in range(3):
        with open(template, "a", encoding="utf-8") as f:
            # A Marp comment: the template changes (the deck is rendered again) and no slide grows.
            f.write(f"\n<!-- bench: template-only change {i} -->\n")
        started_epoch = time.time()
        edits.append({**snakemake(lm_dir, config, log_name=f"template_change_{i}"), "started_epoch": started_epoch})
    tmpl = sorted(edits, key=lambda r: r["wall"])[1]
    cold_total = prep["wall"] + cold["wall"]
    share = tmpl["wall"] / cold_total
    harness_jobs = [j for j in tmpl["jobs"] if j in HARNESS_RULES]
    results["cases"].append(
        {
            "id": 3,
            "name": "template-only change: re-render wall (median of 3) / cold run (prep + lmdeck)",
            "value": round(share, 3),
            "unit": "ratio",
            "goal": 0.05,
            "pass": goal(share, 0.05) and not harness_jobs,
            "details": {
                "wall_s": round(tmpl["wall"], 2),
                "walls_s": [round(r["wall"], 2) for r in edits],
                "cold_run_s": round(cold_total, 2),
                "share_of_lmdeck_cold_without_prep": round(tmpl["wall"] / cold["wall"], 3),
                "jobs": tmpl["jobs"],
                "harness_jobs": len(harness_jobs),
                "load_at_start": tmpl["load"],
                "job_finished_at_s": {
                    k: round(v - tmpl["started_epoch"], 1) for k, v in finish_times(tmpl["text"]).items()
                },
                "job_benchmarks": {
                    k: v for k, v in job_benchmarks(lm_dir).items() if k.split("/")[0] in set(tmpl["jobs"])
                },
            },
        }
    )
    print(f"  template change: {tmpl['wall']:.1f} s, jobs {tmpl['jobs']}", flush=True)
    # Not part of the figure: the html, pdf and png a researcher asks for once the text is final
    # (`snakemake export`; the default target ends at the deck's Markdown).
    on_demand = snakemake(lm_dir, config, "export", log_name="export_on_demand")
    results["cases"][-1]["details"]["export_after_s"] = round(on_demand["wall"], 2)
    results["cases"][-1]["details"]["export_jobs"] = on_demand["jobs"]
    print(
        f"  then html + pdf + png (`snakemake export`): {on_demand['wall']:.1f} s, jobs {on_demand['jobs']}", flush=True
    )
    return {"lm_dir": lm_dir, "config": config, "cold_wall": cold["wall"]}


def _naive_timings(path: Path) -> list[dict]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 4:
                rows.append(
                    {"harness": parts[0], "model": parts[1], "benchmark": parts[2], "s": round(float(parts[3]), 2)}
                )
    return rows


HIDE_SLURM_PLUGIN = """\
# bench diagnostic: hide snakemake-executor-plugin-slurm from Snakemake's plugin discovery.
import pkgutil
_iter_modules = pkgutil.iter_modules
def iter_modules(path=None, prefix=""):
    return (m for m in _iter_modules(path, prefix) if "executor_plugin_slurm" not in m.name)
pkgutil.iter_modules = iter_modules
"""


def environment_probe(tmp: Path) -> dict:
    """What Snakemake's start-up costs here: `snakemake --version` (wall vs CPU: a gap is
    waiting, not work) and, with SLURM client tools installed, `scontrol show config`, which
    snakemake-executor-plugin-slurm runs at import time (on every Snakemake start)."""
    probe = {"load_avg": loadavg()}
    run = measure([BIN / "snakemake", "--version"], tmp, tmp / "logs" / "probe_version.log")
    probe["snakemake_version_wall_s"] = round(run["wall"], 2)
    probe["snakemake_version_cpu_s"] = round(run["cpu"], 2)
    plugin = importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None
    probe["slurm_executor_plugin_installed"] = plugin
    scontrol = shutil.which("scontrol", path=env()["PATH"])
    if plugin and scontrol:
        run = measure([scontrol, "show", "config"], tmp, tmp / "logs" / "probe_scontrol.log", timeout=30)
        probe["scontrol_show_config_s"] = round(run["wall"], 2)
        probe["scontrol_show_config_rc"] = run["rc"]
        probe["scontrol_first_line"] = run["text"].strip().splitlines()[0][:160] if run["text"].strip() else ""
    probe["startup_waiting_s"] = round(probe["snakemake_version_wall_s"] - probe["snakemake_version_cpu_s"], 2)
    return probe


def slurm_plugin_waits(results: dict) -> bool:
    probe = results.get("environment", {})
    return probe.get("startup_waiting_s", 0) > 2 and probe.get("slurm_executor_plugin_installed", False)


def without_slurm_plugin(tmp: Path, workdir: Path, config: dict, *args: str, repeat: int = 3) -> dict:
    """Diagnostic: the same Snakemake call with the SLURM executor plugin hidden from plugin discovery."""
    shim = tmp / "hide_slurm_plugin"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(HIDE_SLURM_PLUGIN)
    cmd = snakemake_cmd(workdir, config, *args)
    extra = {"PYTHONPATH": os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH", "")]))}
    runs = [
        measure(cmd, workdir, tmp / "logs" / f"noslurm_{workdir.name}_{i}.log", extra_env=extra) for i in range(repeat)
    ]
    return {
        "median": round(statistics.median(r["wall"] for r in runs), 2),
        "walls_s": [round(r["wall"], 2) for r in runs],
        "nothing_to_be_done": all("Nothing to be done" in r["text"] for r in runs),
    }


NOOP_RUNS = 7  # per side: medians of 7 interleaved runs
NOOP_GOAL = 1.25  # lmdeck's no-op at most 1.25x Snakemake's own floor


def floor_workflow(workdir: Path) -> list:
    """Snakemake's own floor: a one-rule Snakefile whose output exists, so every run is a no-op
    (what no workflow can beat). Returns the command that runs it."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "Snakefile").write_text('rule make:\n    output: "done.txt"\n    shell: "touch {output}"\n')
    (workdir / "done.txt").touch()
    return [BIN / "snakemake", "-s", workdir / "Snakefile", "--directory", workdir, "--cores", "2"]


def interleaved(commands: dict[str, tuple], runs: int) -> dict[str, list[dict]]:
    """Each command `runs` times, taking turns (ABBA ABBA...), so that both sides see the same
    machine: a shared 2-core machine's speed drifts by tens of percent within a minute."""
    names = list(commands)
    out = {name: [] for name in names}
    for i in range(runs):
        for name in names if i % 2 == 0 else names[::-1]:
            cmd, cwd, log_dir = commands[name]
            out[name].append(measure(cmd, cwd, log_dir / f"{name}_{i}.log"))
    return out


def finished_run(tmp: Path) -> tuple[Path, dict]:
    """A finished run of the default config (for `--cases 2` alone): its directory and config."""
    lm_dir = tmp / "lmdeck"
    config = absolutize(default_config())
    run = snakemake(lm_dir, config, log_name="lmdeck_cold")
    print(f"  lmdeck run to rerun: {run['wall']:.1f} s ({len(run['jobs'])} jobs)", flush=True)
    return lm_dir, config


def case_noop(tmp: Path, results: dict, lm_dir: Path, config: dict) -> None:
    """2. No-op rerun of a finished run, against Snakemake's floor: lmdeck's no-op and a one-rule
    Snakefile's no-op, interleaved, NOOP_RUNS each; the figure is the ratio of the medians."""
    cfg = write_config(lm_dir, config)
    lmdeck = [BIN / "snakemake", "-s", ROOT / "Snakefile", "--directory", lm_dir, "--configfile", cfg, "--cores", "2"]
    runs = interleaved(
        {
            "lmdeck": (lmdeck, lm_dir, tmp / "logs"),
            "floor": (floor_workflow(tmp / "floor"), tmp / "floor", tmp / "logs"),
        },
        NOOP_RUNS,
    )
    for run in runs["lmdeck"]:
        run["jobs"] = jobs_from_log(run["text"])
    failed = [r["log"] for side in runs.values() for r in side if r["rc"] != 0]
    if failed:
        raise RuntimeError(f"a no-op run failed; see {failed[0]}")
    noop = statistics.median(r["wall"] for r in runs["lmdeck"])
    floor = statistics.median(r["wall"] for r in runs["floor"])
    ratio = noop / floor
    ran = [r["jobs"] for r in runs["lmdeck"]]
    quiet = all("Nothing to be done" in r["text"] for side in runs.values() for r in side)
    hidden = without_slurm_plugin(tmp, lm_dir, config, repeat=2) if slurm_plugin_waits(results) else None
    results["cases"].append(
        {
            "id": 2,
            "name": f"no-op rerun / one-rule Snakefile's no-op (medians of {NOOP_RUNS}, interleaved)",
            "value": round(ratio, 3),
            "unit": "ratio",
            "goal": NOOP_GOAL,
            "pass": goal(ratio, NOOP_GOAL) and quiet and all(not j for j in ran),
            "note": f"{noop:.2f} s / {floor:.2f} s",
            "details": {
                "lmdeck_median_s": round(noop, 2),
                "floor_median_s": round(floor, 2),
                "walls_s": [round(r["wall"], 2) for r in runs["lmdeck"]],
                "cpu_s": [round(r["cpu"], 2) for r in runs["lmdeck"]],
                "floor_walls_s": [round(r["wall"], 2) for r in runs["floor"]],
                "floor_cpu_s": [round(r["cpu"], 2) for r in runs["floor"]],
                "jobs": ran,
                "nothing_to_be_done": quiet,
                "noop_with_slurm_plugin_hidden_s": hidden,
                "load_at_start": [r["load"] for r in runs["lmdeck"]],
            },
        }
    )
    print(
        f"  no-op: {noop:.2f} s vs one-rule Snakefile {floor:.2f} s: {ratio:.3f}x"
        + (f"; with the SLURM executor plugin hidden: {hidden['median']:.2f} s" if hidden else ""),
        flush=True,
    )


def case_add_benchmark(tmp: Path, results: dict, lm_dir: Path, config: dict) -> None:
    """4. A run without BBH, then with it: only BBH's work runs.

    To stay inside the time budget the no-BBH state is derived from the cold run's directory:
    BBH's prepared data and harness outputs are deleted and the no-BBH config is run (a real
    Snakemake run, so every output and its metadata is the one that config produces)."""
    work = tmp / "add_bbh"
    shutil.copytree(lm_dir, work, symlinks=True)
    for path in [work / "results" / "data" / "BBH", *(work / "results" / "raw" / "lm-eval").glob("*/BBH")]:
        shutil.rmtree(path)
    cfg = copy.deepcopy(config)
    cfg["report"]["templates"] = str(work / "templates")
    first = snakemake(work, without_benchmark(cfg, "BBH"), log_name="add_bbh_first")
    paths = sorted((work / "results" / "raw").glob("*/*/manifest.json"))
    before = {p: p.stat().st_mtime_ns for p in paths}
    second = snakemake(work, cfg, log_name="add_bbh_second")
    manifests = {}
    for manifest in paths:
        entries = json.loads(manifest.read_text())["benchmarks"]
        manifests[f"{manifest.parent.parent.name}/{manifest.parent.name}"] = {
            "rewritten": manifest.stat().st_mtime_ns != before[manifest],
            "evaluated": [e["benchmark"] for e in entries if not e["cached"]],
            "cached": [e["benchmark"] for e in entries if e["cached"]],
        }
    rewritten = {k: v for k, v in manifests.items() if v["rewritten"]}
    evaluated = sorted({b for v in rewritten.values() for b in v["evaluated"]})
    ran = second["jobs"]
    ok = (
        evaluated == ["BBH"]
        and all(v["evaluated"] == ["BBH"] for v in rewritten.values())
        and all(k.startswith("lm-eval/") for k in rewritten)
        and "opencompass" not in ran
        and "build_model" not in ran
        and ran.count("prepare_data") == 1
    )
    results["cases"].append(
        {
            "id": 4,
            "name": "add BBH: benchmarks evaluated by the rerun",
            "value": ", ".join(evaluated) or "none",
            "unit": "",
            "goal": "BBH only",
            "pass": ok,
            "details": {
                "jobs": ran,
                "job_count": len(ran),
                "wall_s": round(second["wall"], 2),
                "first_run_jobs": first["jobs"],
                "manifests": manifests,
                "note": "no-BBH state derived from the cold run (BBH's data and results deleted, "
                "then the no-BBH config run)",
            },
        }
    )
    print(f"  add BBH: {second['wall']:.1f} s, jobs {ran}; evaluated {evaluated}", flush=True)


def dag_jobs(n_models: int, n_benchmarks: int, data: str) -> int:
    """Jobs a full run of dag_config has: 2 harness jobs per model, one prepare_data per benchmark
    (local data: checked and converted; builtin: the native task index), then merge, tables,
    figures, preview, deck_data, deck, all."""
    return 2 * n_models + n_benchmarks + 7


def case_dag_scale(tmp: Path, results: dict, budget: Budget, points: list) -> None:
    """5. `snakemake -n` on generated configs; growth points run while the budget allows."""
    case = next((c for c in results["cases"] if c["id"] == 5), None)
    for n_models, n_benchmarks, data in points:
        jobs = dag_jobs(n_models, n_benchmarks, data)
        wait = max(0.0, results.get("environment", {}).get("startup_waiting_s", 0.0))
        if case and budget.left() < 5 + wait + 0.02 * jobs * (2 if data == "local" else 1):
            case["details"]["skipped"].append(
                {"models": n_models, "benchmarks": n_benchmarks, "data": data, "jobs": jobs, "reason": "time budget"}
            )
            continue
        name = f"dag_{n_models}x{n_benchmarks}_{data}"
        run = snakemake(tmp / name, dag_config(n_models, n_benchmarks, data), "-n", log_name=name)
        stats = job_stats(run["text"])
        row = {
            "models": n_models,
            "benchmarks": n_benchmarks,
            "data": data,
            "jobs": stats.get("total", len(run["jobs"])),
            "wall_s": round(run["wall"], 2),
            "cpu_s": round(run["cpu"], 2),
            "load_at_start": run["load"],
        }
        print(f"  -n {n_models} x {n_benchmarks} ({data}): {row['jobs']} jobs, {run['wall']:.2f} s", flush=True)
        if case is None:
            case = {
                "id": 5,
                "name": f"DAG: snakemake -n, {n_models} models x {n_benchmarks} benchmarks",
                "value": row["wall_s"],
                "unit": "s",
                "goal": 10.0,
                "pass": goal(row["wall_s"], 10.0),
                "details": {"growth": [], "skipped": []},
            }
            if slurm_plugin_waits(results):
                case["details"]["with_slurm_plugin_hidden_s"] = without_slurm_plugin(
                    tmp, tmp / name, dag_config(n_models, n_benchmarks, data), "-n", repeat=1
                )
            results["cases"].append(case)
        case["details"]["growth"].append(row)


def case_render_scale(tmp: Path, results: dict) -> None:
    """6. tables + deck on a synthetic 100-model table, in a child process (wall, peak RSS)."""
    from lmdeck import scores

    work = tmp / "render"
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    frame, spec = synthetic_scores(RENDER_SCALE["models"], RENDER_SCALE["benchmarks"], RENDER_SCALE["subtasks"])
    scores.write(frame, work / "scores.csv")
    setup = time.perf_counter() - t
    report = absolutize(default_config())["report"]
    (work / "spec.json").write_text(json.dumps(spec))
    (work / "report.json").write_text(json.dumps(report, ensure_ascii=False))
    run, worker = run_worker("render", work, tmp)
    peak_gib = run["max_rss_mb"] / 1024
    subtasks = frame[frame["subtask"] != "all"]
    results["cases"].append(
        {
            "id": 6,
            "name": "tables + deck, 100 models x 200 subtasks x 2 harnesses",
            "value": round(run["wall"], 2),
            "unit": "s",
            "goal": 10.0,
            "pass": goal(run["wall"], 10.0) and peak_gib <= 1.0,
            "details": {
                "peak_rss_mib": round(run["max_rss_mb"], 1),
                "peak_goal_mib": 1024,
                "cpu_s": round(run["cpu"], 2),
                "rows": len(frame),
                "subtask_rows_per_model_harness": int(subtasks.groupby(["model", "harness"]).size().iloc[0]),
                "phases_s": worker["phases"],
                "deck_bytes": worker["deck_bytes"],
                "synthetic_setup_s (untimed)": round(setup, 2),
                "load_at_start": run["load"],
            },
        }
    )
    print(
        f"  render scale: {run['wall']:.2f} s, peak {run['max_rss_mb']:.0f} MiB, phases {worker['phases']}", flush=True
    )


def case_stats_scale(tmp: Path, results: dict) -> None:
    """7. The statistics stage on synthetic per-item records, in a child process (wall, peak RSS)."""
    from lmdeck import scores

    work = tmp / "stats"
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    frame, samples, spec = synthetic_samples(
        STATS_SCALE["models"], STATS_SCALE["benchmarks"], STATS_SCALE["subtasks"], STATS_SCALE["items"]
    )
    scores.write(frame, work / "scores.csv")
    scores.write_samples(samples, work / "samples.parquet")
    (work / "spec.json").write_text(json.dumps(spec))
    setup = time.perf_counter() - t
    run, worker = run_worker("stats", work, tmp)
    complete = worker["rows_with_interval"] == worker["measured_rows"]
    results["cases"].append(
        {
            "id": 7,
            "name": "statistics, 100 models x 200 subtasks x 2 harnesses x 20 items, 1,000 resamples",
            "value": round(run["wall"], 2),
            "unit": "s",
            "goal": STATS_GOAL_S,
            "pass": goal(run["wall"], STATS_GOAL_S) and complete,
            "details": {
                "items": len(samples),
                "peak_rss_mib": round(run["max_rss_mb"], 1),
                "cpu_s": round(run["cpu"], 2),
                "phases_s": worker["phases"],
                "measured_rows": worker["measured_rows"],
                "rows_with_interval": worker["rows_with_interval"],
                "comparisons (best vs rest)": worker["comparisons"],
                "agreement_rows": worker["agreement_rows"],
                "synthetic_setup_s (untimed)": round(setup, 2),
                "load_at_start": run["load"],
            },
        }
    )
    print(
        f"  statistics scale: {run['wall']:.2f} s, peak {run['max_rss_mb']:.0f} MiB, phases {worker['phases']}",
        flush=True,
    )


# --------------------------------------------------------------------------- output


def verdict(case: dict) -> str:
    return "SKIPPED" if case["pass"] is None else ("PASS" if case["pass"] else "FAIL")


def fmt_value(case: dict) -> str:
    value, unit = case["value"], case["unit"]
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "s":
        return f"{value:.2f} s"
    return str(value)


def fmt_goal(case: dict) -> str:
    g = case["goal"]
    if case["unit"] == "ratio":
        return f"≤ {g:g}"
    if case["unit"] == "s":
        return f"≤ {g:g} s"
    return str(g)


def markdown(results: dict) -> str:
    lines = [
        f"# lmdeck benchmark ({results['started']})",
        "",
        f"{results['machine']}. Ratios are from runs made one after the other in this run; absolute "
        "seconds are noisy (the load average at each start is in results.json).",
        "",
        "| # | figure | measured | goal | result |",
        "|---|---|---|---|---|",
    ]
    probe = results.get("environment")
    for case in results["cases"]:
        note = f" ({case['note']})" if case.get("note") else ""
        lines.append(
            f"| {case['id']} | {case['name']} | {fmt_value(case)}{note} | {fmt_goal(case)} | {verdict(case)} |"
        )
    if probe:
        lines += [
            "",
            f"Environment: `snakemake --version` {probe['snakemake_version_wall_s']} s wall, "
            f"{probe['snakemake_version_cpu_s']} s CPU; load average {probe['load_avg']} at the start.",
        ]
        if "scontrol_show_config_s" in probe:
            lines[-1] += (
                f" snakemake-executor-plugin-slurm is installed and runs `scontrol show config` at import: "
                f"{probe['scontrol_show_config_s']} s here ({probe['scontrol_first_line']})."
            )
    by_id = {c["id"]: c for c in results["cases"]}
    if 1 in by_id:
        d = by_id[1]["details"]
        extra = f" + {len(d['naive_extrapolated'])} extrapolated" if d["naive_extrapolated"] else ""
        lines += [
            "",
            "## 1. Cold run vs naive loop",
            "",
            "| | wall s | CPU s |",
            "|---|---|---|",
            f"| prepared inputs (build_model, prepare_data; shared by both) | {d['prep_wall_s']} | |",
            f"| lmdeck cold run (harness jobs → scores → tables, figures, deck data, deck) | "
            f"{d['lmdeck_wall_s']} | {d['lmdeck_cpu_s']} |",
            f"| lmdeck up to results/scores.csv (from the log) | {d['lmdeck_to_scores_csv_s']} | |",
            f"| naive loop ({len(d['naive_invocations'])} CLI invocations run{extra}, serial) | "
            f"{d['naive_wall_s']} | {d['naive_cpu_s']} |",
            "",
            f"Ratios: wall {by_id[1]['value']}, CPU {d['cpu_ratio']}, wall with the prep counted on both "
            f"sides {d['ratio_with_prep']}, evaluation only (to scores.csv) {d['eval_only_ratio']}.",
            "",
            "Naive invocations (s): "
            + ", ".join(f"{r['harness']} {r['model']} {r['benchmark']} {r['s']}" for r in d["naive_invocations"])
            + (
                (
                    "; extrapolated: "
                    + ", ".join(f"{r['model']} {r['benchmark']} {r['s']}" for r in d["naive_extrapolated"])
                )
                if extra
                else ""
            )
            + ".",
        ]
    if 2 in by_id:
        d = by_id[2]["details"]
        lines += [
            "",
            f"No-op walls {d['walls_s']} s; a one-rule Snakefile's no-op (Snakemake's start-up floor), "
            f"run in turn with them: {d['floor_walls_s']} s.",
        ]
        if d.get("noop_with_slurm_plugin_hidden_s"):
            lines[-1] += (
                " The same no-op with snakemake-executor-plugin-slurm hidden from plugin discovery: "
                f"{d['noop_with_slurm_plugin_hidden_s']['walls_s']} s."
            )
    if 3 in by_id:
        d = by_id[3]["details"]
        lines += [
            "",
            f"Template change: {d['wall_s']} s, jobs {d['jobs']}; job seconds "
            + ", ".join(f"{k} {v['s']}" for k, v in d["job_benchmarks"].items())
            + "."
            + (
                f" Then html + pdf + png on demand (`snakemake export`, not part of the figure): "
                f"{d['export_after_s']} s."
                if "export_after_s" in d
                else ""
            ),
        ]
    if 4 in by_id and by_id[4]["details"]:
        d = by_id[4]["details"]
        lines += [
            "",
            f"Add BBH: {d['job_count']} jobs ran: {d['jobs']}; manifests rewritten: "
            + "; ".join(
                f"{k}: evaluated {v['evaluated']}, reused {len(v['cached'])}"
                for k, v in d["manifests"].items()
                if v["rewritten"]
            )
            + "; not touched: "
            + ", ".join(k for k, v in d["manifests"].items() if not v["rewritten"])
            + ".",
        ]
    if 5 in by_id:
        d = by_id[5]["details"]
        lines += [
            "",
            "## 5. DAG growth (`snakemake -n`)",
            "",
            "| models | benchmarks | data | jobs | wall s |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {g['models']} | {g['benchmarks']} | {g['data']} | {g['jobs']} | {g['wall_s']} |" for g in d["growth"]
        ]
        if d.get("with_slurm_plugin_hidden_s"):
            lines += [
                "",
                f"The first row again with snakemake-executor-plugin-slurm hidden from plugin discovery: "
                f"{d['with_slurm_plugin_hidden_s']['walls_s']} s.",
            ]
        if d.get("skipped"):
            lines += [
                "",
                "Skipped (time budget): "
                + ", ".join(f"{g['models']} x {g['benchmarks']} {g['data']}" for g in d["skipped"])
                + ".",
            ]
    if 6 in by_id:
        d = by_id[6]["details"]
        lines += ["", f"Render scale: {d['rows']} rows, peak RSS {d['peak_rss_mib']} MiB, phases {d['phases_s']}."]
    lines += ["", f"Whole bench: {results['total_wall_s']} s (budget {results.get('budget_s', '–')} s)."]
    return "\n".join(lines) + "\n"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cases",
        default="1,2,3,4,5,6,7",
        help="comma-separated subset (1 also gives 2 and 3; 3-4 need 1; 2 alone reruns a plain run)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=850,
        help="wall-clock budget in seconds (0: none); optional work is skipped and the "
        "naive loop's tail extrapolated when it would not fit (default: 850)",
    )
    parser.add_argument("--out", default=str(BENCH), help="folder for results.md / results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--render-worker", help=argparse.SUPPRESS)
    parser.add_argument("--stats-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.render_worker:
        render_worker(Path(args.render_worker))
        return 0
    if args.stats_worker:
        stats_worker(Path(args.stats_worker))
        return 0
    cases = {int(c) for c in args.cases.split(",") if c.strip()}
    if cases & {3, 4}:
        cases.add(1)  # they reuse the cold run's directory
    budget = Budget(args.budget)
    results = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "budget_s": args.budget,
        "cases": [],
    }
    tmp = Path(tempfile.mkdtemp(prefix="lmdeck-bench-"))
    print(f"lmdeck bench in {tmp} (budget {args.budget:g} s)", flush=True)
    try:
        results["environment"] = environment_probe(tmp)
        print(f"  environment: {results['environment']}", flush=True)
        # Cheap figures first; then the cold run and the naive loop; then what the budget allows.
        if 6 in cases:
            case_render_scale(tmp, results)
        if 7 in cases:
            case_stats_scale(tmp, results)
        if 5 in cases:
            case_dag_scale(tmp, results, budget, [DAG_MAIN, *DAG_GROWTH])
        if 1 in cases:
            # Kept for after the naive loop (measured: 110-180 s for cases 2-4 at cold runs of
            # 100-190 s): no-op + template, adding BBH (the report tail twice and BBH's
            # evaluation), ~10 Snakemake start-ups' worth of any start-up wait, and a margin.
            wait = max(0.0, results["environment"].get("startup_waiting_s", 0.0))

            def reserve(cold_wall: float) -> float:
                after = max(200.0, 1.1 * cold_wall) if 4 in cases else max(70.0, 0.4 * cold_wall)
                return after + 10 * wait + 20

            state = case_cold_vs_naive(tmp, results, budget, reserve)
            if 4 in cases:
                if budget.left() >= max(120.0, 0.7 * state["cold_wall"]) + 2 * wait:
                    case_add_benchmark(tmp, results, state["lm_dir"], state["config"])
                else:
                    results["cases"].append(
                        {
                            "id": 4,
                            "name": "add BBH: benchmarks evaluated by the rerun",
                            "value": "not run",
                            "unit": "",
                            "goal": "BBH only",
                            "pass": None,
                            "note": "skipped: time budget",
                            "details": {},
                        }
                    )
        elif 2 in cases:  # the no-op alone: a finished run of the default config, no naive loop
            case_noop(tmp, results, *finished_run(tmp))
        if 5 in cases:
            case_dag_scale(tmp, results, budget, DAG_EXTRA)
    finally:
        results["total_wall_s"] = round(budget.elapsed(), 1)
        results["cases"].sort(key=lambda c: c["id"])
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        (out / "results.md").write_text(markdown(results), encoding="utf-8")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    for case in results["cases"]:
        print(
            f"{case['id']}. {case['name']}: {fmt_value(case)} (goal {fmt_goal(case)}) {verdict(case)}"
            + (f" [{case['note']}]" if case.get("note") else "")
        )
    print(f"total {results['total_wall_s']} s; wrote {Path(args.out) / 'results.md'} and results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
