"""OpenCompass adapter: OpenCompass's own dataset configs with only the data source swapped.

Data step (:func:`write_native`): the descriptor's ``layout`` writes the authors' records in the
file layout the config's own loader reads (e.g. CEvalDataset's ``{dev,val,test}/<subject>_<split>.csv``)
under ``<out_dir>/data``, and the index names the config's datasets that evaluate a subtask present
in the files, with the item ids in the order the loader reads the evaluated split.

Harness job (:func:`run`): one generated config per model job imports every benchmark's dataset
list (``from <module> import <variable>`` inside ``read_base()``, as OpenCompass's own configs do),
keeps the datasets named in the index and replaces only ``path`` (and prefixes ``abbr`` with the
lmdeck benchmark name, so that two benchmarks never share a result file). Reader, prompt template,
retriever, inferencer, evaluator and post-processors are the config's own. OpenCompass runs once
per job in ``--debug`` mode (in-process: the model loads once); the config is a plain OpenCompass
config (``python -m opencompass.cli.main <config>`` gives the same predictions).

Per item, scores come from OpenCompass's own evaluation: its results' ``details`` where they carry
a per-item correctness (accuracy datasets: PPL datasets, evaluators that report details), else the
config's own evaluator called on each item through OpenCompass's eval task (its post-processing,
references and evaluator; GAOKAO-Bench's points always come this way). Written per dataset to
``<bench>/item_eval/<abbr>.json`` and checked against the score OpenCompass reports.

Per benchmark, under the job folder::

    <bench>/index.json                       the data step's index + {abbr_prefix, datasets[*].file}
    <bench>/predictions/<bench>__<abbr>.json  OpenCompass's per-item predictions ("0", "1", ...)
    <bench>/results/<bench>__<abbr>.json      OpenCompass's dataset result (score, details)
    <bench>/item_eval/<bench>__<abbr>.json    {metric, reported, source, evaluator, items: [{score, max_score, ...}]}

A benchmark's ``max_gen_toks`` is not applied: generation lengths are the dataset configs' own
(``max_out_len`` of their inferencer); the model entry's ``max_out_len`` (``opencompass.max_out_len``,
default 256) applies only to datasets whose inferencer sets none.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from lmdeck import fileio
from lmdeck.formats.base import Format, OpenCompassDataset, Record
from lmdeck.formats.files import DataError
from lmdeck.harness import common
from lmdeck.settings import JobBenchmark, JobModel, JobSpec

SCORE_TOLERANCE = 1e-6  # per-item scores must give OpenCompass's reported score (0-100)
ABBR_SEPARATOR = "__"  # generated abbr = <lmdeck benchmark name>__<OpenCompass's abbr>


def harness_version() -> str:
    from importlib.metadata import version

    return f"opencompass {version('opencompass')}"


# --------------------------------------------------------------------------
# Data step: the native layout and the index
# --------------------------------------------------------------------------


def native_datasets(variant: OpenCompassDataset) -> list[dict]:
    """The config's dataset dicts (OpenCompass config modules import as plain Python)."""
    return list(getattr(importlib.import_module(variant.module), variant.variable))


def dataset_shots(dataset: dict, variant: OpenCompassDataset | None = None) -> int | None:
    """In-context examples in each prompt: a FixKRetriever's fixed rows; a ZeroRetriever adds
    none, so the exemplars are those fixed in the config's prompt template, as many as the
    descriptor's one ``shots`` value states (format tests check it against the template)."""
    retriever = dataset.get("infer_cfg", {}).get("retriever", {})
    name = _type_name(retriever.get("type"))
    if name == "ZeroRetriever":
        return variant.shots[0] if variant is not None and len(variant.shots) == 1 else 0
    if name == "FixKRetriever":
        return len(retriever.get("fix_id_list", []))
    return None


def _type_name(t) -> str:
    """A config's ``type`` as a short name: a class, a registered name or a dotted path."""
    name = t if isinstance(t, str) else getattr(t, "__name__", str(t))
    return name.rsplit(".", 1)[-1]


