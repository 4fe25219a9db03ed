"""The code sandbox (lmdeck.sandbox): model-written programs run only inside bubblewrap.

The escape probes (lmdeck.sandbox_probes, also `lmdeck sandbox-check`) run here as the test
process's user, which is root here and in CI: each one judges containment from the host side.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dataclasses import replace

import pytest

from lmdeck import sandbox
from lmdeck.harness.common import prepare_code_execution
from lmdeck.settings import JobBenchmark, JobModel, JobSpec
from lmdeck.sandbox import SandboxResult, SandboxUnavailable, run_python
from lmdeck.sandbox_probes import PROBES, Host

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox is bubblewrap: Linux only")
LMDECK = Path(sys.executable).parent / "lmdeck"


@pytest.fixture
def host():
    """The probes' scene on the host: fresh for each probe (an escaping one may have wrecked it)."""
    scene = Host.create()
    yield scene
    scene.remove()


@pytest.fixture
def no_bwrap(monkeypatch):
    """bwrap missing: $LMDECK_BWRAP names a binary that does not exist."""
    monkeypatch.setenv(sandbox.BWRAP_ENV, f"/nonexistent/bwrap-{uuid.uuid4().hex}")


# ---- programs run as before -----------------------------------------------------------------


def test_passing_program():
    r = run_python("import math\nprint(math.factorial(5))\n")
    assert isinstance(r, SandboxResult)
    assert r.passed and r.returncode == 0 and not r.timed_out
    assert r.stdout_tail.strip() == "120"


def test_future_import_and_relative_writes_work():
    # the guard must not break ordinary programs: __future__ and cwd files are fine
    src = "from __future__ import annotations\nopen('x.txt', 'w').write('hi')\nprint(open('x.txt').read())\n"
    r = run_python(src)
    assert r.passed, r.stderr_tail
    assert r.stdout_tail.strip() == "hi"


def test_failing_assert():
    r = run_python("def f(x):\n    return x + 1\n\nassert f(1) == 3\n")
    assert not r.passed and r.returncode == 1 and not r.timed_out
    assert "AssertionError" in r.stderr_tail
    assert 'File "main.py", line 4' in r.stderr_tail  # user line numbers kept


def test_exit_code_and_death_by_signal():
    assert run_python("import sys\nsys.exit(3)\n").returncode == 3
    crashed = run_python("import ctypes\nctypes.string_at(0)\n", guard=False)
    assert crashed.returncode == -11 and not crashed.passed  # SIGSEGV, reported as before: negative


def test_infinite_loop_times_out():
    start = time.monotonic()
    r = run_python("while True:\n    pass\n", timeout_s=1.0)
    assert r.timed_out and not r.passed and r.returncode == -9
    assert time.monotonic() - start < 1.0 + 2.0


def test_memory_hog_fails():
    r = run_python("x = bytearray(2 * 1024**3)\n", memory_mb=512)
    assert not r.passed
    assert "MemoryError" in r.stderr_tail or r.returncode < 0


def test_minimal_env_and_private_cwd(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_do_not_leak")
    name = f"lmdeck_private_{uuid.uuid4().hex}.txt"
    src = (
        "import os\nprint(os.getcwd())\nprint(sorted(os.environ))\nprint(os.environ['HOME'] == os.getcwd())\n"
        f"open({name!r}, 'w').write('x')\n"
    )
    r = run_python(src)
    assert r.passed, r.stderr_tail
    assert "HF_TOKEN" not in r.stdout_tail and "hf_secret" not in r.stdout_tail
    assert r.stdout_tail.splitlines()[0] == sandbox.WORKDIR
    assert r.stdout_tail.splitlines()[-1] == "True"
    # its working directory is a private tmpfs, not the host's temp dir of the same name
    assert not (Path(sandbox.WORKDIR) / name).exists()
    assert not (Path(tempfile.gettempdir()) / name).exists()


def test_caller_cwd_and_env_unchanged():
    cwd, env = os.getcwd(), dict(os.environ)
    run_python("import os\nos.environ['LMDECK_X'] = '1'\nprint(os.getcwd())\n")
    run_python("while True: pass\n", timeout_s=0.5)
    assert os.getcwd() == cwd
    assert dict(os.environ) == env


def test_output_tail_is_bounded():
    r = run_python("print('x' * 100_000)\n")
    assert r.passed and 0 < len(r.stdout_tail) <= 2000


def test_concurrent_runs_keep_their_own_output():
    # code_eval runs programs from a thread pool: pipes and fds must not cross
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda i: run_python(f"print({i})\nimport sys\nsys.exit({i % 3})\n"), range(8)))
    assert [r.stdout_tail.strip() for r in results] == [str(i) for i in range(8)]
    assert [r.returncode for r in results] == [i % 3 for i in range(8)]


# ---- the Python-level guard, kept as defence in depth ----------------------------------------


def test_destructive_calls_are_blocked_by_the_guard():
    for stmt in (
        "os.remove('/tmp/x')",
        "os.system('true')",
        "shutil.rmtree('/tmp/x')",
        "subprocess.run(['true'])",
        "os.kill(1, 0)",
    ):
        r = run_python(f"import os, shutil, subprocess\n{stmt}\n")
        assert not r.passed and "PermissionError" in r.stderr_tail, stmt


def test_fork_loop_is_blocked_by_the_guard():
    r = run_python("import os\nwhile True:\n    os.fork()\n", timeout_s=2.0)
    assert not r.passed and not r.timed_out
    assert "PermissionError" in r.stderr_tail


