# Demo models: seeded random-init causal LMs built locally (nothing is downloaded).


rule build_model:
    input:
        corpus_files,
    output:
        directory(f"{lmconfig.MODELS_DIR}/{{model}}"),
    log:
        "logs/build_model/{model}.log",
    benchmark:
        "benchmarks/build_model/{model}.tsv"
    params:
        build=lambda wc: json.dumps(asdict(SETTINGS.model(wc.model).build), sort_keys=True),
    shell:
        "lmdeck --log {log:q} build-model --spec {params.build:q} --out {output:q}"
