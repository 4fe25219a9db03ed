"""Escape probes for lmdeck's code sandbox: the battery behind `lmdeck sandbox-check`.

Each probe is a small Python program, run the way model-written code is run
(through :func:`lmdeck.sandbox.run_python`, with the Python-level guard off: the
boundary is what is tested), that tries one way out.  Containment is judged from
the HOST side, never from what the program says about itself: the file the
program tried to create really does not exist, a host file's stat and content are
unchanged, a host listener got no connection, no process carrying the probe's
token is left, the host's /proc shows the sandboxed process with no capabilities,
other namespaces and bounded memory.  What the program reports is only shown as
the detail.

The host scene (:class:`Host`) is a scratch directory in the caller's temp dir,
mode 0777 with 0666 files, so that only the sandbox's isolation (not file
permissions) keeps the program away from it; when the venv is writable, one more
victim file is placed inside it, where the sandbox can see it read-only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lmdeck import sandbox
from lmdeck.sandbox import SandboxResult

__all__ = ["PROBES", "Host", "Outcome", "Probe", "check"]

Runner = Callable[..., SandboxResult]  # run_python(source, timeout_s=..., memory_mb=..., guard=...)


@dataclass(frozen=True)
class Outcome:
    probe: str
    contained: bool
    detail: str

    def line(self) -> str:
        return f"{self.probe:<24} {'CONTAINED' if self.contained else 'ESCAPED':<9}  {self.detail}"


@dataclass(frozen=True)
class Probe:
    name: str
    run: Callable[[Host, Runner], tuple[bool, str]]
    # Safe to run WITHOUT a sandbox (it only touches the check's own scratch files and
    # sockets): tests do, to show that the host-side check does see an escape.
    harmless_unsandboxed: bool = False

    def __call__(self, host: Host, runner: Runner = sandbox.run_python) -> Outcome:
        try:
            contained, detail = self.run(host, runner)
        except Exception as err:  # the probe itself broke: that is not containment
            contained, detail = False, f"probe error: {type(err).__name__}: {err}"
        return Outcome(self.name, contained, detail)


@dataclass
class Host:
    """What the check places on the host for the probes to go after."""

    root: Path
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    victims: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls) -> Host:
        host = cls(Path(tempfile.mkdtemp(prefix="lmdeck_sandbox_check_")))
        host.root.chmod(0o777)
        (host.root / "secret.txt").write_text(host.secret + "\n")
        (host.root / "secret.txt").chmod(0o644)
        host.victims.append(host._victim(host.root / "victim.txt"))
        try:  # a host file the sandbox does see (read-only): the venv is bound into it
            host.victims.append(host._victim(Path(sys.prefix) / f"lmdeck_sandbox_victim_{host.secret[:8]}.txt"))
        except OSError:
            pass
        return host

    @staticmethod
    def _victim(path: Path) -> Path:
        path.write_text("victim\n")
        path.chmod(0o666)
        os.utime(path, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))
        return path

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        for victim in self.victims:
            if victim.parent != self.root:
                victim.unlink(missing_ok=True)

    def fresh(self, name: str) -> Path:
        return self.root / f"{name}_{secrets.token_hex(4)}"

    def token(self) -> str:
        return f"lmdeck-probe-{secrets.token_hex(8)}"


# Every probe program starts with this: its parameters, and `attempt`, which runs one
# try and prints how it ended (the inside view, shown as detail only).
_PREAMBLE = """\
import json, os, sys, time
P = json.loads({params!r})

def attempt(label, fn):
    try:
        result = fn()
    except BaseException as err:
        print(f"{{label}}: {{type(err).__name__}}: {{err}}"[:160], flush=True)
        return False
    print(f"{{label}}: succeeded ({{result!r}})"[:160], flush=True)
    return True
