# lm-evaluation-harness: one job per model evaluates all of its lm-eval benchmarks
# (weights load once; unchanged benchmarks are reused from their per-benchmark results).


rule lm_eval:
    input:
        unpack(harness_inputs("lm-eval")),
    output:
        "results/raw/lm-eval/{model}/manifest.json",
    params:
        spec=job_spec_json("lm-eval"),
    threads: 1
    resources:
        gpu=lambda wc: lmconfig.model_by_name(config, wc.model)["gpus"],
    log:
        "logs/lm_eval/{model}.log",
    benchmark:
        "benchmarks/lm_eval/{model}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} lmdeck --log {log:q} run-harness --spec {params.spec:q} --out {output:q}"
