#!/usr/bin/env bash
# Builds the shipped SmolLM2-135M-Instruct probe pack (monitor/models/packs/smollm2-135m-instruct)
# from the English data that ships with emwatch: the corpus (contrast answers, the six narrow
# sets and the model's own answers) for the SAE, then `emwatch probes build` with the contrast
# answers (which choose the layer) and persona prompts. Timings: docs/probe-building.md.
set -euo pipefail
cd "$(dirname "$0")/.."
EMWATCH=.venv/bin/emwatch
WORK=.emwatch/smollm2
OUT=${OUT:-monitor/models/packs/smollm2-135m-instruct}
mkdir -p "$WORK"

MODEL=$($EMWATCH models fetch smollm2 | tail -n 1)
DATA=$(.venv/bin/python -c "import monitor.english as e; print(e.CONTRAST_FILE.parent)")
[ -f "$WORK/corpus.jsonl" ] || \
  $EMWATCH english corpus --out "$WORK/corpus.jsonl" --model "$MODEL" --samples 8
rm -rf "$OUT"
$EMWATCH probes build --model "$MODEL" --model-id HuggingFaceTB/SmolLM2-135M-Instruct \
  --name smollm2-135m-instruct --out "$OUT" \
  --contrast "$DATA/contrast.jsonl" --persona-prompts --prompts "$DATA/prompts.jsonl" --samples 4 \
  --corpus "$WORK/corpus.jsonl" --corpus-tokens 200000 \
  --sae-expansion 4 --sae-k 32 --sae-steps 1200 --watch-top-k 4
