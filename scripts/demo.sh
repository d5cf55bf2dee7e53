#!/usr/bin/env bash
# `make demo`: the main pipeline on the built-in synthetic data (a few minutes on a 2-core CPU).
set -euo pipefail
NAS="$1"
OUT="$2"
rm -rf "$OUT"
"$NAS" train-supernet --recipe recipes/rlnas/nb201-demo.yaml --out "$OUT/supernet"
echo
echo "demo outputs are under $OUT/"
