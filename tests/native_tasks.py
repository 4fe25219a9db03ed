"""lm-eval's own task objects built from the files lmdeck's data step writes (offline): what the
format tests and the lmdeck-hf test read prompts from."""

from __future__ import annotations

from pathlib import Path

from lmdeck.harness.lmeval import write_native


def build(fmt, variant, records, out: Path, shots: int) -> tuple[dict, dict]:
    """(index, {task name: lm-eval task}) for one benchmark's native tasks."""
    from lm_eval.tasks import TaskManager

    index = write_native(fmt, variant, records, out, shots=shots)
    manager = TaskManager(include_path=str(out), include_defaults=False)
    return index, manager.load(sorted(index))["tasks"]


def first_prompt(task) -> str:
    """The context of the task's first request, as lm-eval builds it."""
    task.build_all_requests(limit=1, rank=0, world_size=1)
    return task.instances[0].args[0]


def data_step(name: str, fmt, harness: str, variant, records, root: Path, max_gen_toks: int | None = None):
    """What lmdeck's data step leaves for ``records`` (already read and cut by the test) under
    ``root/<name>``, and the job spec's entry for that benchmark (as lmdeck.config.job_spec has it)."""
    from lmdeck.prepare import write_all
    from lmdeck.settings import JobBenchmark, Limits, NativeRun, PrepareSpec

    shots = variant.shots[0]
    spec = PrepareSpec(
        name, fmt.name, str(root / name), (NativeRun(harness, variant.variant, shots),), Limits.default()
    )
    write_all(spec, fmt, records, [], "x", False, root / name)
    return JobBenchmark(
        name=name,
        format=fmt.name,
        variant=variant.variant,
        shots=shots,
        metric=variant.metric,
        aggregation=variant.aggregation,
        max_gen_toks=max_gen_toks,
        data=str(root / name / harness / variant.variant),
        builtin=False,
    )