def write_native(
    fmt: Format, variant: OpenCompassDataset, records: Sequence[Record] | None, out_dir: Path, shots: int | None = None
) -> dict:
    """Lay the records out as the config's loader reads them under ``<out_dir>/data``; return the
    index {module, variable, variant, path, metric, shots, datasets: {abbr: {subtask, name, items,
    shots, evaluator}}} (``items``: the evaluated split's item ids in the loader's order)."""
    out_dir = Path(out_dir)
    if records is not None and variant.subtask_key is not None:
        records = [dataclasses.replace(r, subtask=variant.subtask_key(r)) for r in records]
    by_subtask: dict[str, list[dict]] = {}
    for dataset in native_datasets(variant):
        subtask = variant.subtask_of(dataset)
        if subtask is not None:
            by_subtask.setdefault(subtask, []).append(dataset)
    index = {
        "module": variant.module,
        "variable": variant.variable,
        "variant": variant.variant,
        "metric": variant.metric,
        "shots": shots,
        "path": None,
        "datasets": {},
    }
    if records is None:  # `data: builtin`: the config's datasets on their own data
        for subtask, datasets in sorted(by_subtask.items()):
            for d in datasets:
                index["datasets"][d["abbr"]] = _entry(d, subtask, None, variant)
        return index
    subtasks = sorted({r.subtask for r in records})
    for subtask in subtasks:
        if subtask not in by_subtask:
            example = next(r.item_id for r in records if r.subtask == subtask)
            known = sorted(by_subtask)
            listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            raise DataError(
                f"{fmt.label}: subtask {subtask!r} has no dataset in OpenCompass's "
                f"{variant.module}.{variant.variable} (its subtasks: {listed})",
                example.split(":")[0].split("#")[0],
            )
    data_dir = out_dir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    variant.layout(records, data_dir)
    index["path"] = str(data_dir.resolve())
    for subtask in subtasks:
        mine = [r for r in records if r.subtask == subtask]
        evaluated = [r.item_id for r in mine if r.split == fmt.eval_split]
        if not evaluated:
            raise DataError(f"{fmt.label}: subtask {subtask!r} has no {fmt.eval_split!r} items to evaluate")
        for d in by_subtask[subtask]:
            _check_exemplars(fmt, variant, d, subtask, mine)
            n_shots = dataset_shots(d, variant)
            if shots is not None and n_shots is not None and n_shots != shots:
                raise DataError(
                    f"{fmt.label}: {shots} shots asked for, but OpenCompass's {variant.variant} "
                    f"dataset {d['abbr']!r} runs {n_shots}"
                )
            index["datasets"][d["abbr"]] = _entry(d, subtask, evaluated, variant)
    return index


def _entry(dataset: dict, subtask: str, items: list[str] | None, variant: OpenCompassDataset) -> dict:
    evaluator = dataset.get("eval_cfg", {}).get("evaluator", {}).get("type")
    return {
        "subtask": subtask,
        "name": dataset.get("name"),
        "items": items,
        "shots": dataset_shots(dataset, variant),
        "evaluator": _type_name(evaluator),
    }


def _check_exemplars(
    fmt: Format, variant: OpenCompassDataset, dataset: dict, subtask: str, records: Sequence[Record]
) -> None:
    """A FixKRetriever takes fixed rows of the exemplar split: they must exist."""
    retriever = dataset.get("infer_cfg", {}).get("retriever", {})
    if _type_name(retriever.get("type")) != "FixKRetriever":
        return
    split = dataset.get("reader_cfg", {}).get("train_split", "train")
    have = sum(r.split == split for r in records)
    wanted = retriever.get("fix_id_list", [])
    if wanted and max(wanted) >= have:
        raise DataError(
            f"{fmt.label}: subtask {subtask!r} has {have} {split!r} rows, but OpenCompass's "
            f"{variant.variant} takes rows {wanted} of them as exemplars"
        )


# --------------------------------------------------------------------------
# Harness job: one generated config, one OpenCompass run
# --------------------------------------------------------------------------

