"""Run untrusted, model-written Python (HumanEval/MBPP completions) inside a bubblewrap sandbox.

This is the security boundary for generated code.  Each program runs under
``bwrap`` (bubblewrap, ``apt-get install bubblewrap``) in fresh namespaces; there
is no unsandboxed fallback: without a working bwrap, code execution is refused
(:func:`require`).  What the sandbox holds:

* **Files.**  The program sees a new root: ``/usr`` (with the ``/bin``, ``/lib*``
  links), a few ``/etc`` files the dynamic linker and Python need, and the Python
  interpreter's prefixes (the venv and its base interpreter), all read-only and
  nosuid.  The only writable places are private tmpfs mounts, ``/tmp`` (its
  working directory, ``main.py`` inside; 64 MiB) and ``/dev/shm`` (16 MiB); both
  vanish with the sandbox.  The rest of the host (``/root``, ``/home``, the
  repository, the caller's temp dir, sockets...) does not exist in there; ``/``
  and ``/dev`` are read-only; ``/proc`` shows only the sandbox's own processes.
* **Identity.**  The program runs as uid/gid 65534 in its own user namespace with
  every capability dropped, no-new-privileges, no supplementary groups, and
  creating further user namespaces is refused (a seccomp filter, on x86_64 and
  aarch64; without root also bwrap's ``--disable-userns``).  When lmdeck runs as root, that
  uid is also the host's 65534 (nobody), not root: each run gets a user namespace
  made for it (:func:`_new_userns`) in which host root appears only as uid 1.
* **Network.**  None: a new network namespace with only a loopback of its own
  (no route out, no host ports, no host abstract sockets).  IPC and UTS are
  private too.
* **Processes.**  A new PID namespace whose init is the program itself
  (``--as-pid-1``: no bwrap process shares the namespace, so none can be
  ptraced to forge the exit status).  When the program ends, or is killed at the
  wall-clock limit, the kernel kills everything else in the namespace,
  double-forked or ``setsid`` descendants too; :func:`run_python` returns only
  once no process of the sandbox is left.  ``--die-with-parent`` and
  ``--new-session`` (no terminal injection) are set.  Being init, the program
  ignores signals it sends itself whose default action would end it (so
  ``os.abort()`` ends in SIGSEGV, not SIGABRT).
* **Resources** (rlimits, set inside before the program starts): address space
  ``memory_mb`` per process, CPU seconds ceil(timeout)+1, 64 tasks (processes +
  threads; counted per sandbox, in its own user namespace, on Linux >= 5.14),
  10 MB per written file (stdout/stderr included), 256 open files, no core
  dumps.

Not held: memory summed over processes is bounded only by tasks x ``memory_mb``
plus the tmpfs sizes and files kept in memory (memfd, at most 256 x 10 MB):
there is no cgroup; CPU and memory bandwidth are shared with the host; the
kernel is shared (a kernel exploit escapes any namespace sandbox).

An optional Python-level guard (``guard=True``, the default for completions, in
the spirit of OpenAI human-eval's ``reliability_guard``) additionally disables
``os.fork``, ``subprocess``, deletes and writes outside the working directory.
It is defence in depth only; the boundary is bwrap.  ``lmdeck sandbox-check``
runs escape probes against the boundary with the guard off.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
import platform
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

__all__ = [
    "BWRAP_ENV",
    "INSTALL_HINT",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailable",
    "bwrap_path",
    "require",
    "run_python",
]

BWRAP_ENV = "LMDECK_BWRAP"  # path of the bwrap binary; default: `bwrap` on PATH
INSTALL_HINT = "install it with `apt-get install bubblewrap`"

SANDBOX_UID = 65534
WORKDIR = "/tmp"
TMPFS_BYTES = 64 * 1024**2
SHM_BYTES = 16 * 1024**2
MAX_FILE_BYTES = 10 * 1024**2  # RLIMIT_FSIZE: also caps stdout/stderr
MAX_TASKS = 64  # RLIMIT_NPROC inside the sandbox's own user namespace
MAX_OPEN_FILES = 256
_TAIL_CHARS = 2000
_TEARDOWN_S = 10.0  # how long to wait for the PID namespace to be gone
_CLONE_NEWUSER = 0x10000000


class SandboxUnavailable(RuntimeError):
    """No working bubblewrap: code execution is refused."""


class SandboxError(RuntimeError):
    """The sandbox failed to start a program (not the program failing)."""


@dataclass(frozen=True)
class SandboxResult:
    passed: bool  # exited 0 within the time limit
    returncode: int  # negative: killed by that signal (-9 after a timeout)
    timed_out: bool
    stdout_tail: str
    stderr_tail: str


# Runs inside the sandbox, as the program's interpreter, before any of its code:
# lowers the rlimits (which the program then cannot raise: no CAP_SYS_RESOURCE),
# reports readiness on a pipe (so a sandbox that never reached the program fails
# loudly instead of scoring as a failing program), closes every inherited fd but
# stdio, optionally installs the Python-level guard, then runs main.py as
# __main__ (compiled as its own module: `from __future__` imports and traceback
# line numbers stay intact).
_LAUNCHER = r"""
import os, resource, sys

