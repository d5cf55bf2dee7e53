#!/usr/bin/env bash
# `make demo`: the RLNAS NB201 pipeline on the built-in synthetic data (30–40 s of a 2-core CPU after the install).
set -euo pipefail
NAS="$1"
OUT="$2"
PY="$(dirname "$NAS")/python"
rm -rf "$OUT"
bash scripts/rlnas_nb201.sh "$NAS" recipes/rlnas/nb201-demo.yaml "$OUT" cifar10
echo
"$PY" scripts/summary.py "$OUT" --synthetic
