"""What a workflow step shows where: everything in its log file, the one-line reason on the console.

The rules call `lmdeck --log FILE <step> ...`. The step's own output (and that of the harness it
runs, including child processes, which inherit the file descriptors) goes to FILE; when the step
fails, the console (Snakemake's terminal, or the SLURM job's stderr) gets one line with the reason,
naming the file, line or field, beside Snakemake's own "check log file" message. The line is
printed even when the log cannot be written (a full disk), so a failure is never silent.
"""

from __future__ import annotations

import os
import sys
import traceback
from contextlib import ExitStack, contextmanager
from typing import Callable, Iterator

# What lmdeck raises for bad input or a failed step (DataError, ConfigError, ScoresError... are
# ValueErrors; JobFailed is a RuntimeError) and what the OS raises (disk full, permissions): their
# message is the reason. Anything else is a bug in lmdeck and says so.
EXPECTED = (ValueError, OSError, RuntimeError)
_console = None  # the console while a step's output goes to its log (for `notice`)


@contextmanager
def _output_to(log_file: str) -> Iterator[object]:
    """Point file descriptors 1 and 2 at `log_file` (child processes inherit them); yield the
    console, i.e. stderr as it was. Both are restored afterwards (the CLI may run in-process)."""
    global _console
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    console = os.fdopen(os.dup(2), "w", encoding="utf-8", errors="replace")
    try:
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        _console = console
        yield console
    finally:
        _console = None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        console.close()


def notice(line: str) -> None:
    """A line the user should see while the step goes on (not a failure): in the log, and on the
    console too when the step's output goes to a log."""
    print(line, file=sys.stderr, flush=True)
    if _console is not None:
        try:
            print(line, file=_console, flush=True)
        except OSError:
            pass  # a closed console: the log has it


def reason(err: BaseException) -> str:
    if isinstance(err, EXPECTED):
        return f"error: {err}".strip()
    return f"internal error (a bug in lmdeck, please report it): {type(err).__name__}: {err}".strip()


def run_step(command: str, step: Callable[[], object], log_file: str | None = None) -> int:
    """Run one step: its output to `log_file` (when given), the reason of a failure to the console.
    Returns the exit code (0 or 1)."""
    with ExitStack() as stack:
        console = sys.stderr
        if log_file:
            try:
                console = stack.enter_context(_output_to(log_file))
            except OSError as err:
                print(f"lmdeck {command}: error: cannot write its log: {err}", file=sys.stderr, flush=True)
                return 1
        try:
            step()
            sys.stdout.flush()
            sys.stderr.flush()
            return 0
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001 - every failure ends as one line on the console
            line = f"lmdeck {command}: {reason(err)}"
            try:
                if log_file or not isinstance(err, EXPECTED):  # the traceback is for the log
                    traceback.print_exception(err, file=sys.stderr)
                print(line, file=sys.stderr, flush=True)
            except OSError:
                pass  # the log cannot take it (a full disk): the console line still goes out
            if console is not sys.stderr:
                print(
                    line + (f" (log: {log_file})" if f"log: {log_file}" not in line else ""), file=console, flush=True
                )
            return 1
