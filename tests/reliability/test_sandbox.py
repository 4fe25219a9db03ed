import os
import time
import uuid
from pathlib import Path

import pytest

from lmdeck.sandbox import SandboxResult, run_python

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sandbox needs POSIX")


def _gone(pid: int) -> bool:
    """Process has exited (zombies awaiting a reaper count as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


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


def test_infinite_loop_times_out():
    start = time.monotonic()
    r = run_python("while True:\n    pass\n", timeout_s=1.0)
    assert r.timed_out and not r.passed
    assert time.monotonic() - start < 1.0 + 2.0


@pytest.mark.parametrize(
    "how",
    [
        "open({p!r}, 'w').write('x')",
        "import pathlib; pathlib.Path({p!r}).write_text('x')",
        "import os; os.open({p!r}, os.O_WRONLY | os.O_CREAT)",
        "import shutil; open('a', 'w').close(); shutil.copyfile('a', {p!r})",
    ],
)
def test_write_outside_sandbox_is_blocked(how):
    target = f"/tmp/lmdeck_escape_{uuid.uuid4().hex}"
    r = run_python(how.format(p=target) + "\n")
    assert not r.passed
    assert "PermissionError" in r.stderr_tail
    assert not os.path.exists(target)


def test_destructive_calls_are_blocked():
    for stmt in ("os.remove('/tmp/x')", "os.system('true')", "shutil.rmtree('/tmp/x')",
                 "subprocess.run(['true'])", "os.kill(1, 0)"):
        r = run_python(f"import os, shutil, subprocess\n{stmt}\n")
        assert not r.passed and "PermissionError" in r.stderr_tail, stmt


def test_fork_loop_is_blocked():
    r = run_python("import os\nwhile True:\n    os.fork()\n", timeout_s=2.0)
    assert not r.passed and not r.timed_out
    assert "PermissionError" in r.stderr_tail


def test_forked_children_are_killed_with_the_group():
    # without the guard: bounded fork + spin; the timeout kills the whole group
    src = (
        "import os, time\n"
        "pids = []\n"
        "for _ in range(10):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(60)\n"
        "        os._exit(0)\n"
        "    pids.append(pid)\n"
        "print(*pids, flush=True)\n"
        "while True:\n"
        "    pass\n"
    )
    r = run_python(src, timeout_s=1.0, guard=False)
    assert r.timed_out and not r.passed
    pids = [int(p) for p in r.stdout_tail.split()]
    assert len(pids) == 10
    deadline = time.monotonic() + 3
    while not all(_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(p) for p in pids)


def test_memory_hog_fails():
    r = run_python("x = bytearray(2 * 1024**3)\n", memory_mb=512)
    assert not r.passed
    assert "MemoryError" in r.stderr_tail or r.returncode < 0


def test_minimal_env_and_private_cwd(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_do_not_leak")
    src = "import os, sys\nprint(os.getcwd())\nprint(sorted(os.environ))\nprint(os.environ['HOME'] == os.getcwd())\n"
    r = run_python(src)
    assert r.passed, r.stderr_tail
    assert "HF_TOKEN" not in r.stdout_tail and "hf_secret" not in r.stdout_tail
    cwd = r.stdout_tail.splitlines()[0]
    assert cwd != os.getcwd() and "lmdeck_sandbox_" in cwd
    assert r.stdout_tail.splitlines()[-1] == "True"
    assert not os.path.exists(cwd)  # temporary directory removed afterwards


def test_caller_cwd_and_env_unchanged():
    cwd, env = os.getcwd(), dict(os.environ)
    run_python("import os\nos.environ['LMDECK_X'] = '1'\nprint(os.getcwd())\n")
    run_python("while True: pass\n", timeout_s=0.5)
    assert os.getcwd() == cwd
    assert dict(os.environ) == env


def test_output_tail_is_bounded():
    r = run_python("print('x' * 100_000)\n")
    assert r.passed and 0 < len(r.stdout_tail) <= 2000
