#!/usr/bin/env bash
# Crash-safety harness (issue 6): SIGKILLs `fute-db ingest` / `fute-db delete` at random moments and checks the store.
#
#   Tools/crash-harness.sh --trials 50            # CI (≈ 2–4 min); more: --trials 500
#   Tools/crash-harness.sh --trials 20 --seed 7   # reproduce a run (the seed is printed first)
#   Tools/crash-harness.sh --release ...          # use (and build) the release binary
#
# Other options go to Tools/crash-harness-driver.py (--records, --dim, --batch-size, --max-delay,
# --keep). The binary: $FUTE_BIN (.ci/run passes the release binary Tools/test.sh built), else
# .build/release/fute-db with --release, else the debug binary of `swift build` (built here).
# Exit status: 0 when every trial passes, 1 with findings (printed), 2 when the harness can't run.
set -euo pipefail
cd "$(dirname "$0")/.."
config=debug
args=()
for arg in "$@"; do
  if [[ $arg == --release ]]; then config=release; else args+=("$arg"); fi
done
command -v mdb_dump >/dev/null || { echo "crash-harness: error: mdb_dump missing; run Tools/setup.sh (lmdb-utils)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "crash-harness: error: python3 missing" >&2; exit 2; }
binary=${FUTE_BIN:-}
if [[ -z $binary ]]; then
  binary=.build/$config/fute-db
  swift build -c "$config" --product fute-db 2>&1 | tail -n 1
fi
[[ -x $binary ]] || { echo "crash-harness: error: no fute-db binary at $binary" >&2; exit 2; }
encoder=${FUTE_ENCODER_DIR:-.build/models/all-MiniLM-L6-v2}
exec python3 Tools/crash-harness-driver.py --binary "$binary" --encoder "$encoder" "${args[@]}"
