#!/usr/bin/env bash
# The RLNAS NB201 chain: train-supernet → search (evolution, angle) → angle of all 15,625 → correlate → pictures.
# Every stage resumes (rerunning the script continues where it stopped). Extra arguments go to train-supernet.
# usage: scripts/rlnas_nb201.sh NAS RECIPE OUT DATASET [train-supernet options...]
set -euo pipefail
NAS="$1"; RECIPE="$2"; OUT="$3"; DATASET="$4"; shift 4
"$NAS" train-supernet --recipe "$RECIPE" --out "$OUT/supernet" --resume "$@"
"$NAS" search --recipe "$RECIPE" --supernet "$OUT/supernet" --out "$OUT/search" --resume --quiet
"$NAS" search --supernet "$OUT/supernet" --strategy exhaustive --score angle --set batch=15625 \
    --out "$OUT/all" --resume --quiet
"$NAS" correlate --scores "$OUT/all/scores.csv" --dataset "$DATASET" --out "$OUT/correlate"
"$NAS" visualize cell "$OUT/search/genotype.json" --out "$OUT/pictures/best-cell" >/dev/null
"$NAS" visualize curves "$OUT/supernet/log.jsonl" --out "$OUT/pictures/supernet-curves.png" >/dev/null
"$NAS" visualize history "$OUT/search/history.jsonl" --out "$OUT/pictures/search-history.png" >/dev/null
