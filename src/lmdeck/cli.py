"""`lmdeck` command line: one subcommand per workflow step; the Snakemake rules call these."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lmdeck import console
from lmdeck.settings import ReportSpec


def cmd_build_model(args) -> None:
    from lmdeck.demo_models import build_model
    from lmdeck.settings import Build

    build_model(args.out, Build.from_dict(json.loads(args.spec)))


def cmd_prepare_data(args) -> None:
    """Check a benchmark folder and write the files its native tasks read (lmdeck.prepare)."""
    from lmdeck.prepare import prepare
    from lmdeck.settings import PrepareSpec

    prepare(PrepareSpec.from_dict(json.loads(args.spec)), Path(args.out_dir))


def cmd_native_tasks(args) -> None:
    from lmdeck.native_table import markdown

    print(markdown(), end="")


def cmd_run_harness(args) -> None:
    from lmdeck.harness import adapter
    from lmdeck.settings import JobSpec

    spec = JobSpec.from_dict(json.loads(args.spec))
    adapter(spec.harness).run(spec, Path(args.out), args.log)


def cmd_merge_scores(args) -> None:
    from lmdeck import scores
    from lmdeck.stats import step

    spec = ReportSpec.from_dict(json.loads(args.spec))
    failures: list[dict] = []
    samples: list = []
    frame = scores.build_table([Path(m) for m in args.manifests], spec, failures, samples)
    items = scores.samples_table(samples)
    # Every measured row gets its 95 % interval from its items (lmdeck.stats.intervals).
    frame = step.add_intervals(frame, items)
    if args.samples:
        scores.write_samples(items, Path(args.samples))
    scores.write(frame, Path(args.csv), Path(args.parquet) if args.parquet else None)
    scores.write_failures(failures, Path(args.failures))


STATS_OUTPUTS = ("comparisons", "agreement", "disagreements")


def stats_paths(args) -> dict[str, Path] | None:
    """The statistics step's CSVs, or None when none were given (deck-data without statistics)."""
    given = {name: getattr(args, name) for name in STATS_OUTPUTS}
    if not any(given.values()):
        return None
    missing = [f"--{name}" for name, path in given.items() if not path]
    if missing:
        raise SystemExit(
            f"lmdeck {args.command}: give all of the statistics CSVs or none (missing {', '.join(missing)})"
        )
    return {name: Path(path) for name, path in given.items()}


def cmd_stats(args) -> None:
    import pandas as pd

    from lmdeck import scores
    from lmdeck.stats import step

    spec = ReportSpec.from_dict(json.loads(args.spec))
    frames = step.compute(scores.read(Path(args.scores)), pd.read_parquet(args.samples), spec)
    step.write(frames, stats_paths(args))


def cmd_tables(args) -> None:
    import pandas as pd

    from lmdeck import scores, tables

    comparisons = pd.read_csv(args.comparisons) if args.comparisons else None
    spec = ReportSpec.from_dict(json.loads(args.spec))
    tables.write_tables(scores.read(Path(args.scores)), spec, Path(args.out_dir), comparisons)


def cmd_figures(args) -> None:
    """Table PNGs (Table1 pre-training mix, Table2 base, Table3 chat) and per-category charts,
    their texts in report.language."""
    from lmdeck import messages

    report = json.loads(args.report)
    with messages.speaking(messages.language_of(report)):
        _figures(args, report)


def _figures(args, report: dict) -> None:
    import pandas as pd

    from lmdeck import figures, scores, tables
    from lmdeck.messages import t

    spec = ReportSpec.from_dict(json.loads(args.spec))
    frame = scores.read(Path(args.scores))
    comparisons = pd.read_csv(args.comparisons) if args.comparisons else None
    out = Path(args.out_dir)
    pre = report.get("pretraining")
    if pre and pre.get("rows"):
        mix = pd.DataFrame(pre["rows"], columns=pre.get("columns"))
        figures.render_table_png(mix, out / "Table1.png", title=pre.get("caption", ""), bold_best=False)
    for name, table in (("Table2.png", "base"), ("Table3.png", "chat")):
        pivot = tables.score_pivot(frame, spec, table)
        bold = tables.bold_mask(pivot, frame, spec, comparisons, table)
        figures.render_table_png(
            tables.shown_names(pivot),
            out / name,
            title=t(f"results.{table}_table"),
            note=t("results.bold_note") + t("common.missing"),
            bold=tables.shown_names(bold),
        )
    head = tables.headline(frame)
    # Charts show each benchmark's first harness (a second harness has its own table row).
    head = pd.concat([head[head["source"] == "reported"], tables.measured_headline(frame, spec)])
    head = head.assign(label=[tables.row_label(m, s, spec) for m, s in zip(head["model"], head["source"])])
    # Benchmarks in category order (config order within), as the tables show them.
    categories = {c: [b.name for b in spec.benchmarks if b.category == c] for c in tables.CATEGORY_ORDER}
    charts = Path(args.charts_dir)
    charts.mkdir(parents=True, exist_ok=True)
    for table in ("base", "chat"):  # chat models get charts of their own, as they get their own table
        rows = head[head["table"] == table]
        labels = tables.chart_labels(rows, spec, table)
        figures.render_category_charts(rows, {c: b for c, b in categories.items() if b}, charts, labels, table=table)


