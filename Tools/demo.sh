#!/usr/bin/env bash
# fute-db demo: builds the CLI (release), ingests the sample task embeddings shipped in samples/
# into a temporary store, and runs a nearest-task query, model selection, transfer ranking and
# the evaluation against observed transfers. Usage: Tools/demo.sh   (no arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
echo "== building fute-db (release)" >&2
swift build -c release --product fute-db >&2
bin="$(swift build -c release --show-bin-path)/fute-db"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export FUTE_DB="$work/demo.db"

step() { printf '\n$ fute-db %s\n' "$*"; "$bin" "$@"; }

step ingest --space tasks samples/tasks.jsonl
step observe samples/observations.jsonl
step stats
step query --space tasks --name topic-3-d05 -k 5
step query --space tasks --name topic-3-d05 -k 3 --kind dataset --where family=topic-1 --json
step query models --space tasks --task topic-3-d05 -k 3
step query transfer --space tasks --target topic-3-d05 -k 5
step eval --space tasks -k 3
