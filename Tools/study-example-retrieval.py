#!/usr/bin/env python3
"""Offline study of example-retrieval transfer similarities on TaskWeb's real transfers.

Reproduces the "tried and dropped" rows of the README's transferability section: for each seed it
draws 300 examples per task from ../shared/data/transfer/tasks, embeds them with the Swift encoder
(`fute-db embed`, cached in --work), and scores every dev target's 21 sources by

  shipped   the store's rule at the default depth: each target example's 100 nearest examples of
            other tasks; a source scores the mean of its 10 best among them, missing ones counted
            at the 100th similarity (ExampleRetrieval in Sources/FuteDB/Query);
  exact10   the exact mean of each source's 10 best similarities (no depth);
  max       the exact best similarity (the published RoE's pooling);
  sym       exact10 plus the same with source and target swapped;
  options   the published RoE's input format: one string per example, "<answer options></s><input>"
            (the task's label names, or the example's choices), pooled with max.

NDCG@3 uses TaskWeb's gains (relevance n - gold rank, gain 2^rel - 1); "+ observed" is the store's
blend (zsim + zpred over the 5 other dev targets ranked most similar, leave-one-target-out). The
published RoE and TaskShop/RoE scores are evaluated by the same code as a check (0.545 / 0.643).

  python3 Tools/study-example-retrieval.py --fute-db .build/release/fute-db \
      --encoder .build/models/all-MiniLM-L6-v2 --transfer ../shared/data/transfer --seeds 0,1,2
"""
import argparse
import collections
import json
import math
import os
import random
import subprocess
import sys

import numpy as np

METRICS = ["taskweb-t5l", "taskweb-roberta", "taskweb-average"]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def sample(tasks_dir, seed, count):
    tasks = sorted(name[:-6] for name in os.listdir(tasks_dir) if name.endswith(".jsonl"))
    out = {}
    for task in tasks:
        lines = read_jsonl(os.path.join(tasks_dir, task + ".jsonl"))
        rng = random.Random(f"{seed}:{task}")
        out[task] = lines if len(lines) <= count else rng.sample(lines, count)
    return out


def store_inputs(examples):
    """What `ingest --method examples` embeds: (text, text_pair), each (text, choice) of a choice line."""
    for i, x in enumerate(examples):
        if "choices" in x:
            for choice in x["choices"]:
                yield i, {"text": x["text"], "text_pair": choice}
        else:
            yield i, {k: x[k] for k in ("text", "text_pair") if k in x}


def option_inputs(examples):
    """The published RoE's format: f"{choices}</s>{input}" with the answer options first."""
    labels = sorted({str(x["label"]) for x in examples if "label" in x and "choices" not in x})
    for i, x in enumerate(examples):
        options = x["choices"] if "choices" in x else labels
        body = x["text"] + ("\n" + x["text_pair"] if "text_pair" in x else "")
        yield i, {"text": f"{options if options else None}</s>{body}"}


