"""lm-evaluation-harness adapter: the harness's own tasks with only the data source swapped.

For every subtask the data step writes a task YAML that ``include:``s lm-eval's built-in task
YAML and overrides only where the data comes from (``dataset_path: json``, the converted
files as ``data_files`` under the split names the task reads, ``dataset_name`` cleared).
Prompt template, few-shot split and sampler, seeds, stop sequences, filters, metrics are the
built-in task's. The harness job loads the model once and runs every benchmark's tasks with
``simple_evaluate`` (the CLI's own seeds), keeping lm-eval's per-item samples.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

import yaml

from lmdeck import fileio
from lmdeck.formats import Format, LmEvalTask, Record
from lmdeck.formats.base import ITEM_ID
from lmdeck.formats.files import DataError
from lmdeck.harness import common
from lmdeck.settings import JobBenchmark, JobModel, JobSpec

# lm_eval's CLI defaults (--seed 0,1234,1234,1234): the same few-shot draws as `lm_eval`.
SEEDS = {"random_seed": 0, "numpy_random_seed": 1234, "torch_random_seed": 1234, "fewshot_random_seed": 1234}
EVAL_SPLIT_KEYS = ("test_split", "validation_split")


def harness_version() -> str:
    from importlib.metadata import version

    return f"lm-eval {version('lm_eval')}"


def tasks_root() -> Path:
    """lm-eval's built-in task folder, found without importing lm-eval (which is slow)."""
    import importlib.util

    spec = importlib.util.find_spec("lm_eval")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks"


def builtin_tasks(variant: LmEvalTask) -> dict[str, tuple[str, Path, dict]]:
    """subtask -> (task name, YAML path, config with includes resolved) of a task family."""
    from lm_eval.tasks._yaml_loader import load_yaml

    found: dict[str, tuple[str, Path, dict]] = {}
    for path in sorted((tasks_root() / variant.folder).glob("*.yaml")):
        cfg = load_yaml(path, resolve_func=False)
        if not isinstance(cfg.get("task"), str):
            continue  # a group or tag file
        subtask = variant.subtask_of(cfg)
        if subtask is not None:
            found[subtask] = (cfg["task"], path, cfg)
    return found


def write_native(
    fmt: Format, variant: LmEvalTask, records: Sequence[Record] | None, out_dir: Path, shots: int | None = None
) -> dict:
    """The override YAMLs and converted rows of one benchmark under ``out_dir``; returns the
    index the harness job and the parser read: {task: {subtask, eval_split, items}}.

    ``shots`` goes into the YAML as ``num_fewshot`` (what ``lm_eval --num_fewshot`` sets), so
    that the folder alone reproduces the run: ``lm_eval --include_path <out_dir> --tasks ...``."""
    builtin = builtin_tasks(variant)
    if records is None:  # `data: builtin`: the native tasks on their own hub datasets
        return {
            task: {"subtask": subtask, "eval_split": None, "items": None, "builtin": True}
            for subtask, (task, _, _) in sorted(builtin.items())
        }
    subtasks = sorted({r.subtask for r in records})
    unknown = [s for s in subtasks if s not in builtin]
    if unknown:
        known = ", ".join(sorted(builtin)[:12]) + (", ..." if len(builtin) > 12 else "")
        example = next(r.item_id for r in records if r.subtask == unknown[0])
        raise DataError(
            f"{fmt.label}: subtask {unknown[0]!r} ({example.split(':')[0].split('#')[0]}) has no "
            f"lm-eval task in lm_eval/tasks/{variant.folder} (its subtasks: {known})"
        )
    index = {}
    for subtask in subtasks:
        task, yaml_path, cfg = builtin[subtask]
        eval_split = next((cfg[k] for k in EVAL_SPLIT_KEYS if cfg.get(k)), None)
        mine = [r for r in records if r.subtask == subtask]
        data_files = {}
        for native_split, authors_split in variant.splits.items():
            rows = [variant.to_row(r) for r in mine if r.split == authors_split]
            if not rows and native_split == eval_split:
                raise DataError(f"{fmt.label}: subtask {subtask!r} has no {authors_split!r} items to evaluate")
            if not rows:
                continue  # e.g. no exemplars shipped: only 0 shots are allowed (checked before)
            target = out_dir / "data" / f"{task}.{native_split}.jsonl"
            fileio.write_jsonl(target, rows)
            data_files[native_split] = str(target.resolve())
        for native_split in _splits_read(cfg):
            # A split the task opens but the authors do not ship: lm-eval builds its sampler even
            # at 0 shots, so it gets the evaluated rows; shots > 0 were refused before.
            data_files.setdefault(native_split, data_files[eval_split])
        override = {
            "include": str(yaml_path),
            "task": task,
            "dataset_path": "json",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": data_files},
        }
        if shots is not None:
            override["num_fewshot"] = shots
        target = out_dir / f"{task}.yaml"
        fileio.write_text(target, yaml.safe_dump(override, sort_keys=True, allow_unicode=True))
        evaluated = [r.item_id for r in mine if r.split == variant.splits.get(eval_split)]
        index[task] = {"subtask": subtask, "eval_split": eval_split, "items": evaluated}
    return index