def _limit(which, value):
    hard = resource.getrlimit(which)[1]
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))

_as, _cpu, _fsize, _nproc, _nofile, _ready, _guard = map(int, sys.argv[1:])
for _which, _value in ((resource.RLIMIT_AS, _as), (resource.RLIMIT_CPU, _cpu),
                       (resource.RLIMIT_FSIZE, _fsize), (resource.RLIMIT_NPROC, _nproc),
                       (resource.RLIMIT_NOFILE, _nofile), (resource.RLIMIT_CORE, 0)):
    _limit(_which, _value)
with open("main.py", encoding="utf-8") as _f:
    _src = _f.read()
os.write(_ready, b"1")
os.closerange(3, 1 << 20)


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


if _guard:
    _install_guard(".")
del _install_guard, _limit, _f
sys.argv = ["main.py"]
exec(compile(_src, "main.py", "exec"), {"__name__": "__main__", "__file__": "main.py"})
"""


def bwrap_path() -> str:
    """The bubblewrap binary: $LMDECK_BWRAP, else `bwrap` on PATH; SandboxUnavailable if none."""
    explicit = os.environ.get(BWRAP_ENV, "").strip()
    path = explicit or shutil.which("bwrap")
    if not path:
        raise SandboxUnavailable(
            f"model-written code runs only inside bubblewrap, and there is no bwrap on PATH: {INSTALL_HINT}"
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        where = f"{BWRAP_ENV}={explicit}" if explicit else path
        raise SandboxUnavailable(
            f"model-written code runs only inside bubblewrap, and {where} is not an executable file: {INSTALL_HINT}"
        )
    return path


def require() -> None:
    """Refuse code execution (SandboxUnavailable) unless bwrap runs a program in the sandbox.

    Checked once per bwrap path and process: a trivial program must run as uid 65534
    with no capabilities.  Called before a harness job loads its model."""
    _self_test(bwrap_path())


@functools.cache
def _self_test(bwrap: str) -> None:
    probe = (
        "import os\nprint(os.getuid(), os.getgid(), [l.split()[1] for l in open('/proc/self/status')"
        " if l.startswith('CapEff')][0])\n"
    )
    try:
        r = _run(bwrap, probe, timeout_s=30.0, memory_mb=512, guard=False)
    except (SandboxError, OSError) as err:
        reason = str(err)
    else:
        expected = f"{SANDBOX_UID} {SANDBOX_UID} 0000000000000000"
        if r.passed and r.stdout_tail.strip() == expected:
            return
        reason = f"its self-test printed {r.stdout_tail.strip()!r} (exit {r.returncode}), expected {expected!r}"
    raise SandboxUnavailable(
        f"bubblewrap ({bwrap}) cannot sandbox model-written code: {reason}; "
        f"code execution needs a working bwrap: {INSTALL_HINT}"
    )


def run_python(source: str, timeout_s: float = 5.0, memory_mb: int = 512, *, guard: bool = True) -> SandboxResult:
    """Run `source` as ``main.py`` with a fresh interpreter inside the bubblewrap sandbox.

    Limits: wall clock `timeout_s` (then the sandbox's PID namespace is killed),
    address space `memory_mb` per process, and the rest listed in the module
    docstring.  `guard=False` skips the Python-level guard (the sandbox stays).
    Raises SandboxUnavailable without a working bwrap, SandboxError if the sandbox
    could not start the program.
    """
    bwrap = bwrap_path()
    _self_test(bwrap)
    return _run(bwrap, source, timeout_s, memory_mb, guard)


def _python_binds() -> list[str]:
    """The interpreter's prefixes (venv and base), read-only at their own paths."""
    exe = os.path.realpath(sys.executable)
    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        os.path.dirname(os.path.dirname(exe)),
    }
    paths = sorted({p for c in candidates for p in (os.path.abspath(c), os.path.realpath(c))})
    if "/" in paths:
        raise SandboxUnavailable(
            f"the Python prefix is / ({sys.executable}); the sandbox binds it read-only and "
            "would expose the whole host: use a venv or an interpreter under /usr or /opt"
        )
    system = ("/usr/",)
    kept = [p for p in paths if not (p + "/").startswith(system)]
    args: list[str] = []
    for p in kept:
        if not any(p != q and p.startswith(q + "/") for q in kept):  # nested in another bind
            args += ["--ro-bind", p, p]
    return args


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):  # merged /usr: keep the link
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    # What the dynamic linker, time zones and /usr/bin alternatives need; not passwd, keys, config.
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives"):
        args += ["--ro-bind-try", etc, etc]
    return args