def embed(rows, path, fute_db, encoder):
    if not os.path.exists(path):
        source = path + ".in.jsonl"
        with open(source, "w") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        with open(path + ".tmp", "w") as out:
            subprocess.run([fute_db, "embed", "--encoder", encoder, source], stdout=out, check=True)
        os.replace(path + ".tmp", path)
    matrix = np.array([json.loads(line) for line in open(path)], dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def vectors(sampled, inputs, path, args):
    owners, rows = [], []
    for task, examples in sampled.items():
        for _, row in inputs(examples):
            owners.append(task)
            rows.append(row)
    return embed(rows, path, args.fute_db, args.encoder), np.array(owners)


def similarities(matrix, owners, rule):
    tasks = sorted(set(owners))
    rows = {t: np.where(owners == t)[0] for t in tasks}
    scores = {}
    for target in tasks:
        q = matrix[rows[target]]
        scores[target] = {}
        if rule == "shipped":
            others = np.where(owners != target)[0]
            sims = q @ matrix[others].T
            top = np.argsort(-sims, axis=1)[:, :100]
            per = {s: 0.0 for s in tasks if s != target}
            for r in range(len(q)):
                floor = sims[r, top[r, -1]]
                best = collections.defaultdict(list)
                for j in top[r]:
                    if len(best[owners[others[j]]]) < 10:
                        best[owners[others[j]]].append(sims[r, j])
                for s in per:
                    got = best.get(s, [])
                    per[s] += (sum(got) + (10 - len(got)) * floor) / 10
            scores[target] = {s: v / len(q) for s, v in per.items()}
            continue
        for source in tasks:
            if source == target:
                continue
            sims = q @ matrix[rows[source]].T
            k = min(10, sims.shape[1])
            if rule == "max":
                value = sims.max(axis=1).mean()
            elif rule == "exact10":
                value = np.sort(sims, axis=1)[:, -k:].mean()
            else:  # sym
                back = min(10, sims.shape[0])
                value = np.sort(sims, axis=1)[:, -k:].mean() + np.sort(sims, axis=0)[-back:, :].mean()
            scores[target][source] = float(value)
    return scores


def ndcg(predicted, gold, k=3):
    sources = sorted(gold)
    n = len(sources)
    gold_order = sorted(sources, key=lambda s: (-gold[s], s))
    relevance = {s: n - i for i, s in enumerate(gold_order)}
    order = sorted(sources, key=lambda s: (-predicted.get(s, -math.inf), s))
    dcg = sum((2 ** relevance[s] - 1) / math.log2(i + 2) for i, s in enumerate(order[:k]))
    ideal = sum((2 ** relevance[s] - 1) / math.log2(i + 2) for i, s in enumerate(gold_order[:k]))
    return dcg / ideal


def zscores(values):
    a = np.array(list(values.values()))
    spread = a.std() or 1.0
    return {key: (v - a.mean()) / spread for key, v in values.items()}


def blended(scores, observed, neighbours=5):
    """zsim + zpred, the target's own observations hidden (the store's blend)."""
    out = {}
    for target in observed:
        candidates = scores[target]
        zsim = zscores(candidates)
        pivots = sorted((t for t in observed if t != target and t in candidates), key=lambda t: -candidates[t])[:neighbours]
        predicted = {}
        for source in candidates:
            evidence = [zscores(observed[p])[source] for p in pivots if source in observed[p]]
            if evidence:
                predicted[source] = float(np.mean(evidence))
        zpred = zscores(predicted) if len(predicted) > 1 else {}
        out[target] = {s: zsim[s] + zpred.get(s, 0.0) for s in candidates}
    return out


def evaluate(scores, observed):
    return float(np.mean([ndcg(scores[t], observed[t]) for t in sorted(observed)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fute-db", required=True)
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--transfer", required=True, help="the TaskWeb folder (tasks/, observed.jsonl, baselines-dev.json)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--work", default=".build/study-example-retrieval", help="embedding cache")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)

    observed = {m: collections.defaultdict(dict) for m in METRICS}
    for row in read_jsonl(os.path.join(args.transfer, "observed.jsonl")):
        if row["metric"] in observed:
            observed[row["metric"]][row["target"]][row["source"]] = row["score"]

    rows = collections.defaultdict(list)
    with open(os.path.join(args.transfer, "baselines-dev.json")) as f:
        published = json.load(f)
    for name in ("roe", "taskshop_roe"):
        rows["published " + name].append([evaluate(published[name], observed[m]) for m in METRICS] + [math.nan] * 3)
    rows["published roe"][0][3:] = [evaluate(blended(published["roe"], observed[m]), observed[m]) for m in METRICS]

    for seed in (int(s) for s in args.seeds.split(",")):
        sampled = sample(os.path.join(args.transfer, "tasks"), seed, args.examples)
        pairs = vectors(sampled, store_inputs, os.path.join(args.work, f"pairs-{seed}.jsonl"), args)
        options = vectors(sampled, option_inputs, os.path.join(args.work, f"options-{seed}.jsonl"), args)
        for name, (matrix, owners), rule in [("shipped", pairs, "shipped"), ("exact10", pairs, "exact10"),
                                             ("max", pairs, "max"), ("sym", pairs, "sym"), ("options", options, "max")]:
            scores = similarities(matrix, owners, rule)
            row = [evaluate(scores, observed[m]) for m in METRICS] + [evaluate(blended(scores, observed[m]), observed[m]) for m in METRICS]
            rows[name].append(row)
            print(f"seed {seed} {name:8s} " + " ".join(f"{v:.3f}" for v in row), file=sys.stderr, flush=True)

    print("NDCG@3 on the dev targets (mean over seeds): T5-large RoBERTa average | + observed (LOTO)")
    for name, values in rows.items():
        mean = np.array(values, dtype=float).mean(axis=0)
        print(f"{name:22s} " + " ".join(f"{v:.3f}" for v in mean[:3]) + " | " + " ".join("  -  " if math.isnan(v) else f"{v:.3f}" for v in mean[3:]))


if __name__ == "__main__":
    main()
