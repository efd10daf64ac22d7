#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs system packages, fetches the encoder
# weights (for the encoder tests; they skip visibly without them), builds and runs every test.
# Exits non-zero when a test fails or when no test ran. Extra arguments go to `swift test`
# (e.g. `--filter IngestTests`).
#
# The tests run in a release build with testability (`-enable-testing` keeps `@testable import`
# working): the encoder, the FUTE training and the SIMD kernels are 5-10x slower unoptimised, and
# the real-data tests spend minutes in them. Nothing in the sources relies on `assert` (stripped
# in release); preconditions and overflow checks stay on in `-O`. It is the default build (no
# FUTE_NATIVE): the distance kernels are AVX2+FMA on a CPU that has them, chosen at run time;
# KernelsTests and IndexTests also force the portable kernels, and .ci/run reruns those two
# targets with FUTE_KERNELS=portable.
# The weights: $FUTE_ENCODER_DIR when set, else .build/models/all-MiniLM-L6-v2 (fetched when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
models=${FUTE_ENCODER_DIR:-.build/models/all-MiniLM-L6-v2}
if [[ -x Tools/fetch-minilm.sh ]]; then
  Tools/fetch-minilm.sh "$models" || echo "test: could not fetch the MiniLM weights; encoder tests will skip" >&2
fi
[[ $models == /* ]] || models="$PWD/$models"
export FUTE_ENCODER_DIR="$models"
log=.build/test.log
mkdir -p .build
set +e
swift test -c release -Xswiftc -enable-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
executed=$(grep -Eo 'Executed [0-9]+ tests?' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
echo "test: $executed tests executed (exit $status)"
if [[ $status -ne 0 ]]; then exit "$status"; fi
if [[ ${executed:-0} -eq 0 ]]; then echo "test: error: zero tests ran" >&2; exit 1; fi
