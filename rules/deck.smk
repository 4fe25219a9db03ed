# Scores -> table images, charts, paper preview -> Marp deck (md) -> html, pdf, png.


rule figures:
    input:
        scores="results/scores.csv",
        comparisons=STATS_CSVS["comparisons"],
        messages=message_catalogs(),
    output:
        tables=report(
            expand(f"{ATTACHMENTS}/{{name}}.png", name=table_images()),
            caption="../report/tables.rst",
            category="Tables",
        ),
        charts=report(
            directory(f"{ATTACHMENTS}/charts"),
            patterns=["{name}.png"],
            caption="../report/charts.rst",
            category="Charts",
        ),
    log:
        "logs/figures/figures.log",
    benchmark:
        "benchmarks/figures/figures.tsv"
    params:
        spec=report_spec(),
        report=json.dumps(config["report"], sort_keys=True, ensure_ascii=False),
        # The table images' folder (Table1-3.png sit directly in it).
        out_dir=lambda wc, output: os.path.dirname(output.tables[0]),
    shell:
        "lmdeck --log {log:q} figures --scores {input.scores:q} --comparisons {input.comparisons:q} --spec {params.spec:q}"
        " --report {params.report:q}"
        " --out-dir {params.out_dir:q} --charts-dir {output.charts:q}"


# The first available of report.paper.pdf: a local file (the rule's input, so editing it
# re-renders), else a URL that downloads (`lmdeck preview`: no storage plugin to load at every
# Snakemake start, no network at parse). When none is available (offline), the run goes on:
# Preview.png is left empty, a console note says why, and the deck has no preview.
rule preview:
    input:
        paper_local_pdf() or [],
    output:
        report(f"{ATTACHMENTS}/Preview.png", caption="../report/preview.rst", category="Paper"),
    log:
        "logs/preview/preview.log",
    benchmark:
        "benchmarks/preview/preview.tsv"
    params:
        candidates=paper_candidates(),
    shell:
        "lmdeck --log {log:q} preview --first-of {params.candidates:q} --out {output:q}"


# The paper's own tables (report.paper.tables) as crops of the first available PDF, found as the
# preview finds it. None available: every crop is left empty with a console note, and the deck
# drops the paper-table slides.
rule paper_tables:
    input:
        paper_local_pdf() or [],
    output:
        report(
            [f"{ATTACHMENTS}/paper/{table['name']}.png" for table in paper_tables()],
            caption="../report/paper_tables.rst",
            category="Paper",
        ),
    log:
        "logs/paper_tables/paper_tables.log",
    benchmark:
        "benchmarks/paper_tables/paper_tables.tsv"
    params:
        candidates=paper_candidates(),
        tables=json.dumps(paper_tables(), sort_keys=True),
        # The crops' folder (attachments/<NAME>/paper).
        out_dir=lambda wc, output: os.path.dirname(output[0]),
    shell:
        "lmdeck --log {log:q} paper-tables --first-of {params.candidates:q} --tables {params.tables:q}"
        " --out-dir {params.out_dir:q}"


# The numbers for the deck, apart from its text and templates: editing those re-runs only `deck`,
# which is templating (no pandas, no scores).
rule deck_data:
    input:
        **STATS_CSVS,
        scores="results/scores.csv",
        failures="results/failures.csv",
        samples="results/samples.parquet",
        messages=message_catalogs(),
    output:
        f"results/deck/{REPORT}.json",
    log:
        f"logs/deck_data/{REPORT}.log",
    benchmark:
        f"benchmarks/deck_data/{REPORT}.tsv"
    params:
        spec=report_spec(),
        language=config["report"]["language"],
    shell:
        "lmdeck --log {log:q} deck-data --scores {input.scores:q} --spec {params.spec:q} --failures {input.failures:q}"
        " --samples {input.samples:q}"
        " --comparisons {input.comparisons:q} --agreement {input.agreement:q} --disagreements {input.disagreements:q}"
        " --language {params.language:q} --out {output:q}"


rule deck:
    input:
        data=f"results/deck/{REPORT}.json",
        figures=rules.figures.output,
        preview=[f"{ATTACHMENTS}/Preview.png"] if paper_candidates() else [],
        paper_tables=rules.paper_tables.output if paper_tables() else [],
        templates=sorted(str(p) for p in TEMPLATES.rglob("*.j2")),
        messages=message_catalogs(),
    output:
        f"slides/{REPORT}.md",
    log:
        f"logs/deck/{REPORT}.log",
    benchmark:
        f"benchmarks/deck/{REPORT}.tsv"
    params:
        report=json.dumps(config["report"], sort_keys=True, ensure_ascii=False),
        preview=lambda wc, input: "--preview" if input.preview else "",
        attachments=lambda wc, input: os.path.dirname(input.figures[0]),
        templates=lambda wc: str(TEMPLATES),
    shell:
        "lmdeck --log {log:q} deck --data {input.data:q} --report {params.report:q} --attachments {params.attachments:q}"
        " {params.preview} --templates {params.templates:q} --out {output:q}"


# The exports, one job per format, are the `export` target (`make report` builds `all` and
# `export`). The default target ends at the deck's Markdown, so that editing a template or the
# report text re-renders in about two seconds; marp-cli's html takes a second more, pdf and
# png start a Chromium each.
rule html_or_pdf:
    input:
        deck=f"slides/{REPORT}.md",
        theme=str(TEMPLATES / "lmdeck.css"),
    output:
        f"slides/{REPORT}.{{format}}",
    log:
        f"logs/export/{REPORT}.{{format}}.log",
    benchmark:
        f"benchmarks/html_or_pdf/{REPORT}.{{format}}.tsv"
    wildcard_constraints:
        format="html|pdf",
    shell:
        "lmdeck --log {log:q} export --format {wildcards.format} --deck {input.deck:q} --theme {input.theme:q}"
        " --out {output:q}"


rule png:
    input:
        deck=f"slides/{REPORT}.md",
        theme=str(TEMPLATES / "lmdeck.css"),
    output:
        directory(f"slides/{REPORT}-png"),
    log:
        f"logs/export/{REPORT}.png.log",
    benchmark:
        f"benchmarks/png/{REPORT}.tsv"
    shell:
        "lmdeck --log {log:q} export --format png --deck {input.deck:q} --theme {input.theme:q} --out {output:q}"


# Every slide's content must fit its slide: the html measured in headless Chromium (about 2 s).
# An overflowing slide fails `export`, one line per slide (number, heading, by how many px).
rule layout_check:
    input:
        f"slides/{REPORT}.html",
    output:
        f"results/deck/{REPORT}.layout.txt",
    log:
        f"logs/layout_check/{REPORT}.log",
    benchmark:
        f"benchmarks/layout_check/{REPORT}.tsv"
    shell:
        "lmdeck --log {log:q} layout-check {input:q} --out {output:q}"


rule export:
    input:
        get_final_output(),
        f"slides/{REPORT}.html",
        rules.layout_check.output,
        f"slides/{REPORT}.pdf",
        rules.png.output,