def _splits_read(cfg: dict) -> list[str]:
    keys = ("test_split", "validation_split", "fewshot_split", "training_split")
    return sorted({cfg[k] for k in keys if cfg.get(k)})


def model_args(model: JobModel) -> dict:
    args = {
        "pretrained": model.path,
        "revision": model.revision,
        "dtype": model.dtype,
        "trust_remote_code": model.trust_remote_code,
    }
    args.update(model.lm_eval_model_args)
    return args


def load_model(model: JobModel):
    """The lm-eval LM object, loaded once per job and reused for every benchmark."""
    import lm_eval.models  # noqa: F401  (registers lm-eval's own backends: hf, vllm, ...)
    from lm_eval.api.registry import get_model

    from lmdeck.harness import fast_hf, replay  # noqa: F401  (register lmdeck-hf, lmdeck-replay)

    args = model_args(model)
    arg_string = ",".join(f"{k}={v}" for k, v in args.items())
    extra = {"batch_size": model.batch_size, "device": model.device}
    return get_model(model.lm_eval_backend).create_from_arg_string(arg_string, extra)


def gen_kwargs(bench: JobBenchmark) -> str | None:
    """The explicit, recorded generation-length override (lm_eval --gen_kwargs), if any."""
    return f"max_gen_toks={bench.max_gen_toks}" if bench.max_gen_toks else None


def evaluate(lm, bench: JobBenchmark, bench_dir: Path, chat: bool = False) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    native = Path(bench.data)
    index = json.loads((native / "index.json").read_text(encoding="utf-8"))
    if bench.builtin:
        manager = TaskManager()
    else:
        manager = TaskManager(include_path=str(native.resolve()), include_defaults=False)
    results = lm_eval.simple_evaluate(
        # Local data: the shots are in the generated YAMLs; builtin tasks get them as the CLI flag.
        model=lm,
        tasks=sorted(index),
        task_manager=manager,
        num_fewshot=bench.shots if bench.builtin else None,
        gen_kwargs=gen_kwargs(bench),
        log_samples=True,
        confirm_run_unsafe_code=bench.format == "humaneval",
        apply_chat_template=chat,
        **SEEDS,
    )
    write_samples(results.pop("samples"), bench_dir)
    # Environment dumps are large and machine-specific; provenance is recorded in run.json.
    for key in ("pretty_env_info", "config"):
        results.pop(key, None)
    from lm_eval.utils import handle_non_serializable  # task configs hold functions (process_docs, ...)

    fileio.write_text(
        bench_dir / "results.json",
        json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False, default=handle_non_serializable) + "\n",
    )
    fileio.write_json(bench_dir / "index.json", index)
    return results


def write_samples(samples: dict, bench_dir: Path) -> None:
    """lm-eval's per-item records, one JSONL per task, as its own --log_samples writes them."""
    from lm_eval.utils import handle_non_serializable

    for task, rows in sorted(samples.items()):
        text = "".join(json.dumps(row, default=handle_non_serializable, ensure_ascii=False) + "\n" for row in rows)
        fileio.write_text(bench_dir / "samples" / f"{task}.jsonl", text)


def run(spec: JobSpec, manifest: Path, log: str | None = None) -> None:
    common.go_offline_where_possible(spec)
    common.prepare_code_execution(spec)
    job = common.Job(spec, manifest, harness_version(), log)
    lm, load_error = None, None
    for bench in job.todo:
        try:
            if load_error:
                raise load_error
            if lm is None:
                try:
                    lm = load_model(spec.model)
                except Exception as err:  # every benchmark of this model fails the same way
                    load_error = err
                    raise
            with common.Stopwatch() as clock:
                evaluate(lm, bench, job.bench_dir(bench), chat=spec.model.kind == "chat")
            job.done(bench, clock)
        except Exception as err:
            job.failed(bench, err)
    job.finish()


# --------------------------------------------------------------------------
# Reading the harness's own output back
# --------------------------------------------------------------------------


def _metric_key(values: dict, metric: str) -> str | None:
    """lm-eval keys results as "<metric>,<filter>"; ``metric`` may name the filter or not."""
    if metric in values:
        return metric
    return next((k for k in sorted(values) if k.startswith(f"{metric},")), None)


