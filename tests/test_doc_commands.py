"""Every documented command runs as written (README.md, config/README.md, docs/*.md).

What is collected: each `snakemake ...` and `lmdeck ...` command in a fenced code block (a line
starting with the program; `\\` continues it; a trailing `# comment` is dropped) or in inline code
(a span with arguments: the bare program name in prose is its name, not a command).

How each runs, from the repository root as a reader would:
* `snakemake` commands: as written plus `--directory <tmp>` (replacing a documented `--directory`),
  and `-n` unless they say it: a dry-run that parses the config, the profile and the targets, and
  leaves the repository's results/ alone. A command that runs jobs must also say how many cores
  (`--cores`, `-c`, `--jobs` or a profile): Snakemake refuses to run without, and `-n` would hide it.
  `--report` and `--unlock` run for real, in the folder of the session's finished workflow run
  (the `workflow` fixture), with its Snakefile and config.
* `lmdeck` commands: `lmdeck <step> --help` (each documented option must be in it); cheap ones
  also run for real (REAL below).

Placeholders: only `<...>` names in PLACEHOLDERS are substituted; any other `<...>` fails the test,
so a new placeholder must be added here.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT

DOCS = [ROOT / "README.md", ROOT / "config" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = {
    "<harness>": "lm-eval",
    "<model>": "demo-llama",
    "<my.yaml>": "config/chat-comparison.yaml",
}
# Folders a run writes; a dry-run from the repository root must change none of them there.
OUTPUT_DIRS = ("results", "slides", "logs", "benchmarks", "attachments", ".snakemake")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")


def documented(program: str) -> list[tuple[str, str]]:
    """(where, command) for every `program` command in the docs, first occurrence only."""
    found: dict[str, str] = {}
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        name = doc.relative_to(ROOT)
        for block in FENCE.finditer(text):
            line_no = text.count("\n", 0, block.start(1)) + 1
            for i, line in enumerate(block.group(1).replace("\\\n", " ").splitlines()):
                line = line.strip()
                if line.startswith(f"{program} "):
                    command = " ".join(re.sub(r"\s#.*$", "", line).split())  # a trailing comment dropped
                    found.setdefault(command, f"{name}:{line_no + i}")
        prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for span in INLINE.finditer(prose):
            command = " ".join(span.group(1).split())
            if command.startswith(f"{program} "):
                found.setdefault(command, f"{name}:{prose.count(chr(10), 0, span.start()) + 1}")
    return [(where, command) for command, where in found.items()]


def words(command: str) -> list[str]:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    unknown = re.findall(r"<[^>\s]+>", command)
    assert not unknown, f"{command}: unknown placeholder {unknown}; add it to PLACEHOLDERS in {__file__}"
    return shlex.split(command, comments=True)


SNAKEMAKE = documented("snakemake")
LMDECK = documented("lmdeck")
DRY = ("-n", "--dry-run", "--dryrun")
AGAINST_A_RUN = ("--report", "--unlock")


def env() -> dict:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }


def snapshot() -> dict:
    """The repository's output folders, file by file (mtime), to show a command left them alone."""
    return {
        str(p): p.stat().st_mtime_ns
        for d in OUTPUT_DIRS
        if (ROOT / d).exists()
        for p in [ROOT / d, *(ROOT / d).rglob("*")]
    }


