#!/usr/bin/env bash
# Operation importance of one DARTS cell by proxy training: the cell and its neighbours (each slot's other ops and
# rewirings) → `nas search --strategy list` under torchrun (seed 0) → the cell alone again (seed 1, the noise) →
# `nas analyze importance --repeat`. Every stage resumes: rerunning the script continues where it stopped.
# usage: scripts/oi_darts.sh NAS RECIPE OUT GENOTYPE_CSV ARCH_NAME DATA_ROOT NPROC CELL
set -euo pipefail
NAS="$1"; RECIPE="$2"; OUT="$3"; CSV="$4"; NAME="$5"; DATA_ROOT="$6"; NPROC="$7"; CELL="$8"
BIN="$(dirname "$NAS")"
export OMP_NUM_THREADS=1  # one thread per process, as the README's numbers were measured (CPU sums depend on it)
mkdir -p "$OUT"
"$BIN/python" - "$CSV" "$NAME" "$OUT/arch.txt" <<'PY'
import csv, sys
source, name, target = sys.argv[1:]
with open(source, newline="", encoding="utf-8") as handle:
    genotypes = {row["arch_name"]: row["genotype"] for row in csv.DictReader(handle)}
if name not in genotypes:
    sys.exit(f"{source} has no arch_name {name!r}: pick one of {', '.join(list(genotypes)[:3])}, …")
with open(target, "w", encoding="utf-8") as handle:
    handle.write(genotypes[name] + "\n")
PY
"$NAS" analyze importance --space darts --archs "$OUT/arch.txt" --cell "$CELL" --write-neighbours "$OUT/neighbours.txt"
SEARCH=(search --space darts --strategy list --score trained-acc --recipe "$RECIPE" --data-root "$DATA_ROOT" --resume)
"$BIN/torchrun" --standalone --nproc_per_node "$NPROC" "$NAS" "${SEARCH[@]}" \
    --archs "$OUT/neighbours.txt" --seed 0 --out "$OUT/seed0"
"$NAS" "${SEARCH[@]}" --archs "$OUT/arch.txt" --seed 1 --out "$OUT/seed1" --set batch=1
"$NAS" analyze importance --space darts --archs "$OUT/arch.txt" --cell "$CELL" --scores-file "$OUT/seed0/scores.csv" \
    --repeat "$OUT/seed1/scores.csv" --out "$OUT/importance" --overwrite
