#!/usr/bin/env bash
# The Ray driver's test (Tools/ray/test_fute_ray.py) on a local Ray with 2 CPUs, no network needed
# once Ray is installed. Tries `pip install ray` (quietly, with a timeout) when it is missing and
# prints a visible SKIP when that fails. Uses the release binary Tools/test.sh built and the encoder
# weights it fetched: FUTE_BIN (default .build/release/fute-db), FUTE_ENCODER_DIR (default
# .build/models/all-MiniLM-L6-v2). About a minute once Ray is installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! python3 -c 'import ray' 2>/dev/null; then
  echo "ray-test: installing Ray (pip install ray)" >&2
  timeout 300 python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore ray >/dev/null 2>&1 \
    || echo "ray-test: pip install ray failed" >&2
fi
if ! python3 -c 'import ray' 2>/dev/null; then
  echo "SKIP: Tools/ray/test.sh: Ray is not installed and pip install ray failed; the Ray driver was not tested" >&2
  exit 0
fi
export FUTE_BIN=${FUTE_BIN:-.build/release/fute-db}
export FUTE_ENCODER_DIR=${FUTE_ENCODER_DIR:-.build/models/all-MiniLM-L6-v2}
export RAY_USAGE_STATS_ENABLED=0
timeout 300 python3 Tools/ray/test_fute_ray.py -v
