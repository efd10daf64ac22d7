#!/usr/bin/env bash
# Compares encoder throughput: fute-db's Swift encoder (`fute-bench encoder`) vs PyTorch
# (transformers, CPU) on the same inputs with the same thread count, in the same run.
# NOT run in CI: torch is a large download.
#
#   Tools/compare-encoder-torch.sh [FILE.jsonl ...]
#
# Default inputs: the first 500 lines of ../shared/data/tasks/sst2.jsonl (single sentences) and of
# ../shared/data/tasks/snli.jsonl (sentence pairs, `text_pair`). Environment:
#   FUTE_ENCODER_DIR   the weights (default .build/models/all-MiniLM-L6-v2; fetched if absent)
#   FUTE_SHARED_DIR    where data/tasks lives (default ../shared)
#   FUTE_TORCH_VENV    a venv with torch + transformers (default .build/torch-venv). An existing venv
#                      that can import both is used as is; otherwise one is made: torch from the CPU
#                      wheel index (~200 MB) if it answers, else from plain PyPI (~5 GB with CUDA libs,
#                      which run fine on a CPU). FUTE_TORCH_INDEX overrides the CPU index URL.
#   THREADS            thread counts to compare (default "1 2")
#   REPS               repetitions; each repetition runs swift then torch for every input/thread
#                      count, alternating, so both sides see the same machine load (default 3)
#   LIMIT              lines per input file (default 500)
#   SKIP_BUILD=1       use the existing .build/release binaries
#   SWIFT_BASELINE     another fute-bench binary (e.g. a build of an older commit) measured in the
#                      same alternation: adds "swift (baseline)" columns to the table
#
# Both sides do the same work per pass, and a pass is what is timed: tokenization (WordPiece,
# [CLS]/[SEP], pairs jointly with token type ids, longest-first truncation at 256 tokens), the
# forward pass in float32, mean pooling over the attention mask, L2 normalisation, results in input
# order. Inputs sorted by length as sentence-transformers does; PyTorch runs padded batches of 32
# (sentence-transformers' default), Swift its own packed batches (no padded positions). Each
# measurement = one process: model load, one warm-up pass, median of 3 timed passes. Thread count:
# Swift = OpenBLAS threads (tokenization is single-threaded); PyTorch = torch.set_num_threads +
# OMP/MKL, and the Rust tokenizer's rayon pool is capped to the same count (it would otherwise use
# every core). Before timing, the script checks the two sides compute the same thing: the Swift
# embeddings (`fute-db embed`) against PyTorch's, worst cosine over every input.
#
# Output: one table, median [min–max] sentences/s over REPS, and swift/torch = ratio of medians.
set -euo pipefail
cd "$(dirname "$0")/.."
encoder=${FUTE_ENCODER_DIR:-.build/models/all-MiniLM-L6-v2}
shared=${FUTE_SHARED_DIR:-../shared}
threads_list=${THREADS:-1 2}
reps=${REPS:-3}
limit=${LIMIT:-500}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

