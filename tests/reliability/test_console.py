"""A failed step says why on the console, in one line naming the file and line, beside
Snakemake's own message; the full output stays in the step's log. A full disk is no exception."""

import json
from dataclasses import asdict
import os
import shutil
import subprocess

import pytest

from conftest import BIN, ROOT, absolutize, default_config, run_snakemake
from lmdeck.settings import Limits

BROKEN_ROW = "What?,1,2,3,A\n"  # five columns where MMLU has six


def broken_mmlu(folder):
    shutil.copytree(ROOT / "data" / "demo" / "mmlu", folder)
    with open(folder / "data" / "test" / "elementary_mathematics_test.csv", "a", encoding="utf-8") as f:
        f.write(BROKEN_ROW)
    return folder


def prepare_cmd(folder, out, log):
    spec = {
        "name": "MMLU",
        "format": "mmlu",
        "folder": str(folder),
        "runs": [{"harness": "lm-eval", "variant": "mmlu", "shots": 0}],
        "limits": asdict(Limits.default()),
    }
    return [str(BIN / "lmdeck"), "--log", str(log), "prepare-data", "--spec", json.dumps(spec), "--out-dir", str(out)]


def test_reason_on_console_traceback_in_log(tmp_path):
    folder = broken_mmlu(tmp_path / "mmlu")
    log = tmp_path / "prepare.log"
    proc = subprocess.run(prepare_cmd(folder, tmp_path / "out", log), capture_output=True, text=True)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "elementary_mathematics_test.csv line 6: expected 6 columns, got 5" in lines[0]
    assert f"(log: {log})" in lines[0]
    assert "Traceback" in log.read_text() and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_workflow_console_shows_the_reason(tmp_path):
    config = absolutize(default_config())
    config["benchmarks"] = [
        dict(b, data=str(broken_mmlu(tmp_path / "mmlu"))) for b in config["benchmarks"] if b["name"] == "MMLU"
    ]
    proc = run_snakemake(tmp_path / "run", config, "results/data/MMLU/data.json")
    assert proc.returncode != 0
    assert "lmdeck prepare-data: error:" in proc.stderr
    assert "elementary_mathematics_test.csv line 6: expected 6 columns, got 5" in proc.stderr


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs filled to the last byte (needs root, as CI has)."""
    mount = tmp_path / "full"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)]).returncode:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 512):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_is_one_clear_line_and_nothing_half_written(tmp_path, full_disk):
    out = full_disk / "out"
    proc = subprocess.run(
        prepare_cmd(ROOT / "data" / "demo" / "mmlu", out, full_disk / "prepare.log"), capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "lmdeck prepare-data: error:" in proc.stderr and "No space left on device" in proc.stderr
    assert not (out / "data.json").exists()
    assert [p.name for p in full_disk.iterdir() if p.name.startswith(".")] == []  # no temp files left
