# Benchmark folders (as their authors distribute them) -> checked, prompt-ready items.


rule prepare_data:
    input:
        data_files,
    output:
        prepared=f"{lmconfig.DATA_DIR}/{{benchmark}}/items.jsonl",
        info=f"{lmconfig.DATA_DIR}/{{benchmark}}/data.json",
    params:
        format=lambda wc: benchmark_by_name(wc.benchmark)["format"],
        folder=lambda wc: benchmark_by_name(wc.benchmark)["data"],
        shots=lambda wc: benchmark_by_name(wc.benchmark)["shots"],
    log:
        "logs/prepare_data/{benchmark}.log",
    benchmark:
        "benchmarks/prepare_data/{benchmark}.tsv"
    shell:
        "lmdeck prepare-data --format {params.format} --folder {params.folder:q} --shots {params.shots}"
        " --out-dir {lmconfig.DATA_DIR}/{wildcards.benchmark} > {log:q} 2>&1"
