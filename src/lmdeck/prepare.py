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
from lmdeck.formats import DataError
from lmdeck.formats.files import require_folder
from lmdeck.harness import adapter


def prepare(spec: dict, out_dir: Path) -> None:
    """``spec``: {name, format, folder ('builtin' or a path), runs: [{harness, variant, shots}]}."""
    fmt = formats.get(spec["format"])
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    builtin = spec["folder"] == "builtin"
    records, files, data_sha = None, [], f"builtin:{spec['format']}"
    if not builtin:
        folder = require_folder(spec["folder"])
        files = fmt.source_files(folder)
        records = fmt.read(folder)
        if not any(r.split == fmt.eval_split for r in records):
            raise DataError(f"no {fmt.eval_split!r} items to evaluate (expected {fmt.expected})", folder)
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


def write_all(spec: dict, fmt: formats.Format, records, files, data_sha: str, builtin: bool, out_dir: Path) -> None:
    for run in spec["runs"]:
        variant = fmt.variant(run["harness"], run["variant"], run["shots"])
        if records is not None:
            formats.check_shots(fmt, run["harness"], variant, run["shots"], records)
        native = out_dir / run["harness"] / run["variant"]
        index = adapter(run["harness"]).write_native(fmt, variant, records, native, shots=run["shots"])
        fileio.write_json(native / "index.json", index)
        fileio.write_json(native / "native.json", {"harness": run["harness"], "variant": run["variant"],
                                                   "data_sha256": data_sha, "builtin": builtin})
    if records is not None:
        fileio.write_jsonl(out_dir / "records.jsonl", [r.to_json() for r in records])
    fileio.write_json(out_dir / "data.json", {
        "format": spec["format"], "folder": str(spec["folder"]),
        "n_items": None if records is None else sum(r.split == fmt.eval_split for r in records),
        "subtasks": None if records is None else sorted({r.subtask for r in records}),
        "files": [str(Path(f).relative_to(spec["folder"])) for f in files],
        "data_sha256": data_sha,
    })