def parse(bench_dir: Path, metric: str) -> list[dict]:
    """Tidy rows (score 0-100) for one benchmark's lm-eval results: one row per task, with the
    shots lm-eval reports having used."""
    results = json.loads((bench_dir / "results.json").read_text(encoding="utf-8"))
    index = json.loads((bench_dir / "index.json").read_text(encoding="utf-8"))
    rows = []
    for task, entry in sorted(index.items()):
        values = results["results"].get(task)
        if values is None:
            raise ValueError(f"{bench_dir / 'results.json'}: task {task!r} is missing")
        key = _metric_key(values, metric)
        if key is None:
            raise ValueError(
                f"{bench_dir / 'results.json'}: task {task!r} has no metric {metric!r} "
                f"(has {sorted(k for k in values if ',' in k and '_stderr' not in k)})"
            )
        stderr_key = key.replace(key.split(",")[0], key.split(",")[0] + "_stderr", 1)
        rows.append(
            {
                "subtask": entry["subtask"],
                "task": task,
                "metric": metric,
                "score": _percent(values[key], bench_dir, task),
                "stderr": _percent(values.get(stderr_key, "N/A"), bench_dir, task, allow_missing=True),
                "n": results.get("n-samples", {}).get(task, {}).get("effective"),
                "shots": results.get("n-shot", {}).get(task),
            }
        )
    return rows


def parse_samples(bench_dir: Path, metric: str) -> list[dict]:
    """One row per item from lm-eval's samples: the prompt it built, the prediction, the
    target and the per-item score under ``metric`` (its filter's samples only)."""
    index = json.loads((bench_dir / "index.json").read_text(encoding="utf-8"))
    out = []
    for task, entry in sorted(index.items()):
        path = bench_dir / "samples" / f"{task}.jsonl"
        rows = fileio.read_jsonl(path)
        name, _, wanted_filter = metric.partition(",")
        for row in rows:
            if wanted_filter and row.get("filter") != wanted_filter:
                continue
            if name not in row:
                raise ValueError(f"{path}: sample {row.get('doc_id')} has no per-item {name!r}")
            out.append(
                {
                    "subtask": entry["subtask"],
                    "task": task,
                    "item_id": row["doc"].get(ITEM_ID, f"{task}#{row['doc_id']}"),
                    "prompt": _prompt(row),
                    "prediction": _prediction(row),
                    "target": _target(row),
                    "score": float(row[name]),
                    "max_score": 1.0,
                    "metric": metric,
                }
            )
    return out


def _prompt(row: dict) -> str:
    args = row.get("arguments") or []
    first = args[0] if args else None
    if isinstance(first, (list, tuple)) and first:
        return str(first[0])
    if isinstance(first, dict):  # lm-eval's tracker layout: {"gen_args_0": {"arg_0": ...}}
        return str(next(iter(first.values()), ""))
    return ""


def _is_loglikelihood(row: dict) -> bool:
    filtered = row.get("filtered_resps") or []
    return (
        bool(filtered)
        and isinstance(filtered[0], (list, tuple))
        and len(filtered[0]) == 2
        and isinstance(filtered[0][0], (int, float))
        and not isinstance(filtered[0][0], bool)
    )


def _target(row: dict) -> str:
    """The gold continuation for a multiple-choice item (lm-eval records its index), else the target."""
    target = row.get("target", "")
    args = row.get("arguments") or []
    if _is_loglikelihood(row) and str(target).isdigit() and int(target) < len(args):
        choice = args[int(target)]
        if isinstance(choice, (list, tuple)) and len(choice) == 2:
            return str(choice[1])
    return str(target)


def _prediction(row: dict) -> str:
    """The chosen option's continuation (log-likelihood tasks) or the filtered generation."""
    filtered = row.get("filtered_resps") or []
    if _is_loglikelihood(row):
        scores = [float(choice[0]) for choice in filtered]
        best = max(range(len(scores)), key=scores.__getitem__)
        args = row.get("arguments") or []
        return str(args[best][1]) if best < len(args) and isinstance(args[best], (list, tuple)) else str(best)
    first = filtered[0] if filtered else ""
    return str(first[0] if isinstance(first, list) and first else first)


def _percent(value, bench_dir: Path, task: str, allow_missing: bool = False) -> float:
    """lm-eval reports fractions; the table is 0-100."""
    if value in (None, "N/A") and allow_missing:
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{bench_dir / 'results.json'}: task {task!r}: score {value!r} is not a number") from None
    if math.isnan(number) and allow_missing:
        return math.nan
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{bench_dir / 'results.json'}: task {task!r}: score {value!r} is outside 0-1")
    return number * 100.0
