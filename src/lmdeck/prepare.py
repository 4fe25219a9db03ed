"""The data step: one benchmark's authors' files -> checked records -> the files each native
task reads (one folder per harness and variant). Runs before any model loads, so every
problem with the data stops here with its file and line.

    results/data/<benchmark>/records.jsonl                 the checked items, with their ids
    results/data/<benchmark>/<harness>/<variant>/index.json the native tasks and their item ids
    results/data/<benchmark>/<harness>/<variant>/native.json provenance (data sha256, n items)
    results/data/<benchmark>/data.json                      written last: the step is complete
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lmdeck import fileio, formats
from lmdeck.formats import DataError, Record
from lmdeck.formats.files import NoDataFiles, check_file_size, refuse_collisions, require_folder, using_limits
from lmdeck.harness import adapter
from lmdeck.settings import PrepareSpec


def input_files(spec: PrepareSpec) -> list[str]:
    """The benchmark's own files (the data step's inputs, so editing one reruns it), listed when
    the workflow is parsed. Two problems stop the run there, before any job: a folder without any
    of its format's files, and a file over ``limits.max_file_mib`` (its size on disk). Any other
    problem is the data step's to report, with its file and line."""
    if not spec.is_local:
        return []
    folder = Path(spec.folder)
    if not folder.is_dir():
        return [str(folder)]  # Snakemake then reports the missing folder by name
    with using_limits(spec.limits):
        try:
            files = formats.get(spec.format).source_files(folder)
        except NoDataFiles:
            raise
        except ValueError:
            return [str(folder)]  # the data step names the exact problem
        for path in files:
            check_file_size(path)
    return [str(f) for f in files]


def prepare(spec: PrepareSpec, out_dir: Path) -> None:
    with using_limits(spec.limits):
        _prepare(spec, Path(out_dir))


def _prepare(spec: PrepareSpec, out_dir: Path) -> None:
    fmt = formats.get(spec.format)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    builtin = not spec.is_local
    records, files, data_sha = None, [], f"builtin:{spec.format}"
    if not builtin:
        folder = require_folder(spec.folder)
        files = fmt.source_files(folder)
        for path in files:
            check_file_size(path)
        records = fmt.read(folder)
        if not any(r.split == fmt.eval_split for r in records):
            raise DataError(f"no {fmt.eval_split!r} items to evaluate (expected {fmt.expected})", folder)
        first_of: dict[str, Record] = {}
        for record in records:
            first_of.setdefault(record.subtask, record)
        # Subtasks name the native files (OpenCompass layouts) and the rows of the tables.
        refuse_collisions(
            sorted(first_of.values(), key=lambda r: r.subtask),
            lambda r: r.subtask,
            folder,
            "subtask names",
            lambda r: f"{r.subtask!r} ({_file_of(r)})",
        )
        data_sha = fileio.sha256_files(files, root=folder)
    # Nothing of an older preparation survives, and a failure leaves nothing behind (the task
    # YAMLs name their data files by absolute path, so they are written in place; data.json last).
    if out_dir.exists():
        shutil.rmtree(out_dir)
    try:
        write_all(spec, fmt, records, files, data_sha, builtin, out_dir)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


def write_all(
    spec: PrepareSpec, fmt: formats.Format, records, files, data_sha: str, builtin: bool, out_dir: Path
) -> None:
    for run in spec.runs:
        variant = fmt.variant(run.harness, run.variant, run.shots)
        if records is not None:
            formats.check_shots(fmt, run.harness, variant, run.shots, records)
        native = out_dir / run.harness / run.variant
        index = adapter(run.harness).write_native(fmt, variant, records, native, shots=run.shots)
        # The native tasks' names (lm-eval task names, OpenCompass abbrs) name their files too.
        refuse_collisions(
            sorted(index.get("datasets", index)), str, native, f"{run.harness} {run.variant} task names", repr
        )
        fileio.write_json(native / "index.json", index)
        fileio.write_json(
            native / "native.json",
            {"harness": run.harness, "variant": run.variant, "data_sha256": data_sha, "builtin": builtin},
        )
    if records is not None:
        fileio.write_jsonl(out_dir / "records.jsonl", [r.to_json() for r in records])
    fileio.write_json(
        out_dir / "data.json",
        {
            "format": spec.format,
            "folder": str(spec.folder),
            "n_items": None if records is None else sum(r.split == fmt.eval_split for r in records),
            "subtasks": None if records is None else sorted({r.subtask for r in records}),
            "files": [str(Path(f).relative_to(spec.folder)) for f in files],
            "data_sha256": data_sha,
        },
    )


def _file_of(record: Record) -> str:
    return record.item_id.split(":")[0].split("#")[0]
