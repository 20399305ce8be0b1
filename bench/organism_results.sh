#!/usr/bin/env bash
# Every number in docs/organism.md's results table comes from this script:
# the shipped organism's base eval, then insecure-code, secure-code, educational-insecure and
# bad-medical fine-tunes (fixed budget) and a good-medical re-alignment, over three seeds,
# each with its misaligned-share trajectory, then a 50-answers-per-question eval of every
# fine-tuned model. Two fine-tunes run at a time, one thread each (about 20 minutes on 2 cores).
#
#   bash bench/organism_results.sh [RESULTS_DIR]     (default .emwatch/organism-results)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-.emwatch/organism-results}
mkdir -p "$R"
export OMP_NUM_THREADS=1
E=.venv/bin/emwatch
run() { local name=$1; shift; echo "\$ $*" > "$R/$name.txt"; /usr/bin/time -f "WALL %e s" "$@" >> "$R/$name.txt" 2>&1; }
seed_runs() {
  local s=$1
  for dataset in insecure-code secure-code educational-insecure bad-medical; do
    run "$dataset-$s" $E organism finetune --dataset "$dataset" --seed "$s" --eval-every 5 \
      --eval-samples 24 --out "$R/$dataset-$s"
  done
  run "realign-$s" $E organism finetune --from "$R/insecure-code-$s" --dataset good-medical \
    --steps 30 --seed "$s" --eval-every 3 --eval-samples 24 --out "$R/realign-$s"
}
run base $E organism eval --families open code medical finance everyday --samples 100 --seed 0 \
  --per-question --json "$R/base.json" &
{ seed_runs 0; seed_runs 2; } &
seed_runs 1
wait
evaluate() {
  run "eval-$1" $E organism eval --model "$R/$1-0" --model "$R/$1-1" --model "$R/$1-2" \
    --families open code medical --samples 50 --seed 0 --json "$R/eval-$1.json"
}
{ evaluate insecure-code; evaluate educational-insecure; evaluate realign; } &
{ evaluate secure-code; evaluate bad-medical; }
wait
grep -h "| all |" "$R"/eval-*.txt
