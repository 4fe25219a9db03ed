"""MATH (Hendrycks et al.), JSON-lines form.

Files: every ``*.jsonl`` under the benchmark folder except ``train.jsonl``
(e.g. ``data/math/test.jsonl``), keys ``problem, level, type, solution``.
Gold answer = the content of the LAST ``\\boxed{...}`` (braces balanced; also
``\\boxed x`` and ``\\fbox{...}``) in the solution; subtask = ``type``.

Few-shot exemplars (``shots`` of them, 4 for the Minerva-style 4-shot CoT):
the first ``shots`` records of a ``train.jsonl`` under the folder when there is
one, otherwise the first ``shots`` OTHER records of the same file (the item
itself is never its own exemplar). Prompt, as lm-eval's ``minerva_math``
renders it (doc_to_text + " " + solution + "\\n\\n" per exemplar):

    Problem:\\n{problem}\\n\\nSolution: {solution}\\n\\n   (per exemplar)
    Problem:\\n{problem}\\n\\nSolution:
"""
from __future__ import annotations

from pathlib import Path

from .base import (DataError, Item, Loader, find_file, get_field, glob_files, no_files, read_jsonl, rel,
                   unique_by)


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` / ``\\boxed x`` / ``\\fbox{...}`` in ``text``;
    None when there is none or its braces do not close."""
    idx = text.rfind("\\boxed")
    cmd = "\\boxed"
    if idx < 0:
        idx, cmd = text.rfind("\\fbox"), "\\fbox"
        if idx < 0:
            return None
    rest = text[idx + len(cmd):]
    if rest.startswith(" "):  # "\boxed 5$" form
        return rest[1:].split("$")[0].strip()
    if not rest.startswith("{"):
        return None
    depth = 0
    for j, ch in enumerate(rest):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return rest[1:j]
    return None


def read_problems(path: Path) -> list[dict]:
    out = []
    for line, rec in read_jsonl(path):
        problem = get_field(rec, "problem", str, path, line)
        solution = get_field(rec, "solution", str, path, line)
        answer = last_boxed(solution)
        if answer is None:
            raise DataError("solution has no complete \\boxed{...} answer", path, line)
        out.append({"line": line, "problem": problem, "solution": solution, "answer": answer,
                    "type": str(rec.get("type") or "math"), "level": rec.get("level")})
    return out


def block(problem: str) -> str:
    return f"Problem:\n{problem}\n\nSolution:"


class MathLoader(Loader):
    name = "math"

    def _files(self, folder: Path) -> tuple[list[Path], Path | None]:
        evals = [p for p in glob_files(folder, "*.jsonl") if p.name != "train.jsonl"]
        if not evals:
            raise no_files(folder, "MATH", "<split>.jsonl with problem/level/type/solution, e.g. data/math/test.jsonl")
        unique_by(evals, lambda p: p.stem, folder, "file name")
        return evals, find_file(folder, "train.jsonl", "MATH train.jsonl")

    def source_files(self, folder: Path) -> list[Path]:
        evals, train = self._files(folder)
        return sorted(evals + ([train] if train else []))

    def load(self, folder: Path, shots: int) -> list[Item]:
        evals, train = self._files(folder)
        train_shots = read_problems(train)[:shots] if shots > 0 and train else None
        items: list[Item] = []
        for path in evals:
            problems = read_problems(path)
            for i, p in enumerate(problems):
                if train_shots is not None:
                    used = train_shots
                else:
                    used = [q for j, q in enumerate(problems) if j != i][:max(shots, 0)]
                context = "".join(f"{block(q['problem'])} {q['solution']}\n\n" for q in used)
                items.append(Item(
                    subtask=p["type"], id=f"{path.stem}/{i}", kind="gen",
                    prompt=context + block(p["problem"]), answer=p["answer"],
                    meta={"file": rel(path, folder), "line": p["line"], "level": p["level"],
                          "n_shots": len(used),
                          "fewshot_source": "train" if train_shots is not None else "same_file"},
                ))
        return items