CONFIG_HEADER = """\
# Generated by lmdeck for one harness job: OpenCompass's own dataset configs, of which only
# `path` (where lmdeck laid out the authors' files) and `abbr` (prefixed with the benchmark
# name) are replaced, and the inferencer's `max_out_len` where the lmdeck config sets an
# explicit `max_gen_toks`. Run it as it is: python -m opencompass.cli.main <this file> --debug
from mmengine.config import read_base
from opencompass.models import HuggingFaceBaseModel, HuggingFacewithChatTemplate
"""


def native_dir(bench: JobBenchmark) -> Path:
    """Where the data step put this benchmark's OpenCompass files (index.json)."""
    data = Path(bench.data)
    return data if (data / "index.json").exists() else data / "opencompass"


def read_index(bench: JobBenchmark) -> dict:
    path = native_dir(bench) / "index.json"
    if not path.exists() and bench.builtin:
        # `data: builtin` needs no files: the config's datasets on their own data.
        from lmdeck import formats

        fmt = formats.get(bench.format)
        return write_native(fmt, fmt.variant("opencompass", bench.variant, bench.shots), None, path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no OpenCompass index; run the data step first") from None


def prefix(bench: JobBenchmark) -> str:
    return f"{bench.name}{ABBR_SEPARATOR}"


def write_config(spec: JobSpec, benches: Sequence[JobBenchmark], job_dir: Path) -> Path:
    """The job's OpenCompass config (``<job_dir>/opencompass_config.py``)."""
    imports, loops = [], []
    for i, bench in enumerate(benches):
        index = read_index(bench)
        alias = f"_lmdeck_{i}"
        imports.append(f"    from {index['module']} import {index['variable']} as {alias}\n")
        keep = sorted(index["datasets"])
        body = f"        datasets.append(dict(_d, abbr={prefix(bench)!r} + _d['abbr']"
        body += f", path={index['path']!r}" if index["path"] else ""
        if bench.max_gen_toks:
            # The explicit, recorded generation-length override (config `max_gen_toks`).
            body += (
                ", infer_cfg=dict(_d['infer_cfg'], inferencer=dict(_d['infer_cfg']['inferencer'], "
                f"max_out_len={int(bench.max_gen_toks)}))"
            )
        body += "))\n"
        loops.append(
            f"\n# {bench.name}: {index['module']}.{index['variable']}\n"
            f"for _d in {alias}:\n"
            f"    if _d['abbr'] in {keep!r}:\n" + body
        )
    text = CONFIG_HEADER + "\nwith read_base():\n" + "".join(imports)
    text += "\ndatasets = []\n" + "".join(loops) + ("del _d\n" if loops else "")
    text += "\n" + model_entry(spec.model)
    text += f"work_dir = {str((job_dir / '_work').resolve())!r}\n"
    config_path = job_dir / "opencompass_config.py"
    fileio.write_text(config_path, text)
    return config_path


# OpenCompass's HF model settings lmdeck fixes: the batch for `batch_size: auto` (lm-eval's
# option; OpenCompass has none), the context length (given explicitly, else OpenCompass reads it
# with trust_remote_code=True) and the generation length where a dataset's inferencer sets none.
AUTO_BATCH_SIZE = 8
MAX_SEQ_LEN = 2048
MAX_OUT_LEN = 256


def model_entry(model: JobModel) -> str:
    kwargs = {
        "torch_dtype": "auto" if model.dtype == "auto" else f"torch.{model.dtype}",
        "trust_remote_code": model.trust_remote_code,
        "revision": model.revision,
    }
    if model.device == "cpu":
        kwargs["device_map"] = "cpu"
    kwargs.update(model.opencompass_model_kwargs)
    model_type = "HuggingFacewithChatTemplate" if model.kind == "chat" else "HuggingFaceBaseModel"
    batch = AUTO_BATCH_SIZE if model.batch_size == "auto" else model.batch_size
    # OpenCompass asserts the GPUs it is told about exist: none for a CPU run.
    num_gpus = 0 if model.device == "cpu" else model.gpus
    # OpenCompass runs in the job folder: a local model path must be absolute.
    path = str(Path(model.path).resolve()) if Path(model.path).is_dir() else model.path
    return (
        f"models = [dict(type={model_type}, abbr={model.name!r}, path={path!r},\n"
        f"               model_kwargs={kwargs!r},\n"
        f"               tokenizer_kwargs={{'trust_remote_code': {model.trust_remote_code!r}, "
        f"'revision': {model.revision!r}}},\n"
        f"               max_out_len={MAX_OUT_LEN}, batch_size={batch}, "
        f"run_cfg=dict(num_gpus={num_gpus}),\n"
        f"               max_seq_len={MAX_SEQ_LEN})]\n"
    )


def run_opencompass(config_path: Path, job_dir: Path) -> Path:
    """Run OpenCompass in debug mode (in-process, one model load); return its timestamped output dir."""
    work = job_dir / "_work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "opencompass.cli.main",
        str(config_path.resolve()),
        "--debug",
        "-w",
        str(work.resolve()),
    ]
    log = job_dir / "opencompass.log"
    with open(log, "w", encoding="utf-8") as out:
        # In the work folder: OpenCompass also leaves tmp/ and icl_inference_output/ in its cwd.
        proc = subprocess.run(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"OpenCompass failed (exit {proc.returncode}); see {log}")
    # OpenCompass's run folder is named by its start time (and holds the config it ran).
    runs = sorted(p for p in work.iterdir() if (p / "configs").is_dir()) if work.exists() else []
    if not runs:
        raise RuntimeError(f"OpenCompass wrote no output under {work}; see {log}")
    return runs[-1]


