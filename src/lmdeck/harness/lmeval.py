"""lm-evaluation-harness adapter: build the tasks, run them on one loaded model, parse results.

Local data becomes generated task YAMLs (`dataset_path: json`) whose prompts already hold
the few-shot exemplars built by lmdeck's loaders (so both harnesses see identical text);
`data: builtin` runs the harness's own task with `num_fewshot` = the configured shots.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from lmdeck import fileio
from lmdeck.harness import common

# hf with batched tokenization (lmdeck.harness.fast_hf): same tokens and scores as `hf`.
DEFAULT_BACKEND = "lmdeck-hf"
HOOKS_SHIM = "from lmdeck.harness.hooks import lm_eval_process_results  # noqa: F401\n"


def harness_version() -> str:
    from importlib.metadata import version

    return f"lm-eval {version('lm_eval')}"


def task_config(unit: common.Unit, data_file: Path, max_gen_toks: int) -> dict:
    cfg = {
        "task": unit.task_name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file.resolve())}},
        "test_split": "test",
        "doc_to_text": "{{prompt}}",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1, "lmdeck_subtask": unit.subtask},
    }
    if unit.kind == "mcq":
        # Choices carry their own leading space (" A"), so no extra delimiter.
        cfg.update(output_type="multiple_choice", doc_to_choice="{{choices}}",
                   doc_to_target="{{answer_index}}", target_delimiter="")
    else:
        scorer = unit.items[0]["scorer"]
        cfg.update(
            output_type="generate_until",
            doc_to_target="{{answer}}",
            generation_kwargs={"until": common.STOP_SEQUENCES[scorer], "max_gen_toks": max_gen_toks,
                               "do_sample": False},
            process_results="!function lmdeck_hooks.lm_eval_process_results",
        )
    return cfg


def write_tasks(bench: dict, task_dir: Path, code_timeout_s: float) -> dict[str, str]:
    """Write one YAML + JSONL per unit; return task name -> subtask."""
    task_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "lmdeck_hooks.py").write_text(HOOKS_SHIM)
    index = {}
    for unit in common.units_for(bench, code_timeout_s):
        data_file = task_dir / f"{unit.task_name}.jsonl"
        fileio.write_jsonl(data_file, unit.items)
        text = yaml.safe_dump(task_config(unit, data_file, bench.get("max_gen_toks", 256)),
                              sort_keys=True, allow_unicode=True)
        # `!function` is lm-eval's YAML tag; safe_dump would quote it as a string.
        text = text.replace("'!function lmdeck_hooks.lm_eval_process_results'",
                            "!function lmdeck_hooks.lm_eval_process_results")
        (task_dir / f"{unit.task_name}.yaml").write_text(text, encoding="utf-8")
        index[unit.task_name] = unit.subtask
    fileio.write_json(task_dir / "index.json", index)
    return index


def model_args(model: dict) -> dict:
    args = {"pretrained": model["path"], "revision": model.get("revision", "main"),
            "dtype": model.get("dtype", "auto"), "trust_remote_code": model.get("trust_remote_code", False)}
    args.update(model.get("lm_eval", {}).get("model_args", {}))
    return args


def load_model(model: dict):
    """The lm-eval LM object, loaded once per job and reused for every benchmark."""
    import lm_eval.models  # noqa: F401  (registers lm-eval's own backends: hf, vllm, ...)
    from lm_eval.api.registry import get_model

    from lmdeck.harness import fast_hf, replay  # noqa: F401  (register lmdeck-hf, lmdeck-replay)

    backend = model.get("lm_eval", {}).get("backend", DEFAULT_BACKEND)
    args = model_args(model)
    arg_string = ",".join(f"{k}={v}" for k, v in args.items())
    extra = {"batch_size": model.get("batch_size", 8), "device": model.get("device", "cpu")}
    return get_model(backend).create_from_arg_string(arg_string, extra)


def evaluate(lm, bench: dict, bench_dir: Path, code_timeout_s: float, chat: bool = False) -> dict:
    import lm_eval
    from lm_eval.tasks import TaskManager

    if bench["data"] == "builtin":
        tasks, manager, shots = [bench["task"]], TaskManager(), bench.get("shots")
        fileio.write_json(bench_dir / "tasks" / "index.json", {})
    else:
        index = write_tasks(bench, bench_dir / "tasks", code_timeout_s)
        tasks, shots = sorted(index), None  # exemplars are already in the prompts
        manager = TaskManager(include_path=str(bench_dir / "tasks"), include_defaults=False)
    results = lm_eval.simple_evaluate(
        model=lm, tasks=tasks, task_manager=manager, num_fewshot=shots,
        log_samples=False, random_seed=0, numpy_random_seed=0, torch_random_seed=0, fewshot_random_seed=0,
        confirm_run_unsafe_code=bench["format"] == "humaneval",
        apply_chat_template=chat,
    )
    # Environment dumps are large and machine-specific; provenance is recorded in run.json.
    for key in ("pretty_env_info", "config"):
        results.pop(key, None)
    fileio.write_json(bench_dir / "results.json", results)
    return results


def run(spec: dict, manifest: Path, log: str | None = None) -> None:
    common.go_offline_where_possible(spec)
    job = common.Job(spec, manifest, harness_version(), log)
    lm, load_error = None, None
    for bench in job.todo:
        try:
            if load_error:
                raise load_error
            if lm is None:
                try:
                    lm = load_model(spec["model"])
                except Exception as err:  # every benchmark of this model fails the same way
                    load_error = err
                    raise
            with common.Stopwatch() as clock:
                evaluate(lm, bench, job.bench_dir(bench), spec["code_timeout_s"],
                         chat=spec["model"].get("kind") == "chat")
            job.done(bench, clock)
        except Exception as err:
            job.failed(bench, err)
    job.finish()


def parse(bench_dir: Path, metric: str = "acc") -> list[dict]:
    """Tidy rows (score 0-100) for one benchmark's lm-eval results: one row per leaf task."""
    results = json.loads((bench_dir / "results.json").read_text(encoding="utf-8"))
    index = json.loads((bench_dir / "tasks" / "index.json").read_text(encoding="utf-8"))
    rows = []
    for task, values in sorted(results["results"].items()):
        if task in results.get("group_subtasks", {}) and results["group_subtasks"][task]:
            continue  # groups are re-aggregated by lmdeck, the same way for both harnesses
        key = next((k for k in values if k == metric or k.startswith(f"{metric},")), None)
        if key is None:
            raise ValueError(f"{bench_dir / 'results.json'}: task {task!r} has no metric {metric!r} "
                             f"(has {sorted(k for k in values if ',' in k)})")
        score = values[key]
        stderr = values.get(key.replace(metric, f"{metric}_stderr", 1), "N/A")
        n = results.get("n-samples", {}).get(task, {}).get("effective")
        rows.append({
            "subtask": index.get(task, task),
            "metric": metric,
            "score": _percent(score, bench_dir, task),
            "stderr": _percent(stderr, bench_dir, task, allow_missing=True),
            "n": n,
        })
    return rows


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
