# Every harness output -> one tidy table (0-100, stderr, provenance) beside the reported numbers.


rule merge_scores:
    input:
        manifests=manifests(),
        reported=[r.file for r in SETTINGS.reported],
    output:
        csv=report("results/scores.csv", caption="../report/scores.rst", category="Scores"),
        parquet="results/scores.parquet",
        samples="results/samples.parquet",
        failures="results/failures.csv",
    log:
        "logs/merge_scores/merge_scores.log",
    benchmark:
        "benchmarks/merge_scores/merge_scores.tsv"
    params:
        spec=report_spec(),
    shell:
        "lmdeck --log {log:q} merge-scores --spec {params.spec:q} --csv {output.csv:q} --parquet {output.parquet:q}"
        " --samples {output.samples:q}"
        " --failures {output.failures:q}"
        " {input.manifests:q}"


rule tables:
    input:
        "results/scores.csv",
    output:
        base="results/tables/base.md",
        base_csv="results/tables/base.csv",
        chat="results/tables/chat.md",
        chat_csv="results/tables/chat.csv",
        delta="results/tables/reported_vs_measured.md",
        delta_csv="results/tables/reported_vs_measured.csv",
    log:
        "logs/tables/tables.log",
    benchmark:
        "benchmarks/tables/tables.tsv"
    params:
        spec=report_spec(),
    shell:
        "lmdeck --log {log:q} tables --scores {input:q} --spec {params.spec:q} --out-dir results/tables"