def run(spec: JobSpec, manifest: Path, log: str | None = None) -> None:
    common.go_offline_where_possible(spec)
    job = common.Job(spec, manifest, harness_version(), log)
    if job.todo:
        try:
            config_path = write_config(spec, job.todo, job.job_dir)
            with common.Stopwatch() as clock:
                out_dir = run_opencompass(config_path, job.job_dir)
        except Exception as err:  # one OpenCompass run serves all benchmarks: all fail together
            for bench in job.todo:
                job.failed(bench, err)
        else:
            for bench in job.todo:
                try:
                    collect(bench, job.bench_dir(bench), out_dir, spec.model.name)
                    job.done(bench, clock)
                except Exception as err:
                    job.failed(bench, err)
    job.finish()


def _output_files(folder: Path, abbr: str) -> list[Path]:
    """OpenCompass's file for a dataset, or its parts ``<abbr>_0.json``, ``<abbr>_1.json``, ...
    when its partitioner split the dataset."""
    whole = folder / f"{abbr}.json"
    if whole.exists():
        return [whole]
    parts, i = [], 0
    while (folder / f"{abbr}_{i}.json").exists():
        parts.append(folder / f"{abbr}_{i}.json")
        i += 1
    return parts


def collect(bench: JobBenchmark, bench_dir: Path, run_dir: Path, model_abbr: str) -> None:
    """Copy this benchmark's predictions and results out of OpenCompass's run folder, score each
    item with OpenCompass's own evaluation, and write the index the parsers read."""
    index = read_index(bench)
    index["abbr_prefix"] = prefix(bench)
    for sub in ("predictions", "results", "item_eval"):
        shutil.rmtree(bench_dir / sub, ignore_errors=True)
        (bench_dir / sub).mkdir(parents=True)
    for abbr, entry in sorted(index["datasets"].items()):
        oc_abbr = prefix(bench) + abbr
        predictions = _output_files(run_dir / "predictions" / model_abbr, oc_abbr)
        result = run_dir / "results" / model_abbr / f"{oc_abbr}.json"
        if not predictions or not result.exists():
            raise RuntimeError(f"OpenCompass wrote no predictions or results for {oc_abbr} under {run_dir}")
        for path in [*predictions, result]:
            shutil.copy(path, bench_dir / path.parent.parent.name / path.name)
        entry["file"] = f"{oc_abbr}.json"
        scored = item_scores(run_dir, oc_abbr, index.get("metric", "accuracy"), entry.get("evaluator"))
        n = len(read_predictions(bench_dir, entry))
        if entry.get("items") is not None and n != len(entry["items"]):
            raise RuntimeError(
                f"{oc_abbr}: OpenCompass predicted {n} items, the data step laid out {len(entry['items'])}"
            )
        fileio.write_json(bench_dir / "item_eval" / entry["file"], scored)
    fileio.write_json(bench_dir / "index.json", index)


