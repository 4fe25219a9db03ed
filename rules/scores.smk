# Every harness output -> one tidy table (0-100, stderr, 95 % interval, provenance) beside the reported numbers.


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


# Paired comparisons of the results tables' columns and the harness agreement, from the per-item
# records (lmdeck.stats); the tables, figures and deck data read these CSVs, so a template edit
# never recomputes them.
rule statistics:
    input:
        scores="results/scores.csv",
        samples="results/samples.parquet",
    output:
        **STATS_CSVS,
    log:
        "logs/statistics/statistics.log",
    benchmark:
        "benchmarks/statistics/statistics.tsv"
    params:
        spec=report_spec(),
    shell:
        "lmdeck --log {log:q} stats --scores {input.scores:q} --samples {input.samples:q} --spec {params.spec:q}"
        " --comparisons {output.comparisons:q} --agreement {output.agreement:q}"
        " --disagreements {output.disagreements:q}"


rule tables:
    input:
        scores="results/scores.csv",
        comparisons=STATS_CSVS["comparisons"],
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
        "lmdeck --log {log:q} tables --scores {input.scores:q} --comparisons {input.comparisons:q} --spec {params.spec:q}"
        " --out-dir results/tables"