inputs=()
if [[ $# -gt 0 ]]; then
  for f in "$@"; do
    [[ -f "$f" ]] || { echo "error: no input file $f" >&2; exit 64; }
    name=$(basename "$f" .jsonl)
    head -n "$limit" "$f" > "$work/$name.jsonl"
    inputs+=("$work/$name.jsonl")
  done
else
  for t in sst2 snli; do
    src=$shared/data/tasks/$t.jsonl
    [[ -f "$src" ]] || { echo "error: no $src; set FUTE_SHARED_DIR or pass input files" >&2; exit 64; }
    head -n "$limit" "$src" > "$work/$t.jsonl"
    inputs+=("$work/$t.jsonl")
  done
fi
[[ -f "$encoder/model.safetensors" ]] || Tools/fetch-minilm.sh "$encoder"

venv=${FUTE_TORCH_VENV:-.build/torch-venv}
if ! "$venv/bin/python" -c 'import torch, transformers' 2>/dev/null; then
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  index=${FUTE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
  if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=10)" "$index" 2>/dev/null; then
    echo "installing torch from $index (CPU wheels)" >&2
    "$venv/bin/pip" install --quiet --index-url "$index" --extra-index-url https://pypi.org/simple torch
  else
    echo "$index is not reachable; installing torch from PyPI (large: CUDA libraries included)" >&2
    "$venv/bin/pip" install --quiet torch
  fi
  "$venv/bin/pip" install --quiet transformers
fi

if [[ -z "${SKIP_BUILD:-}" ]]; then
  FUTE_NATIVE=${FUTE_NATIVE:-1} swift build -c release --product fute-bench >&2
  FUTE_NATIVE=${FUTE_NATIVE:-1} swift build -c release --product fute-db >&2
fi

cat > "$work/torch_bench.py" <<'PY'
import json, statistics, sys, time
import torch
from transformers import AutoModel, AutoTokenizer

mode, encoder, path, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
torch.set_num_threads(threads)
rows = [json.loads(l) for l in open(path) if l.strip()]
texts = [(r["text"], r.get("text_pair")) for r in rows]
tok = AutoTokenizer.from_pretrained(encoder)
model = AutoModel.from_pretrained(encoder, dtype=torch.float32).eval()
# sentence-transformers: sort by character length (sum over a pair), longest first, batches of 32.
order = sorted(range(len(texts)), key=lambda i: -(len(texts[i][0]) + len(texts[i][1] or "")))

def run():
    out = [None] * len(texts)
    with torch.inference_mode():
        for s in range(0, len(order), 32):
            idx = order[s:s + 32]
            firsts = [texts[i][0] for i in idx]
            pairs = [texts[i][1] for i in idx] if any(texts[i][1] is not None for i in idx) else None
            enc = tok(firsts, pairs, padding=True, truncation="longest_first", max_length=256, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(emb, p=2, dim=1)
            for j, i in enumerate(idx):
                out[i] = emb[j]
    return out

if mode == "check":
    swift = [json.loads(l) for l in open(sys.argv[5]) if l.strip()]
    ref = run()
    assert len(swift) == len(ref), f"swift gave {len(swift)} embeddings for {len(ref)} inputs"
    worst = min(float(torch.dot(torch.tensor(s), r)) for s, r in zip(swift, ref))
    print(f"{worst:.7f}")
else:
    run()
    times = []
    for _ in range(3):
        t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
    print(json.dumps({"sentences_per_second": len(texts) / statistics.median(times), "torch": torch.__version__}))
PY

torch_env() { # the thread cap for torch, its OpenMP/MKL pools and the tokenizer's rayon pool; quiet loading
  OMP_NUM_THREADS=$1 MKL_NUM_THREADS=$1 RAYON_NUM_THREADS=$1 RAYON_RS_NUM_CPUS=$1 TOKENIZERS_PARALLELISM=true \
    TRANSFORMERS_VERBOSITY=error HF_HUB_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1 "${@:2}"
}

echo "checking that both sides compute the same embeddings…" >&2
for f in "${inputs[@]}"; do
  name=$(basename "$f" .jsonl)
  .build/release/fute-db embed --encoder "$encoder" "$f" > "$work/$name.swift.jsonl"
  worst=$(torch_env 2 "$venv/bin/python" "$work/torch_bench.py" check "$encoder" "$f" 2 "$work/$name.swift.jsonl")
  echo "  $name: worst cosine swift vs torch over $(wc -l < "$f") inputs = $worst" >&2
  echo "$name $worst" >> "$work/check.txt"
done

: > "$work/results.txt"
for ((r = 1; r <= reps; r++)); do
  for f in "${inputs[@]}"; do
    name=$(basename "$f" .jsonl)
    for t in $threads_list; do
      s=$(OPENBLAS_NUM_THREADS=$t .build/release/fute-bench encoder --encoder "$encoder" --input "$f" --limit "$limit" \
            --threads "$t" --runs 3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["sentences_per_second"])')
      b=-
      if [[ -n "${SWIFT_BASELINE:-}" ]]; then
        b=$(OPENBLAS_NUM_THREADS=$t "$SWIFT_BASELINE" encoder --encoder "$encoder" --input "$f" --limit "$limit" \
              --threads "$t" --runs 3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["sentences_per_second"])')
      fi
      p=$(torch_env "$t" "$venv/bin/python" "$work/torch_bench.py" bench "$encoder" "$f" "$t" \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["sentences_per_second"])')
      echo "$name $t $s $p $b" >> "$work/results.txt"
      printf '  rep %d/%d %-6s %d thread(s): swift %7.1f  torch %7.1f  baseline %s sentences/s\n' "$r" "$reps" "$name" "$t" "$s" "$p" "$b" >&2
    done
  done
done

torch_version=$("$venv/bin/python" -c 'import torch; print(torch.__version__)')
python3 - "$work/results.txt" "$work/check.txt" "$torch_version" "$reps" "$limit" <<'PY'
import statistics, sys
results, check, version, reps, limit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
cos = dict(l.split() for l in open(check))
rows = {}
for line in open(results):
    name, t, s, p, b = line.split()
    row = rows.setdefault((name, int(t)), ([], [], []))
    row[0].append(float(s)); row[1].append(float(p))
    if b != "-": row[2].append(float(b))
baseline = any(r[2] for r in rows.values())
def fmt(v): return f"{statistics.median(v):.0f} [{min(v):.0f}–{max(v):.0f}]"
def ratio(a, b): return f"{statistics.median(a) / statistics.median(b):.2f}"
print(f"sentences/s, median [min–max] of {reps} alternating runs, first {limit} lines; torch {version}")
print()
extra = " swift (baseline) | baseline/torch |" if baseline else ""
print("| input | threads | swift | torch | swift/torch |" + extra + " worst cosine swift vs torch |")
print("|---|---|---|---|---|" + ("---|---|" if baseline else "") + "---|")
for (name, t), (s, p, b) in rows.items():
    extra = f" {fmt(b)} | {ratio(b, p)} |" if baseline else ""
    print(f"| {name} | {t} | {fmt(s)} | {fmt(p)} | {ratio(s, p)} |" + extra + f" {cos[name]} |")
PY
