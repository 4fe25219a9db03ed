"""Run untrusted, model-written Python (HumanEval/MBPP completions) in a child process.

This is defence in depth, NOT a security boundary.  The program runs as the
same user as lmdeck, with the same network access, in a throw-away directory,
under resource limits and a Python-level guard (in the spirit of OpenAI
human-eval's ``reliability_guard``) that blocks the obvious ways to write
outside that directory, delete files or start processes.  Code that really
wants out can get out (``ctypes``, ``_io.FileIO``, ``importlib.reload(os)``...).
So executing generated code must be an explicit opt-in in the run config (like
lm-eval's ``HF_ALLOW_CODE_EVAL=1``), and untrusted models should only be
scored inside a container/VM without secrets or network.
"""

from __future__ import annotations

import functools
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

__all__ = ["SandboxResult", "run_python"]

_TAIL_CHARS = 2000
_MAX_FILE_BYTES = 10 * 1024**2  # RLIMIT_FSIZE: also caps stdout/stderr
_EXTRA_TASKS = 64  # RLIMIT_NPROC head-room above the user's current task count


@dataclass(frozen=True)
class SandboxResult:
    passed: bool  # exited 0 within the time limit
    returncode: int  # negative: killed by that signal (-9 after a timeout)
    timed_out: bool
    stdout_tail: str
    stderr_tail: str


# Runs in the child before the untrusted code.  The program is read first
# (open() is restricted afterwards) and compiled as its own module, so its
# `from __future__` imports and traceback line numbers stay intact.
_RUNNER = r'''
import sys
with open("main.py", encoding="utf-8") as _f:
    _src = _f.read()


def _install_guard(root):
    import builtins, io, os, shutil, subprocess

    root = os.path.realpath(root)

    def deny(name):
        def blocked(*args, **kwargs):
            raise PermissionError(f"{name} is disabled in the lmdeck sandbox")
        return blocked

    def inside(path):
        if isinstance(path, int):  # an already-open file descriptor
            return True
        real = os.path.realpath(os.fsdecode(os.fspath(path)))
        return real == root or real.startswith(root + os.sep)

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and not inside(file):
            raise PermissionError(f"writing {file!r} outside the sandbox directory")
        return real_open(file, mode, *args, **kwargs)

    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & write_flags and not inside(path):
            raise PermissionError(f"writing {path!r} outside the sandbox directory")
        return real_os_open(path, flags, *args, **kwargs)

    builtins.open = io.open = guarded_open
    os.open = guarded_os_open

    for name in (
        "system", "popen", "fork", "forkpty", "kill", "killpg", "setsid",
        "remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace",
        "truncate", "chmod", "chown", "lchown", "chdir", "fchdir", "chroot",
        "symlink", "link", "setuid", "setgid",
        "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
        "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp",
        "spawnvpe", "posix_spawn", "posix_spawnp",
    ):
        if hasattr(os, name):
            setattr(os, name, deny(f"os.{name}"))
    for name in ("rmtree", "move", "chown"):
        setattr(shutil, name, deny(f"shutil.{name}"))

    class DeniedPopen(subprocess.Popen):  # a class, so stdlib subclasses still import
        def __init__(self, *args, **kwargs):
            raise PermissionError("subprocess is disabled in the lmdeck sandbox")

    subprocess.Popen = DeniedPopen


_install_guard(".")
del _install_guard
sys.argv = ["main.py"]
exec(compile(_src, "main.py", "exec"), {"__name__": "__main__", "__file__": "main.py"})
'''


def _user_task_count() -> int | None:
    """Processes+threads of our uid: what RLIMIT_NPROC counts (Linux /proc)."""
    uid, count = os.getuid(), 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for pid in filter(str.isdigit, entries):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:  # the process went away meanwhile
            continue
    return count


def _set_limit(which: int, value: int) -> None:
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)  # an unprivileged process can't raise the hard limit
    resource.setrlimit(which, (value, value))


def _apply_limits(memory_mb: int, cpu_s: int, nproc: int | None) -> None:
    """preexec_fn: runs in the forked child just before exec."""
    limits = [
        (resource.RLIMIT_AS, memory_mb * 1024**2),
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_FSIZE, _MAX_FILE_BYTES),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc is not None:
        limits.append((resource.RLIMIT_NPROC, nproc))
    for which, value in limits:
        try:
            _set_limit(which, value)
        except (ValueError, OSError):
            pass  # best effort: a missing limit must not stop the evaluation


def _wait_exited(pid: int, timeout_s: float) -> bool:
    """Wait for `pid` to exit WITHOUT reaping it (WNOWAIT): while it is a
    zombie its pid, and so its process-group id, cannot be reused, which makes
    the killpg() afterwards safe."""
    deadline = time.monotonic() + timeout_s
    delay = 0.001
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # already reaped by someone else's waitpid(-1)
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)


def _tail(path: str) -> str:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 4 * _TAIL_CHARS))
        return f.read().decode("utf-8", errors="replace")[-_TAIL_CHARS:]


def run_python(
    source: str, timeout_s: float = 5.0, memory_mb: int = 512, *, guard: bool = True
) -> SandboxResult:
    """Run `source` with a fresh interpreter in a temporary directory.

    Limits: wall clock `timeout_s` (then the whole process group is SIGKILLed),
    address space `memory_mb`, CPU seconds ceil(timeout_s)+1, 10 MB per written
    file (stdout/stderr included), no core dumps, and RLIMIT_NPROC (ignored
    for root).  `guard=False` skips the Python-level write/process guard.
    See the module docstring: this is not a security boundary.
    """
    nproc = None if os.geteuid() == 0 else (_user_task_count() or 0) + _EXTRA_TASKS
    limits = functools.partial(_apply_limits, memory_mb, math.ceil(timeout_s) + 1, nproc)
    with tempfile.TemporaryDirectory(prefix="lmdeck_sandbox_") as tmp:
        with open(os.path.join(tmp, "main.py"), "w", encoding="utf-8") as f:
            f.write(source)
        script = "main.py"
        if guard:
            script = "_lmdeck_runner.py"
            with open(os.path.join(tmp, script), "w", encoding="utf-8") as f:
                f.write(_RUNNER)
        env = {  # minimal: no tokens or credentials of the caller leak in
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": tmp,
            "TMPDIR": tmp,
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        out_path, err_path = os.path.join(tmp, ".stdout"), os.path.join(tmp, ".stderr")
        # Output goes to files, not pipes: a grandchild holding a pipe open
        # could otherwise block us after the timeout.
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                # -I: isolated (ignores PYTHON* env, user site, script dir);
                # -B: no .pyc writes (-I ignores PYTHONDONTWRITEBYTECODE).
                [sys.executable, "-I", "-B", script],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                close_fds=True,
                start_new_session=True,  # setsid(): own process group to kill
                preexec_fn=limits,
            )
            try:
                timed_out = not _wait_exited(proc.pid, timeout_s)
            finally:
                try:  # kill the group: stragglers of a finished run too
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                returncode = proc.wait()
        return SandboxResult(
            passed=not timed_out and returncode == 0,
            returncode=returncode,
            timed_out=timed_out,
            stdout_tail=_tail(out_path),
            stderr_tail=_tail(err_path),
        )