"""

# Re-exec with the probe's token in argv, so that the host finds the process (and all
# its forks) in its own /proc.  Limits, namespaces and seccomp survive exec.
_REEXEC = """\
if P["token"] not in sys.argv:
    os.execv(sys.executable, [sys.executable, "-I", "-B", "-c", open("main.py").read(), P["token"]])
"""


def _program(body: str, **params) -> str:
    return _PREAMBLE.format(params=json.dumps(params)) + body


def _inside(result: SandboxResult) -> str:
    lines = [line for line in result.stdout_tail.strip().splitlines() if line]
    if not lines:
        tail = result.stderr_tail.strip().splitlines()
        lines = tail[-1:] or [f"exit {result.returncode}"]
    text = "; ".join(lines)
    return text if len(text) <= 300 else text[:297] + "..."


def _processes(token: str) -> list[int]:
    """Host pids whose command line carries `token` (zombies excluded)."""
    needle, found = token.encode(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle not in f.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    continue
        except OSError:
            continue
        found.append(int(entry))
    return found


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def _watch(runner: Runner, source: str, token: str, look: Callable[[list[int]], None], **kwargs) -> SandboxResult:
    """Run `source` in a thread; meanwhile call `look(pids)` with the host pids carrying `token`."""
    box: dict = {}

    def target():
        try:
            box["result"] = runner(source, guard=False, **kwargs)
        except BaseException as err:
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    while thread.is_alive():
        pids = _processes(token)
        if pids:
            try:
                look(pids)
            except OSError:  # a process went away meanwhile
                pass
        thread.join(0.02)
    if "error" in box:
        raise box["error"]
    return box["result"]


def _run(runner: Runner, source: str, **kwargs) -> SandboxResult:
    return runner(source, guard=False, **kwargs)


# ---- files ---------------------------------------------------------------------------------


def _absent(paths: list[Path]) -> tuple[bool, str]:
    present = [str(p) for p in paths if os.path.lexists(p)]
    return (not present, f"host: {', '.join(present)} EXISTS" if present else "host: nothing created")


def _creation_probe(name: str, body: str) -> Probe:
    def run(host: Host, runner: Runner) -> tuple[bool, str]:
        targets = [host.fresh(name), host.fresh(name)]
        result = _run(runner, _program(body, targets=[str(t) for t in targets]))
        contained, seen = _absent(targets)
        return contained, f"{seen}; inside: {_inside(result)}"

    return Probe(name, run, harmless_unsandboxed=True)


_CREATION_PROBES = [
    _creation_probe(
        "write-open",
        """\
attempt("open", lambda: open(P["targets"][0], "w").write("x"))
attempt("pathlib", lambda: __import__("pathlib").Path(P["targets"][1]).write_text("x"))
""",
    ),
    _creation_probe(
        "write-dir_fd",
        """\
def via_dir_fd(target, directory):
    d = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    fd = os.open(os.path.relpath(target, directory), os.O_WRONLY | os.O_CREAT, 0o666, dir_fd=d)
    return os.write(fd, b"x")
attempt("dir_fd of its directory", lambda: via_dir_fd(P["targets"][0], os.path.dirname(P["targets"][0])))
attempt("dir_fd of /", lambda: via_dir_fd(P["targets"][1], "/"))
""",
    ),
    _creation_probe(
        "write-FileIO",
        """\
