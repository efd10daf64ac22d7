#!/usr/bin/env python3
"""A real 100k cosine benchmark set: TweetEval tweets embedded by fute-db's own MiniLM encoder.

Collects every tweet of a TweetEval checkout (cardiffnlp/tweeteval, `datasets/**/*_text.txt`),
drops empty lines and exact duplicates, shuffles with a fixed seed, keeps --n base tweets and
--queries held-out query tweets, embeds them with `fute-db embed` (mean-pooled, L2-normalised
all-MiniLM-L6-v2, 384-d), and writes the same files as `fute-bench synth` and ../shared/data/minilm-20k:

  OUT/base.fvecs  OUT/query.fvecs  OUT/groundtruth.ivecs (exact cosine top-100, 0-based)
  OUT/texts.jsonl ({"text"} lines: the --n base tweets, then the queries)  OUT/info.json

  python3 Tools/make-tweets.py --tweeteval DIR --fute-db .build/release/fute-db \
      --encoder .build/models/all-MiniLM-L6-v2 --out /tmp/bench/tweets-100k [--n 100000] [--queries 1000]

Needs numpy. Nothing is downloaded: DIR is a local checkout.
"""
import argparse, glob, json, os, random, subprocess, sys
import numpy as np


def write_vecs(path, rows, dtype):
    rows = np.ascontiguousarray(rows, dtype=dtype)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.int32)
    out[:, 0] = rows.shape[1]
    out[:, 1:] = rows.view(np.int32)
    out.tofile(path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tweeteval", required=True, help="local checkout of cardiffnlp/tweeteval")
    p.add_argument("--fute-db", required=True)
    p.add_argument("--encoder", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="OpenBLAS threads for fute-db embed (0: its default)")
    a = p.parse_args()

    files = sorted(glob.glob(os.path.join(a.tweeteval, "datasets", "**", "*_text.txt"), recursive=True))
    if not files:
        sys.exit(f"make-tweets: no datasets/**/*_text.txt under {a.tweeteval}")
    seen, tweets = set(), []
    for f in files:
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                t = line.strip()
                if t and t not in seen:
                    seen.add(t)
                    tweets.append(t)
    need = a.n + a.queries
    if len(tweets) < need:
        sys.exit(f"make-tweets: {len(tweets)} distinct tweets in {len(files)} files, {need} needed")
    random.Random(a.seed).shuffle(tweets)
    base, queries = tweets[: a.n], tweets[a.n : need]
    os.makedirs(a.out, exist_ok=True)
    texts = os.path.join(a.out, "texts.jsonl")
    with open(texts, "w", encoding="utf-8") as fh:
        for t in base:
            fh.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
        for t in queries:
            fh.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    print(f"make-tweets: {len(tweets)} distinct tweets from {len(files)} files; embedding {need}", file=sys.stderr)

    command = [a.fute_db, "embed", "--encoder", a.encoder] + (["--threads", str(a.threads)] if a.threads else []) + [texts]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    vectors = np.empty((need, 384), dtype=np.float32)
    count = 0
    for line in proc.stdout:
        v = json.loads(line)
        if count == 0 and len(v) != vectors.shape[1]:
            vectors = np.empty((need, len(v)), dtype=np.float32)
        vectors[count] = v
        count += 1
        if count % 10_000 == 0:
            print(f"make-tweets: {count}/{need} embedded", file=sys.stderr)
    if proc.wait() != 0 or count != need:
        sys.exit(f"make-tweets: fute-db embed failed ({count} of {need} lines)")

    b, q = vectors[: a.n], vectors[a.n :]
    truth = np.empty((len(q), 100), dtype=np.int32)
    for start in range(0, len(q), 100):
        sims = q[start : start + 100] @ b.T
        top = np.argpartition(-sims, 100, axis=1)[:, :100]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        truth[start : start + 100] = np.take_along_axis(top, order, axis=1)
    write_vecs(os.path.join(a.out, "base.fvecs"), b, np.float32)
    write_vecs(os.path.join(a.out, "query.fvecs"), q, np.float32)
    write_vecs(os.path.join(a.out, "groundtruth.ivecs"), truth, np.int32)
    with open(os.path.join(a.out, "info.json"), "w") as fh:
        json.dump({"source": "cardiffnlp/tweeteval datasets/**/*_text.txt, distinct, shuffled",
                   "seed": a.seed, "base": a.n, "queries": a.queries, "texts": "texts.jsonl: base rows then query rows", "dimension": int(b.shape[1]),
                   "metric": "cosine", "encoder": os.path.basename(os.path.normpath(a.encoder))}, fh, indent=1)
    print(f"make-tweets: wrote {a.out}/base.fvecs ({a.n}×{b.shape[1]}), query.fvecs, groundtruth.ivecs", file=sys.stderr)


if __name__ == "__main__":
    main()
