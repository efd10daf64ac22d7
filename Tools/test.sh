#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs system packages, fetches the encoder
# weights (for the encoder tests; they skip visibly without them), builds and runs every test.
# Exits non-zero when a test fails or when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
models=.build/models/all-MiniLM-L6-v2
if [[ -x Tools/fetch-minilm.sh ]]; then
  Tools/fetch-minilm.sh "$models" || echo "test: could not fetch the MiniLM weights; encoder tests will skip" >&2
fi
export FUTE_ENCODER_DIR="$PWD/$models"
log=.build/test.log
mkdir -p .build
set +e
swift test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
executed=$(grep -Eo 'Executed [0-9]+ tests?' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
echo "test: $executed tests executed (exit $status)"
if [[ $status -ne 0 ]]; then exit "$status"; fi
if [[ ${executed:-0} -eq 0 ]]; then echo "test: error: zero tests ran" >&2; exit 1; fi