def cmd_preview(args) -> None:
    from lmdeck import figures

    if args.first_of:
        why = figures.first_available_preview(args.first_of, Path(args.out), dpi=args.dpi)
        if why:
            console.notice(
                f"lmdeck preview: no paper preview ({why}); {args.out} is empty and the deck shows none. "
                "Once a candidate is available: snakemake --cores all --forcerun preview"
            )
    elif args.url:
        with figures.downloaded(args.url) as pdf:
            figures.pdf_first_page_png(pdf, Path(args.out), dpi=args.dpi)
    else:
        figures.pdf_first_page_png(Path(args.pdf), Path(args.out), dpi=args.dpi)


def cmd_paper_tables(args) -> None:
    """Crops of the paper's own tables (report.paper.tables) from the first available PDF."""
    from lmdeck import paper_tables

    why = paper_tables.render_first_available(args.first_of, json.loads(args.tables), Path(args.out_dir))
    if why:
        console.notice(
            f"lmdeck paper-tables: no paper PDF ({why}); the crops are empty and the deck shows no paper tables. "
            "Once a candidate is available: snakemake --cores all --forcerun paper_tables"
        )


def cmd_extract_reported(args) -> None:
    from lmdeck import paper_tables

    bbox = args.bbox.split(",") if args.bbox else None
    text = paper_tables.write_extracted(Path(args.pdf), args.page, Path(args.out) if args.out else None, bbox)
    if args.out:
        console.notice(
            f"lmdeck extract-reported: {args.out}: {text.count(chr(10)) - 1} rows, each marked draft; "
            "fill in shots and metric, check every number against the paper, then clear the draft column"
        )
    else:
        sys.stdout.write(text)


def cmd_deck_data(args) -> None:
    from lmdeck import deck_data

    deck_data.write(
        Path(args.out),
        ReportSpec.from_dict(json.loads(args.spec)),
        Path(args.scores),
        Path(args.failures),
        Path(args.benchmarks_dir),
        samples=Path(args.samples) if args.samples else None,
        stats_csvs=stats_paths(args),
        language=args.language,
    )


def cmd_deck(args) -> None:
    from lmdeck import deck

    out = Path(args.out)
    assets = deck.find_assets(Path(args.attachments), out.parent, with_preview=args.preview)
    report = json.loads(args.report)
    deck.write_deck(
        out,
        report,
        Path(args.data),
        assets,
        Path(args.templates) if args.templates else deck.TEMPLATES,
        paper_tables=deck.find_paper_tables(Path(args.attachments), out.parent, report),
    )


def cmd_export(args) -> None:
    from lmdeck import resources
    from lmdeck.export import export

    export(Path(args.deck), Path(args.theme) if args.theme else resources.theme(), args.format, Path(args.out))


def cmd_layout_check(args) -> None:
    """Fail with one line per slide whose content overflows it in Chromium; `--out`: the report."""
    from lmdeck import layout_check
    from lmdeck.fileio import write_text

    checked = layout_check.check(Path(args.deck))
    print(f"all {checked} slides of {args.deck} fit in Chromium")
    if args.out:
        write_text(Path(args.out), f"{checked} slides checked in Chromium; none overflows\n")


