# Benchmark folders (as their authors distribute them) -> checked records -> the files each
# native task reads (lmdeck.prepare). Builtin benchmarks get their native task index here too.


rule prepare_data:
    input:
        data_files,
    output:
        f"{lmconfig.DATA_DIR}/{{benchmark}}/data.json",
    log:
        "logs/prepare_data/{benchmark}.log",
    benchmark:
        "benchmarks/prepare_data/{benchmark}.tsv"
    params:
        spec=prepare_spec_json,
        out_dir=lambda wc: f"{lmconfig.DATA_DIR}/{wc.benchmark}",
    shell:
        "lmdeck --log {log:q} prepare-data --spec {params.spec:q} --out-dir {params.out_dir:q}"