_SANDBOX_ENV = {  # minimal: no tokens or credentials of the caller leak in
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": WORKDIR,
    "TMPDIR": WORKDIR,
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _seccomp_deny_userns() -> bytes | None:
    """A classic-BPF seccomp filter: no new user namespaces (unshare/clone with CLONE_NEWUSER
    get EPERM; clone3, whose flags BPF cannot read, gets ENOSYS so libc falls back to clone),
    no foreign syscall ABIs.  bwrap's --disable-userns cannot be combined with --userns."""
    arch = {  # AUDIT_ARCH, clone, unshare, clone3
        "x86_64": (0xC000003E, 56, 272, 435),
        "aarch64": (0xC00000B7, 220, 97, 435),
    }.get(platform.machine())
    if arch is None:
        return None
    audit_arch, nr_clone, nr_unshare, nr_clone3 = arch
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    program = [  # (code, jump if true, jump if false, k); jumps count from the next instruction
        (ld, 0, 0, 4),  # 0: seccomp_data.arch
        (jeq, 1, 0, audit_arch),  # 1: native -> 3
        (ret, 0, 0, enosys),  # 2: another ABI (int 0x80...)
        (ld, 0, 0, 0),  # 3: seccomp_data.nr
        (jge, 7, 0, 0x40000000),  # 4: x32 ABI -> 12
        (jeq, 6, 0, nr_clone3),  # 5: -> 12
        (jeq, 1, 0, nr_unshare),  # 6: -> 8
        (jeq, 0, 2, nr_clone),  # 7: -> 8, else -> 10
        (ld, 0, 0, 16),  # 8: low word of args[0] (flags)
        (jset, 1, 0, _CLONE_NEWUSER),  # 9: -> 11
        (ret, 0, 0, allow),  # 10
        (ret, 0, 0, eperm),  # 11
        (ret, 0, 0, enosys),  # 12
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in program)


def _new_userns() -> int:
    """(root only) A user namespace for one sandbox, as an open fd: uid/gid 65534 inside is the
    host's 65534 (so the program is not host root, and RLIMIT_NPROC, which root ignores, holds),
    host root is uid/gid 1 (so bwrap can still read root-only paths it binds, e.g. a pyenv
    interpreter under /root, while setting up).  Made by `unshare --user` from util-linux."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    if not os.access(unshare, os.X_OK):
        raise SandboxUnavailable(
            "running as root, the sandbox needs `unshare` (util-linux) to make its user "
            "namespace: install it with `apt-get install util-linux`"
        )
    helper = subprocess.Popen(
        [unshare, "--user", "--", "cat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        close_fds=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        own = os.readlink("/proc/self/ns/user")
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{helper.pid}/ns/user") == own:
            if helper.poll() is not None or time.monotonic() > deadline:
                helper.kill()
                helper.wait()
                raise SandboxError(f"`unshare --user` failed: {helper.stderr.read().decode(errors='replace').strip()}")
            time.sleep(0.0005)
        mapping = f"1 0 1\n{SANDBOX_UID} {SANDBOX_UID} 1\n"
        for name, text in (("uid_map", mapping), ("setgroups", "deny"), ("gid_map", mapping)):
            with open(f"/proc/{helper.pid}/{name}", "w") as f:
                f.write(text)
        return os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        helper.stdin.close()
        helper.kill()
        helper.wait()
        helper.stderr.close()


def _tail(f) -> str:
    f.seek(0, os.SEEK_END)
    f.seek(max(0, f.tell() - 4 * _TAIL_CHARS))
    return f.read().decode("utf-8", errors="replace")[-_TAIL_CHARS:]


def _pipe_with(data: bytes) -> int:
    """Read end of a pipe holding `data` (small: it must fit the pipe buffer)."""
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    return r


def _open_pid1(pid: int, monitor: int) -> int | None:
    """A pidfd on the sandbox's init, the program (bwrap's child `pid`), if it still is that process."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            ppid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
    except (OSError, StopIteration, ValueError):
        ppid = None
    if ppid != monitor:  # gone and its pid reused: never signal it
        os.close(fd)
        return None
    return fd


def _kill_and_wait(pidfd: int, timeout_s: float) -> None:
    """SIGKILL the sandbox's init (the program), which takes its whole PID namespace down; wait until
    it is gone (the kernel lets init go only after every other process of the namespace)."""
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.poll(timeout_s * 1000)