def with_directory(args: list[str], workdir: Path) -> list[str]:
    """`--directory <workdir>`: replacing the documented one, else added."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg in ("--directory", "-d"):
            out[i + 1] = str(workdir)
            return out
        if arg.startswith("--directory="):
            out[i] = f"--directory={workdir}"
            return out
    return [*out, "--directory", str(workdir)]


def says_cores(args: list[str]) -> bool:
    return any(
        a in ("--cores", "-c", "--jobs", "-j", "--profile")
        or a.startswith(("--cores=", "--jobs=", "--profile="))
        or re.fullmatch(r"-[cj]\d+", a)
        for a in args
    )


def test_the_docs_have_the_commands_this_test_knows():
    """A broken extraction must not pass by finding nothing."""
    commands = [c for _, c in SNAKEMAKE]
    assert len(commands) >= 12, commands
    assert "snakemake all export --profile profiles/slurm --configfile config/bluelm-7b.yaml" in commands
    assert any(
        c.startswith("snakemake --profile profiles/slurm --configfile config/bluelm-7b.yaml --default-resources")
        for c in commands
    ), commands  # the continued lines of docs/cluster.md, joined
    assert {"snakemake --report report.html", "snakemake --unlock"} <= set(commands)
    assert {"lmdeck native-tasks", "lmdeck sandbox-check"} <= {c for _, c in LMDECK}


@pytest.mark.parametrize(
    "where,command",
    [c for c in SNAKEMAKE if not any(f in c[1] for f in AGAINST_A_RUN)],
    ids=[c[1] for c in SNAKEMAKE if not any(f in c[1] for f in AGAINST_A_RUN)],
)
def test_snakemake_command_dry_runs(where, command, tmp_path):
    args = words(command)
    if not any(a in DRY for a in args):
        assert says_cores(args), (
            f"{where}: `{command}` as written stops with Snakemake's 'cores have to be "
            "specified': add --cores all (or a --profile)"
        )
    before = snapshot()
    cmd = [str(BIN / "snakemake"), *with_directory(args[1:], tmp_path / "run")]
    if not any(a in DRY for a in args):
        cmd.append("-n")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, f"{where}: `{command}` fails:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    output = proc.stdout + proc.stderr
    assert "This was a dry-run" in output or "Nothing to be done" in output, output[-2000:]
    assert snapshot() == before, f"{where}: `{command}` changed the repository's outputs"


@pytest.mark.slow
@pytest.mark.parametrize(
    "where,command",
    [c for c in SNAKEMAKE if any(f in c[1] for f in AGAINST_A_RUN)],
    ids=[c[1] for c in SNAKEMAKE if any(f in c[1] for f in AGAINST_A_RUN)],
)
def test_snakemake_command_runs_against_a_finished_run(where, command, workflow):
    """In the finished run's folder, with its Snakefile and config (the only additions)."""
    workdir = workflow["dir"]
    args = words(command)
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "Snakefile"),
        "--configfile",
        str(workdir / "config.yaml"),
        *args[1:],
    ]
    before = snapshot()
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env(), timeout=300)
    assert proc.returncode == 0, f"{where}: `{command}` fails:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    if "--report" in args:
        report = workdir / args[args.index("--report") + 1]
        assert report.is_file() and report.stat().st_size > 10_000, report
        assert "scores.csv" in report.read_text(encoding="utf-8", errors="replace")
    if "--unlock" in args:
        assert "Unlocked working directory" in proc.stdout + proc.stderr
        assert not list((workdir / ".snakemake" / "locks").glob("*"))
    assert snapshot() == before


def real_sandbox_run(tmp_path: Path) -> tuple[list[str], str]:
    program = tmp_path / "hello.py"
    program.write_text("print(6 * 7)\n", encoding="utf-8")
    return ["sandbox-run", str(program), "--timeout", "20"], "42"


# Cheap enough to run for real: step -> (args, text its output must hold); needs -> a binary it needs.
REAL = {
    "native-tasks": (lambda tmp: (["native-tasks"], "| Benchmark"), None),
    "sandbox-run": (real_sandbox_run, "bwrap"),
}


@pytest.mark.parametrize("where,command", LMDECK, ids=[c for _, c in LMDECK])
def test_lmdeck_command_is_there(where, command, tmp_path):
    tokens = command.split()
    step = tokens[1]
    proc = subprocess.run([str(BIN / "lmdeck"), step, "--help"], capture_output=True, text=True, env=env(), timeout=120)
    assert proc.returncode == 0, f"{where}: `{command}`: `lmdeck {step} --help` fails:\n{proc.stderr[-2000:]}"
    for option in re.findall(r"--[a-z][a-z-]*", command):
        assert option in proc.stdout, f"{where}: `{command}`: lmdeck {step} has no {option}"
    if step in REAL:
        make, needs = REAL[step]
        if needs and not (shutil.which(needs) or os.environ.get("LMDECK_BWRAP")):
            pytest.skip(f"{needs} is not installed: only `lmdeck {step} --help` was checked")
        args, expected = make(tmp_path)
        real = subprocess.run([str(BIN / "lmdeck"), *args], capture_output=True, text=True, env=env(), timeout=120)
        assert real.returncode == 0 and expected in real.stdout, (
            f"{where}: lmdeck {args}:\n{real.stdout}\n{real.stderr}"
        )
