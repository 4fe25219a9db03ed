"""The parse changes nothing: `snakemake -n` and `snakemake --lint` on a finished run write, touch
or delete no file of the run, and make no network connection. Reading the config into file lists
is all the Snakefile does; whatever acts (the paper preview's download included) is a rule's job.
"""

import copy
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from conftest import BIN, snakemake_on

# A sitecustomize, put first on PYTHONPATH, runs in every Python process the test starts (Snakemake
# itself, and any Python it starts). It notes that it is loaded, and notes then refuses every network
# attempt -- a name lookup or a connect on an IP socket -- so that nothing leaves the machine and an
# attempt is seen even where the code would swallow the error (the old probe caught OSError).
AUDIT_HOOK = """\
import os
import socket
import sys

_LOG = os.environ["LMDECK_TEST_NET_LOG"]
_NETWORK = {"socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"}


def _note(line):
    with open(_LOG, "a", encoding="utf-8") as f:
        f.write(line + "\\n")


def _hook(event, args):
    ip_connect = event in ("socket.connect", "socket.connect_ex") and args[0].family in (socket.AF_INET,
                                                                                         socket.AF_INET6)
    if ip_connect or event in _NETWORK:
        _note(f"network {event} {args[1] if ip_connect else args[0]!r}")
        raise PermissionError(f"test_parse_pure: no network at parse ({event})")


_note(f"loaded {sys.argv[0]}")
sys.addaudithook(_hook)
"""

# What Snakemake writes for itself on every start, a dry-run or --lint included (Snakemake 9): a log
# of the invocation (.snakemake/log/), the dry-run's file-status cache kept for a later
# --trust-io-cache (.snakemake/iocache/), and an empty .snakemake/locks/ (a dry-run takes no lock).
# Their contents, and the mtime of .snakemake/ itself (which lists them), are left out; everything
# else -- .snakemake/metadata/ (what decides reruns), the outputs, logs/, benchmarks/, the config --
# must stay as it was, down to the mtime.
SNAKEMAKE_OWN = (".snakemake/log", ".snakemake/iocache", ".snakemake/locks")


def listing(root: Path) -> dict[str, tuple]:
    """Every file, folder and link under `root`: kind, size and mtime (ns), SNAKEMAKE_OWN left out."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = [d for d in dirnames if f"{rel_dir}/{d}".removeprefix("./") not in SNAKEMAKE_OWN]
        for name in dirnames + filenames:
            rel = f"{rel_dir}/{name}".removeprefix("./")
            path = Path(dirpath) / name
            st = os.lstat(path)
            kind = "dir" if name in dirnames else ("link" if path.is_symlink() else "file")
            found[rel] = (
                (kind, None, None)
                if rel == ".snakemake"
                else (kind, None if kind == "dir" else st.st_size, st.st_mtime_ns)
            )
    return found


def changes(before: dict, after: dict) -> list[str]:
    return sorted(
        [f"new {p}" for p in after.keys() - before.keys()]
        + [f"gone {p}" for p in before.keys() - after.keys()]
        + [f"changed {p}: {before[p]} -> {after[p]}" for p in before.keys() & after.keys() if before[p] != after[p]]
    )


def parse(workdir: Path, config_file: Path, net_log: Path, *args: str) -> subprocess.CompletedProcess:
    shim = net_log.parent / "audit-hook"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(AUDIT_HOOK, encoding="utf-8")
    extra = {
        "LMDECK_TEST_NET_LOG": str(net_log),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH")])),
    }
    return snakemake_on(workdir, config_file, *args, extra_env=extra, timeout=300)


def test_dry_run_and_lint_change_nothing_and_stay_offline(workflow, tmp_path):
    # A copy of the session's finished run (metadata and mtimes kept); the config lives outside it.
    work = tmp_path / "run"
    shutil.copytree(workflow["dir"], work, symlinks=True)
    same = tmp_path / "same.yaml"
    same.write_text(yaml.safe_dump(workflow["first"], allow_unicode=True, sort_keys=False), encoding="utf-8")
    # The paper by URL only, at an address that answers nothing: the old parse probed it (3 s).
    by_url = copy.deepcopy(workflow["first"])
    by_url["report"]["paper"]["pdf"] = ["http://10.255.255.1/paper.pdf", "https://10.255.255.1/paper.pdf"]
    url_config = tmp_path / "by_url.yaml"
    url_config.write_text(yaml.safe_dump(by_url, allow_unicode=True, sort_keys=False), encoding="utf-8")
    net_log = tmp_path / "net.log"

    before = listing(work)
    runs = {
        "-n": parse(work, same, net_log, "-n"),
        "-n (paper by URL)": parse(work, url_config, net_log, "-n"),
        "--lint (paper by URL)": parse(work, url_config, net_log, "--lint"),
    }
    for name, proc in runs.items():
        # --lint exits 1 when it has advice (it asks every rule for a conda env or container).
        linted = name.startswith("--lint") and "Lints for rule" in proc.stdout + proc.stderr
        assert proc.returncode == 0 or linted, f"{name}: {proc.stderr[-3000:]}"
        assert "Traceback" not in proc.stdout + proc.stderr, f"{name}: {proc.stderr[-3000:]}"
    assert changes(before, listing(work)) == []
    assert not any((work / ".snakemake" / "locks").glob("*")), "a dry-run left a lock"

    notes = net_log.read_text(encoding="utf-8").splitlines()
    assert sum(line.startswith("loaded ") and line.endswith("snakemake") for line in notes) == 3, notes
    assert [line for line in notes if line.startswith("network ")] == []
    # The preview is planned, not probed: whether the URL answers is the preview job's question.
    assert "rule preview:" in runs["-n (paper by URL)"].stdout


def test_the_audit_hook_sees_a_connect(tmp_path):
    """The check above can fail: the hook catches the probe the parse used to make."""
    net_log = tmp_path / "net.log"
    shim = tmp_path / "audit-hook"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(AUDIT_HOOK, encoding="utf-8")
    probe = "import socket; socket.create_connection(('10.255.255.1', 443), timeout=3)"
    proc = subprocess.run(
        [str(BIN / "python"), "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LMDECK_TEST_NET_LOG": str(net_log), "PYTHONPATH": str(shim)},
    )
    assert proc.returncode != 0 and "no network at parse" in proc.stderr
    assert any(line.startswith("network socket.") for line in net_log.read_text(encoding="utf-8").splitlines())