def cmd_sandbox_run(args) -> None:
    """Run a Python file as a model-written completion is run; exit with its exit code (124: timed out)."""
    from lmdeck.harness.code_eval import code_timeout_s
    from lmdeck.sandbox import run_python

    source = Path(args.file).read_text(encoding="utf-8")
    result = run_python(source, timeout_s=code_timeout_s(args.timeout))
    sys.stdout.write(result.stdout_tail)
    sys.stderr.write(result.stderr_tail)
    if result.timed_out:
        print(f"lmdeck sandbox-run: {args.file} timed out after {code_timeout_s(args.timeout):g} s", file=sys.stderr)
        raise SystemExit(124)  # as coreutils timeout
    raise SystemExit(result.returncode if result.returncode >= 0 else 128 - result.returncode)


def cmd_sandbox_check(args) -> None:
    """Escape probes against the code sandbox, judged from the host; fails if any gets out."""
    from lmdeck import sandbox, sandbox_probes

    sandbox.require()
    outcomes = sandbox_probes.check(report=lambda outcome: print(outcome.line(), flush=True))
    escaped = [o.probe for o in outcomes if not o.contained]
    if escaped:
        raise RuntimeError(f"{len(escaped)} of {len(outcomes)} sandbox probes escaped: {', '.join(escaped)}")
    print(f"all {len(outcomes)} sandbox probes contained")