# --------------------------------------------------------------------------
# Per-item scores from OpenCompass's own evaluation
# --------------------------------------------------------------------------


def item_max(evaluator: str, reference) -> float:
    """The most one item can score under ``evaluator`` (the scale its percentage is taken of).

    GaokaoBenchEvaluator (opencompass/datasets/GaokaoBench.py, ``score``): multi_choice adds 2 to
    ``total_score`` per answer element, the other types 1 per element; accuracy evaluators: 1."""
    if evaluator.startswith("GaokaoBenchEvaluator_"):
        per_element = 2 if evaluator == "GaokaoBenchEvaluator_multi_choice" else 1
        return float(per_element * len(reference))
    return 1.0


def _details_rows(details, n: int) -> list[dict] | None:
    """OpenCompass's per-item ``details`` in item order: a dict keyed "0", "1", ... (its own
    formatting, PPL and GEN) or a list (an evaluator's details, one entry per item)."""
    if isinstance(details, dict):
        rows = [details.get(str(i)) for i in range(n)]
    elif isinstance(details, list) and len(details) == n:
        rows = details
    else:
        return None
    return rows if all(isinstance(r, dict) for r in rows) else None


def _first(value):
    """Details list every replica's value (one per run of the dataset); lmdeck runs one."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _details_correctness(rows: list[dict]) -> list[float] | None:
    """Per-item 0/1 from the details, when they carry it (``correct`` / ``is_correct``)."""
    out = []
    for r in rows:
        value = r.get("correct", r.get("is_correct"))
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        out.append(sum(float(bool(v)) for v in values) / len(values))
    return out


def item_scores(run_dir: Path, oc_abbr: str, metric: str, evaluator: str | None = None) -> dict:
    """Every item's score under OpenCompass's own evaluation of dataset ``oc_abbr`` (its
    results' details for accuracy datasets that carry a per-item correctness, else the config's
    evaluator called on each item), checked against the score OpenCompass reports."""
    path = _model_dir(run_dir, "results") / f"{oc_abbr}.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    key = _metric_key(result, metric, path)
    reported = float(result[key])
    n = len(_read_prediction_files(_output_files(_model_dir(run_dir, "predictions"), oc_abbr)))
    rows = _details_rows(result.get("details"), n)
    correct = _details_correctness(rows) if rows is not None and key == "accuracy" else None
    items = []
    if correct is not None:
        source = "details"
        for r, value in zip(rows, correct):
            reference = r.get("references", r.get("refr", r.get("answer")))
            items.append({"score": value, "max_score": 1.0, "reference": _jsonable(_first(reference))})
    else:
        source = "evaluator"
        task, test_set, pred_dicts, pred_strs = _eval_task(run_dir, oc_abbr)
        evaluator = _type_name(task.eval_cfg.get("evaluator", {}).get("type"))
        references = list(test_set[task.output_column]) if task.output_column else [None] * len(pred_strs)
        for i in range(len(pred_strs)):
            out = task._evaluate_predictions([pred_strs[i]], test_set.select([i]), [pred_dicts[i]])
            if key not in out:
                raise RuntimeError(f"{oc_abbr}: {evaluator} gave no {key!r} for item {i}: {out}")
            top = item_max(evaluator, references[i])
            items.append(
                {
                    "score": float(out[key]) / 100.0 * top,
                    "max_score": top,
                    "reference": _jsonable(references[i]),
                    "details": _jsonable(out.get("details")),
                }
            )
    if len(items) != n:
        raise RuntimeError(f"{oc_abbr}: {n} predictions but {len(items)} scored items")
    total = sum(it["max_score"] for it in items)
    from_items = 100.0 * sum(it["score"] for it in items) / total if total else math.nan
    if not abs(from_items - reported) <= SCORE_TOLERANCE * 100:
        raise RuntimeError(
            f"{oc_abbr}: OpenCompass reports {key} = {reported}, its per-item evaluation gives {from_items}"
        )
    return {"metric": key, "reported": reported, "source": source, "evaluator": evaluator, "items": items}


def _model_dir(run_dir: Path, sub: str) -> Path:
    (folder,) = [p for p in (run_dir / sub).iterdir() if p.is_dir()]
    return folder


@functools.lru_cache(maxsize=4)
def _run_config(dumped: str):
    from mmengine.config import Config

    return Config.fromfile(dumped, format_python_code=False)


def _eval_task(run_dir: Path, oc_abbr: str):
    """OpenCompass's own eval task for one dataset of this run (the config it dumped), with the
    test set, the predictions and the post-processed predictions its evaluator sees."""
    from mmengine.config import ConfigDict
    from opencompass.tasks import OpenICLEvalTask

    dumped = sorted((run_dir / "configs").glob("*.py"))[-1]
    cfg = _run_config(str(dumped))
    (dataset_cfg,) = [d for d in cfg["datasets"] if d["abbr"] == oc_abbr]
    model_cfg = cfg["models"][0]
    task = OpenICLEvalTask(
        ConfigDict(
            models=[model_cfg],
            datasets=[[dataset_cfg]],
            work_dir=str(run_dir),
            eval=dict(runner=dict(task=dict(dump_details=True))),
        )
    )
    task.model_cfg, task.dataset_cfg = model_cfg, dataset_cfg
    task.eval_cfg = copy.deepcopy(dataset_cfg.get("eval_cfg"))
    task.output_column = copy.deepcopy(dataset_cfg["reader_cfg"]["output_column"])
    test_set = task._load_and_preprocess_test_data()
    pred_dicts, pred_strs = task._load_predictions()
    pred_strs = task._process_predictions(pred_strs)
    if len(pred_strs) != len(test_set):
        raise RuntimeError(f"{oc_abbr}: {len(pred_strs)} predictions for {len(test_set)} test items")
    return task, test_set, pred_dicts, pred_strs


def _jsonable(value):
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------
# Reading the harness's own output back
# --------------------------------------------------------------------------

# OpenCompass evaluators' 0-100 per-dataset keys: AccEvaluator, Gsm8kEvaluator, MATHVerifyEvaluator
# report `accuracy`; BBHEvaluator(_mcq), AGIEvalEvaluator, GaokaoBenchEvaluator `score`. One config
# may mix them (agieval_gen: its cloze datasets `score`, the others `accuracy`).
HEADLINE_KEYS = ("accuracy", "score")


def _metric_key(result: dict, metric: str | None, where) -> str:
    keys = (metric, *HEADLINE_KEYS) if metric in (None, "acc", *HEADLINE_KEYS) else (metric,)
    for key in keys:
        if key and key in result:
            return key
    raise ValueError(f"{where}: no metric {metric!r} (has {sorted(k for k in result if k != 'details')})")


def read_predictions(bench_dir: Path, entry: dict) -> list[dict]:
    """OpenCompass's predictions for one dataset, in the order of the evaluated split (its files
    key them "0", "1", ...; a split dataset's parts follow each other)."""
    folder = bench_dir / "predictions"
    files = _output_files(folder, entry["file"][: -len(".json")])
    if not files:
        raise ValueError(f"{folder}: no predictions for {entry['file']}")
    return _read_prediction_files(files)


