#!/usr/bin/env bash
# Compares fute-db's HNSW (in LMDB, searched in place) with hnswlib and faiss, single-threaded,
# on the same files and parameters, in one run. Prints a table per dataset (with fute-db/hnswlib
# ratios) and writes recall-QPS plots and JSON to $OUT.
#
#   Tools/peer-compare.sh                 # siftsmall and minilm-20k from ../shared/data
#   DATA=/path OUT=/tmp/peer Tools/peer-compare.sh
#
# Env: VENV (python venv, created on demand), DATA, OUT, M (16), EFC (200), EFS (16,32,64,128,256), K (10).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv-peer}"
DATA="${DATA:-$ROOT/../shared/data}"
OUT="${OUT:-$ROOT/.peer-results}"
M="${M:-16}"; EFC="${EFC:-200}"; EFS="${EFS:-16,32,64,128,256}"; K="${K:-10}"
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q hnswlib faiss-cpu numpy matplotlib
fi

cd "$ROOT"
FUTE_NATIVE=1 swift build -c release --product fute-bench >&2
BENCH="$(FUTE_NATIVE=1 swift build -c release --show-bin-path)/fute-bench"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

run() {  # name base query truth metric
    local name="$1" base="$2" query="$3" truth="$4" metric="$5"
    [ -f "$base" ] || { echo "skipping $name: $base not found" >&2; return; }
    "$BENCH" ann --base "$base" --query "$query" --truth "$truth" --metric "$metric" \
        --m "$M" --ef-construction "$EFC" --ef "$EFS" -k "$K" --json > "$OUT/$name-fute.json"
    "$VENV/bin/python" "$ROOT/Tools/peer-compare.py" --fute-json "$OUT/$name-fute.json" \
        --base "$base" --query "$query" --truth "$truth" \
        --plot "$OUT/$name-recall-qps.png" --out-json "$OUT/$name-all.json"
}

run siftsmall "$DATA/siftsmall/siftsmall_base.fvecs" "$DATA/siftsmall/siftsmall_query.fvecs" \
    "$DATA/siftsmall/siftsmall_groundtruth.ivecs" l2
run minilm-20k "$DATA/minilm-20k/base.fvecs" "$DATA/minilm-20k/query.fvecs" \
    "$DATA/minilm-20k/groundtruth.ivecs" cosine
