# lmdeck: models x benchmarks -> lm-eval / OpenCompass -> one tidy score table -> tables and deck.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/data.smk"
include: "rules/lmeval.smk"
include: "rules/opencompass.smk"
include: "rules/scores.smk"
include: "rules/deck.smk"


rule all:
    input:
        get_final_output(),