def _read_prediction_files(files: list[Path]) -> list[dict]:
    out = []
    for path in files:
        rows = json.loads(path.read_text(encoding="utf-8"))
        out += [rows[str(i)] for i in range(len(rows))]
    return out


def task_name(entry: dict) -> str:
    """A dataset's abbr as OpenCompass ran it (``<benchmark>__<abbr>``): its result files' name."""
    return entry["file"][: -len(".json")]


def parse(bench_dir: Path, metric: str = "accuracy") -> list[dict]:
    """Tidy rows (score 0-100 as OpenCompass reports it), one per dataset; ``task`` is the
    dataset's abbr as OpenCompass ran it (``results/<task>.json``)."""
    index = json.loads((bench_dir / "index.json").read_text(encoding="utf-8"))
    rows = []
    for abbr, entry in sorted(index["datasets"].items()):
        path = bench_dir / "results" / entry["file"]
        result = json.loads(path.read_text(encoding="utf-8"))
        key = _metric_key(result, metric if metric not in (None, "acc") else index.get("metric"), path)
        try:
            score = float(result[key])
        except (TypeError, ValueError):
            raise ValueError(f"{path}: {key} = {result[key]!r} is not a number") from None
        if math.isnan(score) or not 0.0 <= score <= 100.0:
            raise ValueError(f"{path}: {key} = {result[key]!r} is outside 0-100")
        n = len(entry["items"]) if entry.get("items") is not None else len(read_predictions(bench_dir, entry))
        rows.append(
            {
                "subtask": entry["subtask"],
                "task": task_name(entry),
                "metric": key,
                "score": score,
                "stderr": binomial_stderr(score, n),
                "n": n,
                "shots": entry.get("shots"),
            }
        )
    return rows


