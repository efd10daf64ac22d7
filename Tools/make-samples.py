#!/usr/bin/env python3
"""Builds the demo data in Tools/samples/ (run once; outputs are checked in; fixed seed).

- Tools/samples/tasks.jsonl: 240 dataset subjects + 24 model subjects in one 48-d space.
  Datasets are TextEmb-style embeddings: the mean of 60 real all-MiniLM-L6-v2 sentence
  embeddings (../shared/data/minilm-20k/base.fvecs), 85% drawn from one topic cluster (k-means,
  8 clusters = 8 "families") and 15% from the others, then projected to 48-d by PCA and
  L2-normalised. Models are synthetic MTEs: a family centroid plus noise, with a prompt in meta.
- Tools/samples/observations.jsonl: synthetic observed transfers for 40 targets (5 per family), each
  with 15 of 40 "pool" sources: score = 0.55 + 0.12·[same family] + 0.05·quality(source) + N(0, 0.02),
  where quality is a hidden per-source property (think: source size/cleanliness) that the
  embeddings do not encode. Similarity can find the family effect; only observed transfers on
  neighbouring targets reveal quality — which is what the blended score is meant to use.

Usage: /tmp/skl-venv/bin/python Tools/make-samples.py ../shared/data/minilm-20k
"""
import json
import sys
import numpy as np

root = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/minilm-20k"
raw = np.fromfile(f"{root}/base.fvecs", dtype="<i4")
dim = raw[0]
base = raw.reshape(-1, dim + 1)[:, 1:].view("<f4").astype(np.float64)
texts = [json.loads(l)["text"] for l in open(f"{root}/texts.jsonl")][: len(base)]

rng = np.random.default_rng(7)
K = 8
centroids = base[rng.choice(len(base), K, replace=False)]
for _ in range(25):
    labels = np.argmax(base @ centroids.T, axis=1)          # spherical k-means (unit vectors)
    for c in range(K):
        m = base[labels == c].mean(axis=0)
        centroids[c] = m / np.linalg.norm(m)
families = [f"topic-{c}" for c in range(K)]
members = [np.flatnonzero(labels == c) for c in range(K)]
examples = {families[c]: texts[members[c][0]] for c in range(K)}

names, kinds, metas, vectors = [], [], [], []
for c in range(K):
    for j in range(30):
        own = rng.choice(members[c], 51, replace=False)
        other = rng.choice(np.flatnonzero(labels != c), 9, replace=False)
        v = base[np.concatenate([own, other])].mean(axis=0)
        names.append(f"{families[c]}-d{j:02d}"); kinds.append("dataset")
        metas.append({"family": families[c], "examples": 60}); vectors.append(v)
dataset_matrix = np.array(vectors)
mean = dataset_matrix.mean(axis=0)
_, _, vt = np.linalg.svd(dataset_matrix - mean, full_matrices=False)
projection = vt[:48].T

def project(v):
    p = (v - mean) @ projection
    return p / np.linalg.norm(p)

vectors = [project(v) for v in vectors]
family_centroid = {f: np.mean([v for v, m in zip(vectors, metas) if m["family"] == f], axis=0) for f in families}
prompts = ["Classify the text.", "What is the topic of this text?", "Answer with one word."]
for i in range(24):
    f = families[i % K]
    v = family_centroid[f] + rng.normal(0, 0.08, 48)
    names.append(f"model-{i:02d}"); kinds.append("model")
    metas.append({"family": f, "model_family": ["bert", "t5", "llama"][i % 3], "prompt": prompts[(i // K) % 3]})
    vectors.append(v / np.linalg.norm(v))

with open("Tools/samples/tasks.jsonl", "w") as out:
    for n, k, m, v in zip(names, kinds, metas, vectors):
        out.write(json.dumps({"name": n, "kind": k, "meta": m, "vector": [float(f"{x:.5g}") for x in v]}) + "\n")

dataset_names = names[:240]
family_of = {n: m["family"] for n, m in zip(names, metas)}
pool = list(rng.choice(dataset_names, 40, replace=False))
quality = {s: float(rng.normal()) for s in pool}
targets = [n for c in range(K) for n in rng.choice([d for d in dataset_names if family_of[d] == families[c] and d not in pool], 5, replace=False)]
with open("Tools/samples/observations.jsonl", "w") as out:
    for t in targets:
        for s in rng.choice(pool, 15, replace=False):
            score = 0.55 + 0.12 * (family_of[s] == family_of[t]) + 0.05 * quality[s] + rng.normal(0, 0.02)
            out.write(json.dumps({"source": str(s), "target": str(t), "score": round(float(score), 4)}) + "\n")
print(json.dumps(examples, indent=1), file=sys.stderr)
