# Scores -> table images, charts, paper preview -> Marp deck (md) -> html, pdf, png.


rule figures:
    input:
        "results/scores.csv",
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
    params:
        spec=report_spec(),
        report=json.dumps(config["report"], sort_keys=True, ensure_ascii=False),
    log:
        "logs/figures/figures.log",
    benchmark:
        "benchmarks/figures/figures.tsv"
    shell:
        "lmdeck figures --scores {input:q} --spec {params.spec:q} --report {params.report:q}"
        " --out-dir {ATTACHMENTS} --charts-dir {output.charts:q} > {log:q} 2>&1"


rule preview:
    input:
        paper_pdf() or [],
    output:
        report(f"{ATTACHMENTS}/Preview.png", caption="../report/preview.rst", category="Paper"),
    log:
        "logs/preview/preview.log",
    benchmark:
        "benchmarks/preview/preview.tsv"
    shell:
        "lmdeck preview --pdf {input:q} --out {output:q} > {log:q} 2>&1"


rule deck:
    input:
        scores="results/scores.csv",
        failures="results/failures.csv",
        figures=rules.figures.output,
        preview=[f"{ATTACHMENTS}/Preview.png"] if paper_pdf() else [],
        templates=sorted(str(p) for p in TEMPLATES.rglob("*.j2")),
    output:
        f"slides/{REPORT}.md",
    params:
        spec=report_spec(),
        report=json.dumps(config["report"], sort_keys=True, ensure_ascii=False),
        preview=lambda wc, input: "--preview" if input.preview else "",
    log:
        f"logs/deck/{REPORT}.log",
    benchmark:
        f"benchmarks/deck/{REPORT}.tsv"
    shell:
        "lmdeck deck --scores {input.scores:q} --spec {params.spec:q} --report {params.report:q}"
        " --failures {input.failures:q} --attachments {ATTACHMENTS} {params.preview} --templates {TEMPLATES:q} --out {output:q} > {log:q} 2>&1"


rule export:
    input:
        deck=f"slides/{REPORT}.md",
        theme=str(TEMPLATES / "lmdeck.css"),
    output:
        html=f"slides/{REPORT}.html",
        pdf=f"slides/{REPORT}.pdf",
        png=directory(f"slides/{REPORT}-png"),
    log:
        f"logs/export/{REPORT}.log",
    benchmark:
        f"benchmarks/export/{REPORT}.tsv"
    shell:
        "lmdeck export --deck {input.deck:q} --theme {input.theme:q} --html-out {output.html:q}"
        " --pdf-out {output.pdf:q} --png-dir {output.png:q} > {log:q} 2>&1"
