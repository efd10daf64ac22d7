#!/usr/bin/env bash
# Compares encoder throughput: fute-db's Swift encoder vs PyTorch (transformers, CPU) on the same
# sentences with the same thread count. NOT run in CI: torch from PyPI is large (the CPU wheel
# index keeps it to ~200 MB, still a download).
#
#   Tools/compare-encoder-torch.sh [SENTENCES.jsonl] [THREADS]
#
# Defaults: the first 500 lines of ../shared/data/tasks/sst2.jsonl, 1 thread. Needs the weights in
# .build/models/all-MiniLM-L6-v2 (Tools/fetch-minilm.sh) or FUTE_ENCODER_DIR; builds fute-db in release.
# Both sides: tokenization included, one warm-up pass, median of 3 timed passes, max length 256,
# mean pooling + L2 normalisation; PyTorch batches of 32 sorted by length (as sentence-transformers does).
set -euo pipefail
cd "$(dirname "$0")/.."
encoder=${FUTE_ENCODER_DIR:-.build/models/all-MiniLM-L6-v2}
threads=${2:-1}
input=${1:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -z "$input" ]]; then
  head -n 500 ../shared/data/tasks/sst2.jsonl > "$work/sentences.jsonl"
  input=$work/sentences.jsonl
fi
[[ -f "$encoder/model.safetensors" ]] || Tools/fetch-minilm.sh "$encoder"

venv=${FUTE_TORCH_VENV:-.build/torch-venv}
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  # The CPU-only wheel index keeps the download small; set FUTE_TORCH_INDEX to use another (e.g. a mirror).
  "$venv/bin/pip" install --quiet --index-url "${FUTE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" \
    --extra-index-url https://pypi.org/simple torch
  "$venv/bin/pip" install --quiet transformers
fi

swift build -c release --product fute-db >/dev/null
echo "swift:"
OPENBLAS_NUM_THREADS=$threads .build/release/fute-db embed --encoder "$encoder" --benchmark --threads "$threads" "$input"

echo "torch:"
OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads "$venv/bin/python" - "$encoder" "$input" "$threads" <<'PY'
import json, sys, time, statistics
import torch
from transformers import AutoTokenizer, AutoModel
encoder, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
rows = [json.loads(l) for l in open(path) if l.strip()]
texts = [(r["text"], r.get("text_pair")) for r in rows]
tok = AutoTokenizer.from_pretrained(encoder)
model = AutoModel.from_pretrained(encoder).eval()
order = sorted(range(len(texts)), key=lambda i: len(texts[i][0]) + len(texts[i][1] or ""))
def run():
    with torch.inference_mode():
        for s in range(0, len(order), 32):
            batch = [texts[i] for i in order[s:s+32]]
            firsts = [t for t, _ in batch]
            pairs = [p for _, p in batch] if any(p is not None for _, p in batch) else None
            enc = tok(firsts, pairs, padding=True, truncation="longest_first", max_length=256, return_tensors="pt")
            out = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            emb = (out * mask).sum(1) / mask.sum(1)
            torch.nn.functional.normalize(emb, dim=1)
run()
times = []
for _ in range(3):
    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
m = statistics.median(times)
print(f"torch {torch.__version__}: {len(texts)} sentences, {threads} thread(s): {m:.3f} s/pass, {len(texts)/m:.1f} sentences/s")
PY
