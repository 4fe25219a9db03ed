# OpenCompass: one job per model runs a generated config over all of its OpenCompass
# benchmarks in one process (weights load once; unchanged benchmarks are reused).


rule opencompass:
    input:
        unpack(harness_inputs("opencompass")),
    output:
        "results/raw/opencompass/{model}/manifest.json",
    params:
        spec=job_spec_json("opencompass"),
    threads: 1
    resources:
        gpu=lambda wc: lmconfig.model_by_name(config, wc.model)["gpus"],
    log:
        "logs/opencompass/{model}.log",
    benchmark:
        "benchmarks/opencompass/{model}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} lmdeck --log {log:q} run-harness --spec {params.spec:q} --out {output:q}"
