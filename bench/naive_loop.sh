#!/usr/bin/env bash
# The naive alternative to lmdeck's harness jobs, as a user would script it: the lm_eval CLI
# and the opencompass CLI once per (model, benchmark), one after the other.
#
# usage: naive_loop.sh LMDECK_RUN_DIR OC_CONFIG_DIR OUT_DIR
#   LMDECK_RUN_DIR  a finished lmdeck run: its built models (results/models/<model>) and the
#                   task YAMLs its data step generated (results/data/<bench>/lm-eval/<variant>/)
#   OC_CONFIG_DIR   <model>/<bench>.py: the OpenCompass config lmdeck generates for that
#                   benchmark alone; <model>/<bench>.lmeval: the task folder and --gen_kwargs
#                   (bench/run.py writes them)
#   OUT_DIR         harness outputs, one log per invocation, timings.tsv
# environment: MODELS, LMEVAL_BENCHMARKS, OPENCOMPASS_BENCHMARKS (space-separated names),
#              DTYPE, BATCH_SIZE
# A file OUT_DIR/STOP ends the loop before its next invocation (bench/run.py's time budget).
set -euo pipefail

src=$(realpath "$1")
configs=$(realpath "$2")
mkdir -p "$3"
out=$(realpath "$3")
mkdir -p "$out/logs"
: > "$out/timings.tsv"
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

for model in $MODELS; do
  model_path="$src/results/models/$model"

  for bench in $OPENCOMPASS_BENCHMARKS; do
    [ -e "$out/STOP" ] && exit 0
    work="$out/opencompass/$model/$bench"
    mkdir -p "$work"
    start=$(date +%s.%N)
    (cd "$work" && opencompass "$configs/$model/$bench.py" --debug -w "$work/outputs") \
      > "$out/logs/opencompass_${model}_${bench}.log" 2>&1
    printf 'opencompass\t%s\t%s\t%s\n' "$model" "$bench" "$(elapsed "$start")" >> "$out/timings.tsv"
  done

  for bench in $LMEVAL_BENCHMARKS; do
    [ -e "$out/STOP" ] && exit 0
    # shellcheck disable=SC1090  # sets tasks_dir and gen_kwargs
    source "$configs/$model/$bench.lmeval"
    tasks=$(cd "$tasks_dir" && ls -- *.yaml | sed 's/\.yaml$//' | paste -sd, -)
    start=$(date +%s.%N)
    lm_eval --model hf --model_args "pretrained=$model_path,dtype=$DTYPE" \
      --tasks "$tasks" --include_path "$tasks_dir" ${gen_kwargs:+--gen_kwargs "$gen_kwargs"} \
      --batch_size "$BATCH_SIZE" --device cpu --confirm_run_unsafe_code \
      --output_path "$out/lm-eval/$model/$bench" \
      > "$out/logs/lm-eval_${model}_${bench}.log" 2>&1
    printf 'lm-eval\t%s\t%s\t%s\n' "$model" "$bench" "$(elapsed "$start")" >> "$out/timings.tsv"
  done
done
