#!/usr/bin/env bash
# Runs a subset of the tests under AddressSanitizer (default) or ThreadSanitizer.
#   Tools/sanitize.sh            ASan: storage, kernels, index, readers, check, concurrency
#   Tools/sanitize.sh thread     TSan on the concurrency tests
# Leak detection is off: Foundation and XCTest leak on Linux, which would fail every run.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
kind=${1:-address}
case "$kind" in
  address) filter='KernelsTests|IndexTests|StorageTests|ReliabilityTests.CheckTests|ReliabilityTests.ConcurrencyTests|IngestTests.Reader' ;;
  thread)  filter='StorageTests.EnvironmentTests|IndexTests.HNSWGraphTests|ReliabilityTests.ConcurrencyTests' ;;
  *) echo "usage: Tools/sanitize.sh [address|thread]" >&2; exit 64 ;;
esac
export ASAN_OPTIONS=detect_leaks=0
log=".build-$kind.log"
set +e
swift test --sanitize="$kind" --build-path ".build-$kind" --filter "$filter" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
executed=$(grep -Eo 'Executed [0-9]+ tests?' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
echo "sanitize ($kind): $executed tests executed (exit $status)"
rm -f "$log"
[[ $status -eq 0 && ${executed:-0} -gt 0 ]]