@pytest.mark.parametrize("guard", [True, False])
@pytest.mark.parametrize(
    "how",
    [
        "open({p!r}, 'w').write('x')",
        "import pathlib; pathlib.Path({p!r}).write_text('x')",
        "import os; os.open({p!r}, os.O_WRONLY | os.O_CREAT)",
        "import shutil; open('a', 'w').close(); shutil.copyfile('a', {p!r})",
    ],
)
def test_write_to_the_hosts_temp_dir_never_lands(how, guard):
    # (the old test asserted the guard's PermissionError; the boundary is now the mount namespace)
    target = Path(tempfile.gettempdir()) / f"lmdeck_escape_{uuid.uuid4().hex}"
    run_python(how.format(p=str(target)) + "\n", guard=guard)
    assert not target.exists()


# ---- escape probes, judged from the host -----------------------------------------------------


@pytest.mark.parametrize("name", list(PROBES))
def test_escape_probe_is_contained(name, host):
    outcome = PROBES[name](host)
    assert outcome.contained, outcome.line()


def unsandboxed(source: str, timeout_s: float = 5.0, memory_mb: int = 512, *, guard: bool = False) -> SandboxResult:
    """A plain child process, no sandbox: what the probes must see as an escape."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "main.py").write_text(source, encoding="utf-8")
        p = subprocess.run(
            [sys.executable, "-I", "-B", "main.py"], cwd=tmp, capture_output=True, text=True, timeout=timeout_s + 10
        )
    return SandboxResult(p.returncode == 0, p.returncode, False, p.stdout[-2000:], p.stderr[-2000:])


@pytest.mark.parametrize("name", [name for name, probe in PROBES.items() if probe.harmless_unsandboxed])
def test_escape_probe_sees_an_escape_without_the_sandbox(name, host):
    # the host-side check is not vacuous: the same program run without bwrap gets out
    outcome = PROBES[name](host, unsandboxed)
    assert not outcome.contained, outcome.line()


def test_sandbox_check_command_passes():
    proc = subprocess.run([str(LMDECK), "sandbox-check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == list(PROBES)
    assert all(line.split()[1] == "CONTAINED" for line in lines[:-1])
    assert lines[-1] == f"all {len(PROBES)} sandbox probes contained"


# ---- lmdeck sandbox-run ----------------------------------------------------------------------


def test_sandbox_run_command(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nsys.exit(7)\n")
    proc = subprocess.run(
        [str(LMDECK), "sandbox-run", str(program), "--timeout", "5"], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "to stdout\n", "to stderr\n")

    program.write_text("import ctypes\nctypes.string_at(0)\n")
    proc = subprocess.run([str(LMDECK), "sandbox-run", str(program)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 128 + 11  # died of SIGSEGV, as a shell reports it

    program.write_text("while True:\n    pass\n")
    proc = subprocess.run(
        [str(LMDECK), "sandbox-run", str(program), "--timeout", "1"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 124
    assert proc.stderr.strip() == f"lmdeck sandbox-run: {program} timed out after 1 s"


# ---- without bubblewrap: refused, never run unsandboxed ---------------------------------------


def test_missing_bwrap_refuses_code_execution(no_bwrap, tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        run_python(f"open({str(marker)!r}, 'w').write('x')\n")
    assert not marker.exists()


def test_bwrap_not_on_path_refuses_code_execution(monkeypatch):
    monkeypatch.delenv(sandbox.BWRAP_ENV, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SandboxUnavailable, match=r"no bwrap on PATH: install it with `apt-get install bubblewrap`"):
        sandbox.require()


def test_bwrap_failing_its_self_test_is_refused(monkeypatch):
    monkeypatch.setenv(sandbox.BWRAP_ENV, "/bin/false")
    with pytest.raises(SandboxUnavailable, match=r"cannot sandbox model-written code.*apt-get install bubblewrap"):
        sandbox.require()


def test_a_sandbox_that_cannot_start_the_program_fails_loudly(monkeypatch):
    # no /usr in the sandbox: the interpreter cannot start. That must be an error, never a "failed program".
    monkeypatch.setattr(sandbox, "_system_binds", lambda: [])
    sandbox._self_test.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match="did not run the program"):
            run_python("print(1)\n")
    finally:
        sandbox._self_test.cache_clear()


def test_harness_job_refuses_code_execution_before_the_model_loads(no_bwrap, tmp_path):
    cache = tmp_path / "hf_modules"
    humaneval = JobBenchmark("HumanEval", "humaneval", "humaneval", 0, "pass@1", "micro", None, str(tmp_path), False)
    spec = JobSpec("lm-eval", JobModel.with_defaults("m", str(tmp_path)), (humaneval,), True, 10)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        prepare_code_execution(spec, cache)
    assert not cache.exists()  # stopped before installing the metric
    prepare_code_execution(replace(spec, allow_code_execution=False), cache)  # no opt-in: nothing to check


def test_sandbox_run_command_without_bwrap(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text("print('ran')\n")
    env = {**os.environ, sandbox.BWRAP_ENV: "/nonexistent/bwrap"}
    proc = subprocess.run(
        [str(LMDECK), "sandbox-run", str(program)], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 1 and "ran" not in proc.stdout
    assert proc.stderr.strip() == (
        "lmdeck sandbox-run: error: model-written code runs only inside bubblewrap, and "
        "LMDECK_BWRAP=/nonexistent/bwrap is not an executable file: install it with "
        "`apt-get install bubblewrap`"
    )