import _io
attempt("_io.FileIO", lambda: _io.FileIO(P["targets"][0], "w").write(b"x"))
attempt("_io.open", lambda: _io.open(P["targets"][1], "w").write("x"))
""",
    ),
    _creation_probe(
        "write-ctypes",
        """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def raw(target):
    fd = libc.open(target.encode(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return libc.write(fd, b"x", 1)
def raw_syscall(target):  # openat(2) straight, past libc's wrapper
    nr = {"x86_64": 257, "aarch64": 56}[os.uname().machine]
    fd = libc.syscall(nr, -100, target.encode(), os.O_WRONLY | os.O_CREAT, 0o666)
    if fd < 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return libc.write(fd, b"x", 1)
attempt("libc open+write", lambda: raw(P["targets"][0]))
attempt("syscall openat", lambda: raw_syscall(P["targets"][1]))
""",
    ),
    _creation_probe(
        "mkdir",
        """\
attempt("os.mkdir", lambda: os.mkdir(P["targets"][0]))
attempt("os.makedirs", lambda: os.makedirs(P["targets"][1] + "/sub"))
""",
    ),
    _creation_probe(
        "sqlite",
        """\
import sqlite3
def db(target):
    con = sqlite3.connect(target)
    con.execute("create table t (x)")
    con.commit()
attempt("sqlite3.connect", lambda: db(P["targets"][0]))
attempt("sqlite3 uri", lambda: sqlite3.connect("file:" + P["targets"][1] + "?mode=rwc", uri=True).execute("create table t (x)"))
""",
    ),
    _creation_probe(
        "mkfifo",
        """\
import stat
attempt("os.mkfifo", lambda: os.mkfifo(P["targets"][0]))
attempt("os.mknod", lambda: os.mknod(P["targets"][1], 0o666 | stat.S_IFIFO))
""",
    ),
]


def _fingerprint(path: Path) -> tuple | None:
    try:
        st = os.lstat(path)
        return (
            st.st_ino,
            st.st_mode,
            st.st_uid,
            st.st_gid,
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
            path.read_bytes(),
        )
    except OSError:
        return None


def _tamper_probe(name: str, body: str) -> Probe:
    """`body` acts on every victim (P["victims"]); its stat (mtime, ctime, mode, owner, inode) and
    content must be unchanged on the host, and nothing new (P["targets"]) may appear."""

    def run(host: Host, runner: Runner) -> tuple[bool, str]:
        before = {v: _fingerprint(v) for v in host.victims}
        targets = [host.fresh(name) for _ in host.victims]
        result = _run(runner, _program(body, victims=[str(v) for v in host.victims], targets=[str(t) for t in targets]))
        changed = [str(v) for v in host.victims if _fingerprint(v) != before[v]]
        created, seen = _absent(targets)
        if changed:
            seen = f"host: {', '.join(changed)} CHANGED"
        elif created:
            seen = f"host: {len(host.victims)} victim file(s) unchanged"
        return not changed and created, f"{seen}; inside: {_inside(result)}"

    return Probe(name, run, harmless_unsandboxed=True)


_TAMPER_PROBES = [
    _tamper_probe(
        "utime",
        """\
for v in P["victims"]:
    attempt("utime " + os.path.basename(v), lambda: os.utime(v, (0, 0)))
    attempt("utime now", lambda: os.utime(v))
""",
    ),
    _tamper_probe(
        "chmod",
        """\
for v in P["victims"]:
    attempt("chmod " + os.path.basename(v), lambda: os.chmod(v, 0o600))
""",
    ),
    _tamper_probe(
        "chown",
        """\
for v in P["victims"]:
    attempt("chown " + os.path.basename(v), lambda: os.chown(v, 65534, 65534))
""",
    ),
    _tamper_probe(
        "unlink",
        """\
for v in P["victims"]:
    attempt("unlink " + os.path.basename(v), lambda: os.unlink(v))
""",
    ),
    _tamper_probe(
        "rename",
        """\
for v, t in zip(P["victims"], P["targets"]):
    attempt("rename " + os.path.basename(v), lambda: os.rename(v, t))
""",
    ),
    _tamper_probe(
        "overwrite",
        """\
for v in P["victims"]:
    attempt("open r+ " + os.path.basename(v), lambda: open(v, "r+").write("owned"))
""",
    ),
]


def _read_secret(host: Host, runner: Runner) -> tuple[bool, str]:
    secret_path = str(host.root / "secret.txt")
    body = """\
for path in (P["secret"], "/proc/1/root" + P["secret"], "/proc/self/root" + P["secret"]):
    attempt("read " + path, lambda: open(path).read())
attempt("list its directory", lambda: os.listdir(os.path.dirname(P["secret"])))
attempt("list /root", lambda: os.listdir("/root"))
attempt("list /home", lambda: os.listdir("/home"))
"""
    result = _run(runner, _program(body, secret=secret_path))
    leaked = host.secret in result.stdout_tail + result.stderr_tail
    return (
        not leaked,
        f"host: secret {'LEAKED into the output' if leaked else 'not in the output'}; inside: {_inside(result)}",
    )


# ---- network -------------------------------------------------------------------------------


def _net_localhost(host: Host, runner: Runner) -> tuple[bool, str]:
    """Host listeners the program tries to reach: TCP and UDP on 127.0.0.1, an abstract unix socket."""
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract = f"\0lmdeck-sandbox-check-{host.secret[:8]}"
    try:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(8)
        udp.bind(("127.0.0.1", 0))
        unix.bind(abstract)
        unix.listen(8)
        for s in (tcp, udp, unix):
            s.setblocking(False)
        body = """\
import socket
def tcp():
    with socket.create_connection(("127.0.0.1", P["tcp"]), timeout=2) as s:
        return s.send(b"hello")
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        return s.sendto(b"hello", ("127.0.0.1", P["udp"]))
def unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect("\\0" + P["abstract"])
        return s.send(b"hello")
attempt("tcp 127.0.0.1", tcp)
attempt("udp 127.0.0.1", udp)
attempt("abstract unix socket", unix)
"""
        result = _run(runner, _program(body, tcp=tcp.getsockname()[1], udp=udp.getsockname()[1], abstract=abstract[1:]))
        reached = []
        for name, sock, receive in (
            ("tcp", tcp, tcp.accept),
            ("udp", udp, lambda: udp.recvfrom(64)),
            ("unix", unix, unix.accept),
        ):
            try:
                receive()
                reached.append(name)
            except BlockingIOError:
                pass
        seen = f"host: {', '.join(reached)} listener REACHED" if reached else "host: no listener reached"
        return not reached, f"{seen}; inside: {_inside(result)}"
    finally:
        for s in (tcp, udp, unix):
            s.close()


def _namespaces_differ(pid: int) -> list[str]:
    same = []
    for ns in ("user", "pid", "net", "mnt", "ipc", "uts"):
        if os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/self/ns/{ns}"):
            same.append(ns)
    return same


def _net_internet(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
import socket
def tcp():
    with socket.create_connection(("1.1.1.1", 53), timeout=2) as s:
        return s.getpeername()
def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001"), ("1.1.1.1", 53))
        return s.recvfrom(512)
ok = attempt("tcp 1.1.1.1:53", tcp) | attempt("udp 1.1.1.1:53", udp)
attempt("interfaces", lambda: sorted(name for _, name in socket.if_nameindex()))
time.sleep(0.3)
"""
    )
    shared: list[str] = []
    seen_pids: set[int] = set()

    def look(pids):
        for pid in pids:
            if pid not in seen_pids:
                seen_pids.add(pid)
                if os.readlink(f"/proc/{pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                    shared.append(str(pid))

    result = _watch(runner, _program(body, token=token), token, look)
    reached = "succeeded" in result.stdout_tail.split("interfaces:")[0]
    if not seen_pids:
        return False, f"host: the program was never seen running; inside: {_inside(result)}"
    seen = "host: the host's network namespace" if shared else "host: its own network namespace"
    return not shared and not reached, f"{seen}; inside: {_inside(result)}"


# ---- processes -----------------------------------------------------------------------------


def _fork_bomb(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
count, error = 0, None
for _ in range(P["max"]):
    try:
        pid = os.fork()
    except OSError as err:
        error = err
        break
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    count += 1
print(f"forked {count}, then {error!r}", flush=True)
time.sleep(0.5)  # hold them: the host counts
"""
    )
    peak = [0]
    result = _watch(
        runner,
        _program(body, token=token, max=2000),
        token,
        lambda pids: peak.__setitem__(0, max(peak[0], len(pids))),
        timeout_s=5.0,
    )
    left = _processes(token)
    bounded = 0 < peak[0] <= sandbox.MAX_TASKS
    seen = f"host: at most {peak[0]} processes at once (limit {sandbox.MAX_TASKS}), {len(left)} left after"
    return bounded and not left, f"{seen}; inside: {_inside(result)}"


_STRAGGLER_CHILD = "import sys, time; time.sleep(float(sys.argv[1])); open(sys.argv[2], 'w').write('alive')"


def _straggler_probe(name: str, start: str, then: str) -> Probe:
    """A descendant that outlives the program: it sleeps past the timeout, then writes a host marker.
    It must be gone (no process with its token on the host) as soon as run_python returns."""

    def run(host: Host, runner: Runner) -> tuple[bool, str]:
        token, marker, timeout_s, sleep_s = host.token(), host.fresh("marker"), 1.0, 1.5
        body = start + then
        started = time.monotonic()
        result = _run(
            runner,
            _program(body, child=_STRAGGLER_CHILD, token=token, marker=str(marker), sleep=sleep_s),
            timeout_s=timeout_s,
        )
        left = _processes(token)
        for pid in left:  # a failed check must not leave its straggler behind
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(max(0.0, started + sleep_s + 0.3 - time.monotonic()))
        ended = "timed out" if result.timed_out else f"exited {result.returncode}"
        contained = not left and not marker.exists()
        seen = f"host: program {ended}; {len(left)} straggler(s) left" + (
            ", marker WRITTEN" if marker.exists() else ", no marker"
        )
        return contained, f"{seen}; inside: {_inside(result)}"

    return Probe(name, run)


_CHILD_ARGS = 'args = [sys.executable, "-I", "-B", "-c", P["child"], str(P["sleep"]), P["marker"], P["token"]]\n'
_STRAGGLER_PROBES = [
    _straggler_probe(
        "straggler-fork_exec",
        _CHILD_ARGS
        + """\
import _posixsubprocess
def fork_exec():
    r, w = os.pipe()
    return _posixsubprocess.fork_exec(
        args, [os.fsencode(sys.executable)], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w,
        True, True, -1, None, None, None, -1, None, False)
attempt("fork_exec + setsid", fork_exec)
""",
        "while True:\n    pass\n",
    ),
    _straggler_probe(
        "straggler-setsid",
        _CHILD_ARGS
        + """\
if os.fork() == 0:  # double fork + setsid: a daemon, out of the program's process group
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, args)
    os._exit(0)
print("daemon started", flush=True)
""",
        "while True:\n    pass\n",
    ),
    _straggler_probe(
        "straggler-after-exit",
        _CHILD_ARGS
        + """\
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, args)
    os._exit(0)
print("daemon started; exiting", flush=True)
""",
        "time.sleep(0.2)\n",
    ),
]


def _kill_outside(host: Host, runner: Runner) -> tuple[bool, str]:
    """A host process the program tries to kill (as the sandbox's own uid, if root), and its parents."""
    as_nobody = (
        {"user": sandbox.SANDBOX_UID, "group": sandbox.SANDBOX_UID, "extra_groups": []} if os.geteuid() == 0 else {}
    )
    canary = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, **as_nobody)
    try:
        body = """\
import signal
attempt("kill canary", lambda: os.kill(P["canary"], signal.SIGKILL))
attempt("kill host pid", lambda: os.kill(P["host"], signal.SIGKILL))
attempt("kill -1", lambda: os.kill(-1, signal.SIGKILL))
attempt("kill pid 1", lambda: os.kill(1, signal.SIGKILL))
attempt("kill parent", lambda: os.kill(os.getppid(), signal.SIGKILL))  # last: its parent may be itself
"""
        result = _run(runner, _program(body, canary=canary.pid, host=os.getpid()))
        alive = canary.poll() is None
        seen = "host: canary process alive" if alive else f"host: canary KILLED ({canary.returncode})"
        return alive, f"{seen}; inside: {_inside(result)}"
    finally:
        canary.kill()
        canary.wait()


def _ptrace(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def attach(pid):
    if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "attached"
for pid in (1, os.getppid(), P["host"]):
    attempt(f"ptrace {pid}", lambda: attach(pid))
for path in ("/proc/1/root" + P["secret"], f"/proc/{P['host']}/environ", "/proc/1/environ"):
    attempt("read " + path, lambda: open(path, "rb").read()[:80])
time.sleep(0.3)
"""
    )
    traced: list[str] = []

    def look(_pids):
        tracer = _status(os.getpid()).get("TracerPid", "0")
        if tracer != "0":
            traced.append(tracer)

    result = _watch(
        runner, _program(body, token=token, host=os.getpid(), secret=str(host.root / "secret.txt")), token, look
    )
    leaked = host.secret in result.stdout_tail + result.stderr_tail
    contained = not traced and not leaked
    seen = "host: checker TRACED" if traced else "host: checker not traced"
    seen += ", secret LEAKED" if leaked else ", secret not in the output"
    return contained, f"{seen}; inside: {_inside(result)}"


# ---- limits --------------------------------------------------------------------------------


def _memory_hog(host: Host, runner: Runner) -> tuple[bool, str]:
    token, memory_mb = host.token(), 256
    body = (
        _REEXEC
        + """\
attempt("4 GiB at once", lambda: len(bytearray(4 * 1024**3)))
chunks = []
def grow():
    while len(chunks) < 256:
        chunks.append(bytearray(16 * 1024**2))
    return f"{16 * len(chunks)} MiB"
attempt("16 MiB at a time", grow)
print(f"held {16 * len(chunks)} MiB", flush=True)
time.sleep(0.3)
"""
    )
    peak_kb = [0]

    def look(pids):
        for pid in pids:
            try:
                peak_kb[0] = max(peak_kb[0], int(_status(pid)["VmPeak"].split()[0]))
            except (OSError, KeyError, ValueError):
                pass

    result = _watch(runner, _program(body, token=token), token, look, memory_mb=memory_mb)
    limit_kb = memory_mb * 1024
    contained = 0 < peak_kb[0] <= limit_kb
    seen = f"host: peak address space {peak_kb[0] // 1024} MiB (limit {memory_mb} MiB)"
    return contained, f"{seen}; inside: {_inside(result)}"


def _huge_file(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
block = b"x" * 2**20
def big():
    with open("big.bin", "wb") as f:
        for i in range(200):
            f.write(block)
            f.flush()
    return "200 MiB"
attempt("one 200 MiB file", big)
def many():
    for i in range(40):
        with open(f"part{i}.bin", "wb") as f:
            for _ in range(8):
                f.write(block)
    return "320 MiB"
attempt("forty 8 MiB files", many)
sys.stdout.flush()
time.sleep(0.3)
"""
    )
    largest, total = [0], [0]

    def look(pids):
        for pid in pids:
            root = Path(f"/proc/{pid}/root{sandbox.WORKDIR}")
            try:
                sizes = [p.stat().st_size for p in root.iterdir() if p.is_file()]
            except OSError:
                continue
            largest[0], total[0] = max(largest[0], *sizes, 0), max(total[0], sum(sizes))

    result = _watch(runner, _program(body, token=token), token, look)
    contained = 0 < largest[0] <= sandbox.MAX_FILE_BYTES and total[0] <= sandbox.TMPFS_BYTES
    seen = (
        f"host: largest file {largest[0] / 2**20:.1f} MiB (limit {sandbox.MAX_FILE_BYTES // 2**20}), "
        f"all {total[0] / 2**20:.1f} MiB (tmpfs {sandbox.TMPFS_BYTES // 2**20})"
    )
    return contained, f"{seen}; inside: {_inside(result)}"


# ---- identity ------------------------------------------------------------------------------


def _identity(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
caps = {l.split(":")[0]: l.split()[1] for l in open("/proc/self/status") if l.startswith("Cap")}
print(f"uid {os.getuid()} gid {os.getgid()} groups {os.getgroups()} CapEff {caps['CapEff']}", flush=True)
time.sleep(0.3)
"""
    )
    seen_status: dict = {}

    def look(pids):
        if not seen_status:
            seen_status.update(_status(pids[0]), shared=_namespaces_differ(pids[0]))

    result = _watch(runner, _program(body, token=token), token, look)
    if not seen_status:
        return False, f"host: the program was never seen running; inside: {_inside(result)}"
    problems = []
    uid = seen_status["Uid"].split()
    if os.geteuid() == 0 and set(uid) != {str(sandbox.SANDBOX_UID)}:
        problems.append(f"host uid {uid}")
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
        if int(seen_status[cap], 16):
            problems.append(f"{cap} {seen_status[cap]}")
    if seen_status.get("NoNewPrivs") != "1":
        problems.append("NoNewPrivs off")
    if seen_status["shared"]:
        problems.append("shares the host's " + "/".join(seen_status["shared"]) + " namespace")
    inside_ok = result.stdout_tail.startswith(
        f"uid {sandbox.SANDBOX_UID} gid {sandbox.SANDBOX_UID} groups [] CapEff 0000000000000000"
    )
    if not inside_ok:
        problems.append("inside identity wrong")
    seen = "host: " + (
        "; ".join(problems)
        if problems
        else f"uid {uid[0]}, no capabilities, no-new-privs, own user/pid/net/mnt/ipc/uts namespaces"
    )
    return not problems, f"{seen}; inside: {_inside(result)}"


def _userns(host: Host, runner: Runner) -> tuple[bool, str]:
    token = host.token()
    body = (
        _REEXEC
        + """\
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def unshare(flags):
    if libc.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "unshared"
attempt("new user namespace", lambda: unshare(0x10000000))
attempt("new mount namespace", lambda: unshare(0x00020000))
def mount():
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
    return "mounted"
attempt("mount tmpfs", mount)
time.sleep(0.3)
"""
    )
    namespaces: set[str] = set()

    def look(pids):
        for pid in pids:
            try:
                namespaces.add(os.readlink(f"/proc/{pid}/ns/user"))
            except OSError:
                pass

    result = _watch(runner, _program(body, token=token), token, look)
    contained = len(namespaces) == 1 and "succeeded" not in result.stdout_tail
    seen = f"host: {len(namespaces)} user namespace(s) seen"
    return contained, f"{seen}; inside: {_inside(result)}"


PROBES: dict[str, Probe] = {
    p.name: p
    for p in [
        *_CREATION_PROBES,
        *_TAMPER_PROBES,
        Probe("read-secret", _read_secret, harmless_unsandboxed=True),
        Probe("net-localhost", _net_localhost, harmless_unsandboxed=True),
        Probe("net-internet", _net_internet),
        Probe("fork-bomb", _fork_bomb),
        *_STRAGGLER_PROBES,
        Probe("kill-outside", _kill_outside),
        Probe("ptrace-proc", _ptrace),
        Probe("memory-hog", _memory_hog),
        Probe("huge-file", _huge_file),
        Probe("identity", _identity, harmless_unsandboxed=True),
        Probe("userns", _userns),
    ]
}


def check(
    runner: Runner = sandbox.run_python, names: list[str] | None = None, report: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Run the probes (all, or `names`) against `runner`; `report` sees each outcome as it comes.
    Each probe gets a fresh host scene: one that got out may have wrecked the last one."""
    outcomes = []
    for name in names or list(PROBES):
        host = Host.create()
        try:
            outcome = PROBES[name](host, runner)
        finally:
            host.remove()
        outcomes.append(outcome)
        if report:
            report(outcome)
    return outcomes
