# The harness jobs, one rule per harness: `lm_eval` (lm-evaluation-harness) and `opencompass`.
# One job per model evaluates all of its benchmarks on that harness in one process (weights load
# once; unchanged benchmarks are reused from their per-benchmark results). The rule name, log and
# benchmark folders are the harness name with "_" for "-" (logs/lm_eval/<model>.log).
from lmdeck.formats import HARNESSES

for _harness in HARNESSES:

    rule:
        name:
            _harness.replace("-", "_")
        input:
            unpack(harness_inputs(_harness)),
        output:
            f"results/raw/{_harness}/{{model}}/manifest.json",
        log:
            f"logs/{_harness.replace('-', '_')}/{{model}}.log",
        benchmark:
            f"benchmarks/{_harness.replace('-', '_')}/{{model}}.tsv"
        threads: 1
        resources:
            gpu=lambda wc: SETTINGS.model(wc.model).gpus,
        params:
            spec=job_spec_json(_harness),
        shell:
            "OMP_NUM_THREADS={threads} lmdeck --log {log:q} run-harness --spec {params.spec:q} --out {output:q}"
