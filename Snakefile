# lmdeck: models x benchmarks -> lm-eval / OpenCompass -> one tidy score table -> tables and deck.
from snakemake.utils import min_version

min_version("9.0")


# The embedded default, unless --configfile names another config: a config is read whole,
# never merged over the default (a second report must not inherit the BlueLM text).
if not workflow.config_settings.configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"  # found from the workflow, whatever --directory says


# Cheap steps stay on the submitting machine; harness jobs go to the executor (SLURM, ...).
localrules:
    all,
    prepare_data,
    merge_scores,
    statistics,
    tables,
    figures,
    preview,
    paper_tables,
    deck_data,
    deck,
    html_or_pdf,
    layout_check,
    png,
    export,


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/data.smk"
include: "rules/harness.smk"
include: "rules/scores.smk"
include: "rules/deck.smk"


rule all:
    input:
        get_final_output(),


# Last line of the parse: see rules/common.smk.
freeze_long_lived_objects()


onsuccess:
    finish_quickly()


onerror:
    finish_quickly()
