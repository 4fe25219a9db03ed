"""`snakemake --lint` as a CI gate: fail on every finding except the documented exception.

The exception: "Specify a conda environment or container for each rule". lmdeck's rules all
run the one `lmdeck` command from the project's own environment (README: the two commands set
it up), and the harnesses need a matched torch/CUDA stack that a per-rule conda env would
duplicate. Snakemake's `--lint=json` is not wired to its command line in 9.x, so the text
report is read: each finding is a `* <title>` line under `Lints for ...`.
"""

from __future__ import annotations

import subprocess
import sys

ALLOWED = {"Specify a conda environment or container for each rule."}


def main() -> int:
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], capture_output=True, text=True)
    report = proc.stdout + proc.stderr
    findings, where = [], ""
    for line in report.splitlines():
        if line.startswith("Lints for "):
            where = line.removeprefix("Lints for ").rstrip(":")
        elif line.startswith("    * "):
            title = line.removeprefix("    * ").rstrip(":")
            if title not in ALLOWED:
                findings.append(f"{where}: {title}")
    if "Lints for " not in report and "Congratulations" not in report:  # the workflow did not even parse
        print(report, file=sys.stderr)
        return 1
    for finding in findings:
        print(f"snakemake --lint: {finding}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
