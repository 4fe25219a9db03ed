"""How the authors' few-shot exemplars compare with the copies a harness's built-in task carries.

The native task prompts with its own copy (lmdeck never substitutes a prompt); this tells a reader
whether that copy is the authors' text. It reads both a format's files and the lm-eval task
configs, so it sits above the format descriptors and the lm-eval adapter.
"""

from __future__ import annotations

from pathlib import Path

from lmdeck.formats import bbh
from lmdeck.harness.lmeval import builtin_tasks


def bbh_cot_prompt_differences(folder: Path, variant: str = "bbh_cot_fewshot") -> dict[str, list[str]]:
    """Per task with a cot-prompts file: how its description and exemplars differ from the
    exemplars lm-eval's ``variant`` task carries (empty list: identical)."""
    tasks, prompts = bbh.task_files(folder)
    builtin = builtin_tasks(bbh.FORMAT.lm_eval[variant])
    out: dict[str, list[str]] = {}
    for path in tasks:
        if path.stem not in prompts or path.stem not in builtin:
            continue
        description, exemplars = bbh.parse_cot_prompt(prompts[path.stem])
        cfg = builtin[path.stem][2]
        samples = (cfg.get("fewshot_config") or {}).get("samples") or []
        diffs = []
        if cfg.get("description", "").strip() != description:
            diffs.append("description")
        if len(samples) != len(exemplars):
            diffs.append(f"{len(exemplars)} exemplars in the file, {len(samples)} in lm-eval")
        for n, (mine, theirs) in enumerate(zip(exemplars, samples), 1):
            for key in ("input", "target"):
                if mine[key] != theirs.get(key):
                    diffs.append(f"exemplar {n} {key} (line {mine['line']})")
        out[path.stem] = diffs
    return out
