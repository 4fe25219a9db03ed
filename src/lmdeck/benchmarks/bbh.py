"""BIG-Bench Hard (Suzgun et al.).

Files: ``bbh/<task>.json`` (``{"canary": ..., "examples": [{input, target}]}``)
and ``cot-prompts/<task>.txt`` (a canary line and a ``-----`` line, then the task
description and 3 chain-of-thought exemplars "Q: ...\\nA: Let's think step by
step.\\n..." separated by blank lines). Task files are all ``*.json`` under the
benchmark folder; the prompt folder is the one ``cot-prompts`` folder under it.

Prompt, as the BBH authors' CoT setting: the prompt file without its header
(stripped), then ``\\n\\nQ: {input}\\nA: Let's think step by step.``. With
``shots`` < 3 only the description and the first ``shots`` exemplars are kept
(``shots=0``: description + query); a task without a prompt file gets the bare
query. Items: kind
``gen``, answer = ``target`` (e.g. "True", "(B)", "Yes").
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import DataError, Item, Loader, find_dir, get_field, glob_files, no_files, read_json, rel

QUERY = "Q: {input}\nA: Let's think step by step."
_HEADER_RULE = re.compile(r"^-{3,}\s*$")


def parse_cot_prompt(text: str) -> tuple[str, list[str]]:
    """``(description, exemplars)`` of a cot-prompts file; the header (everything
    up to a ``-----`` line among the first lines) is dropped."""
    lines = text.splitlines()
    for i, line in enumerate(lines[:5]):
        if _HEADER_RULE.match(line):
            lines = lines[i + 1:]
            break
    body = "\n".join(lines).strip()
    if body.startswith("Q: "):
        body = "\n\n" + body
    description, *exemplars = body.split("\n\nQ: ")
    return description.strip(), ["Q: " + e.strip() for e in exemplars]


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"not UTF-8 text ({e.reason})", path) from None


class BbhLoader(Loader):
    name = "bbh"

    def _files(self, folder: Path) -> tuple[list[Path], dict[str, Path]]:
        tasks = glob_files(folder, "*.json")
        if not tasks:
            raise no_files(folder, "BBH", "bbh/<task>.json")
        prompt_dir = find_dir(folder, "cot-prompts", "*.txt", "BBH cot-prompts")
        prompts = {p.stem: p for p in sorted(prompt_dir.glob("*.txt"))} if prompt_dir else {}
        return tasks, prompts

    def source_files(self, folder: Path) -> list[Path]:
        tasks, prompts = self._files(folder)
        return sorted(tasks + [prompts[t.stem] for t in tasks if t.stem in prompts])

    def load(self, folder: Path, shots: int) -> list[Item]:
        tasks, prompts = self._files(folder)
        items: list[Item] = []
        for path in tasks:
            task = path.stem
            data = read_json(path)
            if not isinstance(data, dict):
                raise DataError("expected a JSON object with an \"examples\" list", path)
            examples = get_field(data, "examples", list, path)
            parts: list[str] = []
            used = 0
            if task in prompts:
                description, exemplars = parse_cot_prompt(read_text(prompts[task]))
                used = min(max(shots, 0), len(exemplars))
                parts = ([description] if description else []) + exemplars[:used]
            for i, ex in enumerate(examples):
                where = f"example {i}"
                if not isinstance(ex, dict):
                    raise DataError("expected a JSON object", path, where=where)
                text = get_field(ex, "input", str, path, where=where)
                target = get_field(ex, "target", str, path, where=where)
                items.append(Item(
                    subtask=task, id=f"{task}/{i}", kind="gen",
                    prompt="\n\n".join(parts + [QUERY.format(input=text)]), answer=target,
                    meta={"file": rel(path, folder), "n_shots": used},
                ))
        return items