def _argv(
    bwrap: str,
    ns_args: list[str],
    src_fd: int,
    status_fd: int,
    ready_fd: int,
    timeout_s: float,
    memory_mb: int,
    guard: bool,
) -> list[str]:
    argv = [
        bwrap,
        *_system_binds(),
        *_python_binds(),
        "--dev",
        "/dev",
        "--size",
        str(SHM_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(TMPFS_BYTES),
        "--tmpfs",
        WORKDIR,
        "--file",
        str(src_fd),
        f"{WORKDIR}/main.py",
        "--chdir",
        WORKDIR,
        "--remount-ro",
        "/",
        "--unshare-ipc",
        "--unshare-pid",
        "--as-pid-1",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "lmdeck-sandbox",
        *ns_args,
        "--uid",
        str(SANDBOX_UID),
        "--gid",
        str(SANDBOX_UID),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--json-status-fd",
        str(status_fd),
        "--clearenv",
    ]
    for key, value in _SANDBOX_ENV.items():
        argv += ["--setenv", key, value]
    return argv + [
        "--",
        sys.executable,
        "-I",
        "-B",
        "-c",
        _LAUNCHER,
        str(memory_mb * 1024**2),
        str(math.ceil(timeout_s) + 1),
        str(MAX_FILE_BYTES),
        str(MAX_TASKS),
        str(MAX_OPEN_FILES),
        str(ready_fd),
        str(int(guard)),
    ]


def _run(bwrap: str, source: str, timeout_s: float, memory_mb: int, guard: bool) -> SandboxResult:
    as_root = os.geteuid() == 0
    status: dict = {}
    with contextlib.ExitStack() as stack:
        src, out, err = (stack.enter_context(tempfile.TemporaryFile()) for _ in range(3))
        src.write(source.encode("utf-8"))
        src.flush()
        src.seek(0)
        status_r, status_w = os.pipe()
        ready_r, ready_w = os.pipe()
        stack.callback(os.close, status_r)
        stack.callback(os.close, ready_r)
        os.set_blocking(ready_r, False)
        child_fds = [status_w, ready_w]  # ours to close once bwrap has them
        try:
            if as_root:
                child_fds.append(_new_userns())
                ns_args = ["--userns", str(child_fds[-1])]
            else:
                ns_args = ["--unshare-user", "--disable-userns"]
            seccomp = _seccomp_deny_userns()
            if seccomp is not None:
                child_fds.append(_pipe_with(seccomp))
                ns_args += ["--seccomp", str(child_fds[-1])]
            argv = _argv(bwrap, ns_args, src.fileno(), status_w, ready_w, timeout_s, memory_mb, guard)
            start = time.monotonic()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                pass_fds=(*child_fds, src.fileno()),
                close_fds=True,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
                extra_groups=[] if as_root else None,  # root's supplementary groups stay outside
            )
        finally:
            for fd in child_fds:
                os.close(fd)
        timed_out = True  # until bwrap says otherwise: any error below kills the sandbox
        try:
            timed_out = _read_status(status_r, proc.pid, start + timeout_s, status)
        finally:
            pidfd = status.pop("pidfd", None)
            if timed_out:
                if pidfd is not None:
                    _kill_and_wait(pidfd, 0)  # its init first: that takes the whole PID namespace down
                proc.kill()
            proc.wait()
            if pidfd is not None:  # return only once no process of the sandbox is left
                _kill_and_wait(pidfd, _TEARDOWN_S)
                os.close(pidfd)
        try:
            ready = os.read(ready_r, 1) == b"1"
        except BlockingIOError:
            ready = False
        stdout_tail, stderr_tail = _tail(out), _tail(err)

    if timed_out:
        return SandboxResult(
            passed=False, returncode=-signal.SIGKILL, timed_out=True, stdout_tail=stdout_tail, stderr_tail=stderr_tail
        )
    exit_code = status.get("exit-code")
    if exit_code is None or not ready:
        last = stderr_tail.strip().splitlines()[-1:] or [f"bwrap exit code {proc.returncode}"]
        raise SandboxError(f"the sandbox did not run the program: {last[0]}")
    if 128 < exit_code <= 128 + 64:  # bwrap reports death by signal N as 128+N
        exit_code = 128 - exit_code
    return SandboxResult(
        passed=exit_code == 0, returncode=exit_code, timed_out=False, stdout_tail=stdout_tail, stderr_tail=stderr_tail
    )


def _read_status(fd: int, monitor: int, deadline: float, status: dict) -> bool:
    """Merge bwrap's --json-status-fd documents into `status` until bwrap closes the pipe (exits)
    or `deadline`; adds "pidfd", a pidfd on the sandbox's init.  True if the deadline passed."""
    buf = b""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            return True
        chunk = os.read(fd, 4096)
        if not chunk:
            return False
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in filter(None, (raw.strip() for raw in lines)):
            doc = json.loads(line)
            status.update(doc)
            if "child-pid" in doc and "pidfd" not in status:
                status["pidfd"] = _open_pid1(doc["child-pid"], monitor)