def parse_samples(bench_dir: Path, metric: str = "accuracy") -> list[dict]:
    """One row per item: the prompt OpenCompass built (``origin_prompt``; for PPL datasets the
    gold label's prompt, the first label's when the gold is not a label), the prediction (the
    generation, or the chosen label), the target, and the item's score and maximum from
    OpenCompass's own evaluation (``item_eval``). Items align with ids by position."""
    index = json.loads((bench_dir / "index.json").read_text(encoding="utf-8"))
    out = []
    for abbr, entry in sorted(index["datasets"].items()):
        predictions = read_predictions(bench_dir, entry)
        scored = json.loads((bench_dir / "item_eval" / entry["file"]).read_text(encoding="utf-8"))
        items = entry.get("items")
        ids = items if items is not None else [f"{abbr}#{i}" for i in range(len(predictions))]
        if not len(ids) == len(predictions) == len(scored["items"]):
            raise ValueError(
                f"{bench_dir}: {abbr}: {len(ids)} item ids, {len(predictions)} predictions, "
                f"{len(scored['items'])} scored items: they must be the same items in order"
            )
        for item_id, pred, score in zip(ids, predictions, scored["items"]):
            out.append(
                {
                    "subtask": entry["subtask"],
                    "task": task_name(entry),
                    "item_id": item_id,
                    "prompt": _prompt(pred),
                    "prediction": _text(pred.get("prediction", "")),
                    "target": _text(score.get("reference", "")),
                    "score": float(score["score"]),
                    "max_score": float(score["max_score"]),
                    "metric": scored["metric"],
                }
            )
    return out


def _prompt(pred: dict) -> str:
    """GEN: ``origin_prompt``. PPL: one prompt per label ("label: A": {"prompt": the whole text,
    in-context examples included}); the gold label's (the first label's when the gold is none of
    them). A PPL record's own ``origin_prompt`` is the first label's text without the examples."""
    labels = {k[len("label: ") :]: v for k, v in pred.items() if k.startswith("label: ")}
    if labels:
        chosen = labels.get(str(pred.get("gold", "")), next(iter(labels.values())))
        return _text(chosen.get("prompt", chosen.get("testing input", "")))
    return _text(pred.get("origin_prompt", ""))


def _text(value) -> str:
    """OpenCompass's strings as they are; chat prompts (lists of turns) and list answers as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def binomial_stderr(score: float, n: int | None) -> float:
    """Standard error of a mean of 0/1 outcomes (OpenCompass reports none), as lm-eval computes it."""
    if not n or n < 2:
        return math.nan
    p = score / 100.0
    return 100.0 * math.sqrt(p * (1.0 - p) / (n - 1))