def add_stats_arguments(s: argparse.ArgumentParser, required: bool = True) -> None:
    s.add_argument("--comparisons", required=required, help="CSV: paired comparisons of the results tables' columns")
    s.add_argument("--agreement", required=required, help="CSV: harness agreement per benchmark × model")
    s.add_argument("--disagreements", required=required, help="CSV: the items the two harnesses score differently")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lmdeck", description=__doc__)
    p.add_argument(
        "--log",
        dest="log_file",
        metavar="FILE",
        help="write the step's full output (tracebacks too) to FILE; the console gets the one-line reason of a failure",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("build-model", help="build a seeded random-init demo model")
    s.add_argument("--spec", required=True, help="the model's `build` entry as JSON")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_build_model)

    s = sub.add_parser("prepare-data", help="check a benchmark folder; write the files its native tasks read")
    s.add_argument("--spec", required=True, help="JSON: {name, format, folder, runs: [{harness, variant, shots}]}")
    s.add_argument("--out-dir", required=True)
    s.set_defaults(func=cmd_prepare_data)

    s = sub.add_parser("native-tasks", help="the benchmark × harness table of native tasks (README)")
    s.set_defaults(func=cmd_native_tasks)

    s = sub.add_parser("run-harness", help="evaluate one model on its benchmarks with one harness")
    s.add_argument("--spec", required=True, help="job spec JSON (lmdeck.config.job_spec)")
    s.add_argument("--out", required=True, help="manifest.json to write")
    s.add_argument("--log", help="the job's log file, named in failure reports")
    s.set_defaults(func=cmd_run_harness)

    s = sub.add_parser("merge-scores", help="parse every harness output into one tidy table")
    s.add_argument("--spec", required=True)
    s.add_argument("--csv", required=True)
    s.add_argument("--parquet")
    s.add_argument("--samples", help="parquet of the per-item records (one row per item)")
    s.add_argument("--failures", required=True, help="CSV of model x benchmark evaluations that failed")
    s.add_argument("manifests", nargs="*")
    s.set_defaults(func=cmd_merge_scores)

    s = sub.add_parser("stats", help="paired comparisons and harness agreement from the scores and per-item records")
    s.add_argument("--scores", required=True)
    s.add_argument("--samples", required=True, help="the per-item records (samples.parquet)")
    s.add_argument("--spec", required=True)
    add_stats_arguments(s)
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("tables", help="pivot tables (markdown + csv) from scores.csv")
    s.add_argument("--scores", required=True)
    s.add_argument(
        "--comparisons", help="comparisons CSV from `lmdeck stats` (absent: no tied-best bold for measured rows)"
    )
    s.add_argument("--spec", required=True)
    s.add_argument("--out-dir", required=True)
    s.set_defaults(func=cmd_tables)

    s = sub.add_parser("figures", help="table PNGs and charts for the deck")
    s.add_argument("--scores", required=True)
    s.add_argument(
        "--comparisons", help="comparisons CSV from `lmdeck stats` (absent: no tied-best bold for measured rows)"
    )
    s.add_argument("--spec", required=True)
    s.add_argument("--report", required=True, help="the config's `report` section as JSON")
    s.add_argument("--out-dir", required=True)
    s.add_argument("--charts-dir", required=True)
    s.set_defaults(func=cmd_figures)

    s = sub.add_parser("preview", help="first page of the paper PDF as PNG")
    source = s.add_mutually_exclusive_group(required=True)
    source.add_argument("--pdf", help="a local PDF")
    source.add_argument("--url", help="a PDF to download (http/https)")
    source.add_argument(
        "--first-of",
        nargs="+",
        metavar="PDF_OR_URL",
        help="candidates (report.paper.pdf): the first local file that exists, else the first URL "
        "that downloads; when none is available, --out is left empty (no preview) with a note",
    )
    s.add_argument("--out", required=True)
    s.add_argument("--dpi", type=int, default=80)
    s.set_defaults(func=cmd_preview)

    s = sub.add_parser("paper-tables", help="crops of the paper's own tables (report.paper.tables) as PNGs")
    s.add_argument(
        "--first-of",
        nargs="*",
        default=[],
        metavar="PDF_OR_URL",
        help="candidates (report.paper.pdf), as for preview; when none is available, every crop is "
        "left empty (the deck drops the paper-table slides) with a note",
    )
    s.add_argument("--tables", required=True, help="report.paper.tables as JSON: [{name, page, bbox?}]")
    s.add_argument("--out-dir", required=True, help="folder for <name>.png")
    s.set_defaults(func=cmd_paper_tables)

    s = sub.add_parser(
        "extract-reported", help="draft a reported CSV from a table of the paper PDF (every row marked draft)"
    )
    s.add_argument("pdf", metavar="PDF")
    s.add_argument("--page", type=int, required=True, help="page number, from 1")
    s.add_argument("--bbox", metavar="X0,TOP,X1,BOTTOM", help="the table's box in PDF points (default: found)")
    s.add_argument("--out", metavar="FILE", help="the CSV to write (default: standard output)")
    s.set_defaults(func=cmd_extract_reported)

    s = sub.add_parser("deck-data", help="the deck's tables, deltas and provenance from the scores, as JSON")
    s.add_argument("--scores", required=True)
    s.add_argument("--spec", required=True)
    s.add_argument("--failures", required=True, help="failures.csv from merge-scores")
    s.add_argument("--benchmarks-dir", default="benchmarks", help="Snakemake `benchmark:` files (job times)")
    s.add_argument("--samples", help="samples.parquet from merge-scores (the examples slides)")
    # Optional: without the statistics step's CSVs the deck has no tied-best bold, comparisons or agreement.
    add_stats_arguments(s, required=False)
    s.add_argument("--language", help="report.language: the tables' headers, labels and notes (default: en)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_deck_data)

    s = sub.add_parser("deck", help="render the Marp deck from templates, the deck data and the report text")
    s.add_argument("--data", required=True, help="the JSON from deck-data")
    s.add_argument("--report", required=True)
    s.add_argument("--attachments", required=True, help="folder of the deck's images")
    s.add_argument("--preview", action="store_true", help="show the paper preview on the title slide")
    s.add_argument("--templates", help="template folder (default: lmdeck's own templates)")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_deck)

    s = sub.add_parser("export", help="marp-cli: deck -> html, pdf, or a folder with one png per slide")
    s.add_argument("--deck", required=True)
    s.add_argument("--theme", help="Marp theme CSS (default: lmdeck's own lmdeck.css)")
    s.add_argument("--format", required=True, choices=["html", "pdf", "png"])
    s.add_argument("--out", required=True, help="the html/pdf file, or the png folder")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("layout-check", help="marp-cli html export -> every slide whose content overflows (Chromium)")
    s.add_argument("deck", metavar="DECK.html", help="the deck as marp-cli's html export (lmdeck export --format html)")
    s.add_argument("--out", help="a file to write once every slide fits (the workflow's marker)")
    s.set_defaults(func=cmd_layout_check)

    s = sub.add_parser("sandbox-run", help="run a Python file in the code sandbox, as a model-written completion")
    s.add_argument("file", metavar="FILE")
    s.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="wall-clock limit in seconds (default: $LMDECK_CODE_TIMEOUT_S, else 3)",
    )
    s.set_defaults(func=cmd_sandbox_run)

    s = sub.add_parser("sandbox-check", help="escape probes against the code sandbox; non-zero exit if any escapes")
    s.set_defaults(func=cmd_sandbox_check)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "run-harness":
        args.log = args.log or args.log_file  # the job's log, named in its failure reports
    return console.run_step(args.command, lambda: args.func(args), args.log_file)


if __name__ == "__main__":
    sys.exit(main())
