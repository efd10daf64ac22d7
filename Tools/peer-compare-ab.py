#!/usr/bin/env python3
"""Lean, noise-aware fute-db vs hnswlib search comparison (single thread, same files, same run).

Builds one hnswlib index per dataset (kept in this process), then for each repetition runs
every given fute-bench binary (`ann --json`, which builds its LMDB graph and times searches,
best of --runs passes) and times hnswlib (batch knn_query, 1 thread, best of --runs passes)
back to back, alternating which goes first. Reports, per binary and ef, the median of the
per-repetition QPS ratios fute/hnswlib with their min–max spread, and the recalls; with several
binaries, also each one's per-repetition ratio to the first (e.g. a new build against the old).

Build throughput: every repetition also builds a fresh hnswlib index (add_items, 1 thread,
timed) and reads each fute-bench binary's build vectors/s from its JSON (its LMDB graph,
committed every --batch vectors as `fute-bench ann` does); the table's "build" line gives the
median [min–max] of the per-repetition ratios fute vectors/s / hnswlib vectors/s.

  Tools/peer-compare-ab.py --bench NEW=/path/fute-bench [--bench OLD=/path/other] \
      --dataset siftsmall --reps 5 --runs 5 [--efs 16,32,64,128]
  Tools/peer-compare-ab.py --bench NEW=... --set tweets-100k=/tmp/bench/tweets-100k:cosine --reps 3

--small-commits N also times N calls of hnswlib's add_items with 10 vectors into the built index
(the peer of `fute-bench churn`'s 10-insert commit at that size).

--keep DIR searches graphs built once: hnswlib's index is saved as DIR/NAME-hnswlib.bin and each
fute-bench binary's store kept in DIR/NAME-LABEL (`fute-bench ann --keep`), built on the first run
and only searched afterwards (build throughput is then not measured) — for repeated search
comparisons on a 1M set, whose builds take ~15-20 min each.

--set NAME=DIR:METRIC adds a set of your own (DIR/base.fvecs, query.fvecs, groundtruth.ivecs, as
`fute-bench synth` and Tools/make-tweets.py write them).

Needs numpy and hnswlib (e.g. the venv Tools/peer-compare.sh creates).
"""
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np

DATASETS = {
    "siftsmall": ("siftsmall/siftsmall_base.fvecs", "siftsmall/siftsmall_query.fvecs", "siftsmall/siftsmall_groundtruth.ivecs", "l2"),
    "minilm-20k": ("minilm-20k/base.fvecs", "minilm-20k/query.fvecs", "minilm-20k/groundtruth.ivecs", "cosine"),
}


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    rows = raw.reshape(-1, raw[0] + 1)[:, 1:].copy()
    return rows.view(np.float32) if dtype == np.float32 else rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", action="append", required=True, help="LABEL=path to a fute-bench binary")
    p.add_argument("--dataset", action="append", default=[], choices=list(DATASETS))
    p.add_argument("--set", action="append", default=[], help="NAME=DIR:METRIC, a set of your own")
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../shared/data"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--efs", default="16,32,64,128")
    p.add_argument("--m", type=int, default=16)
    p.add_argument("--efc", type=int, default=200)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--batch", type=int, default=1000, help="fute-bench commit batch (vectors per write transaction; fute-db ingest commits 1,000 records at a time)")
    p.add_argument("--keep", metavar="DIR", help="build each graph once into DIR and only search it afterwards (no build figures)")
    p.add_argument("--small-commits", type=int, default=0, metavar="N",
                   help="after the last repetition, time N add_items calls of 10 vectors (the queries, after one warm-up call) "
                        "into the built hnswlib index: the peer of `fute-bench churn`'s 10-insert commit at this size")
    a = p.parse_args()
    sets = {name: tuple(os.path.join(a.data, x) for x in DATASETS[name][:3]) + (DATASETS[name][3],) for name in a.dataset}
    for spec in a.set:
        try:
            name, rest = spec.split("=", 1)
            folder, metric = rest.rsplit(":", 1)
        except ValueError:
            p.error(f"--set {spec}: expected NAME=DIR:METRIC")
        if metric not in ("l2", "cosine", "ip"):
            p.error(f"--set {spec}: metric must be l2, cosine or ip")
        sets[name] = tuple(os.path.join(folder, f) for f in ("base.fvecs", "query.fvecs", "groundtruth.ivecs")) + (metric,)
    if not sets:
        p.error("give at least one --dataset or --set")
    import hnswlib
    benches = [b.split("=", 1) for b in a.bench]
    efs = [int(x) for x in a.efs.split(",")]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    for name, (bf, qf, tf, metric) in sets.items():
        base, queries = read_vecs(bf, np.float32), read_vecs(qf, np.float32)
        if len(queries) < 10 * (a.small_commits + 1) and a.small_commits > 0:
            p.error(f"--small-commits {a.small_commits} adds {10 * (a.small_commits + 1)} query vectors, {name} has {len(queries)}")
        truth = read_vecs(tf, np.int32)[:, : a.k]
        index = None

        def hnsw_build():
            nonlocal index
            index = None
            fresh = hnswlib.Index(space=metric, dim=base.shape[1])
            fresh.init_index(max_elements=len(base), M=a.m, ef_construction=a.efc, random_seed=100)
            fresh.set_num_threads(1)
            t0 = time.perf_counter()
            fresh.add_items(base, np.arange(len(base)), num_threads=1)
            seconds = time.perf_counter() - t0
            index = fresh
            return len(base) / seconds

        def hnsw_kept():
            nonlocal index
            if index is None:
                saved = os.path.join(a.keep, f"{name}-hnswlib.bin")
                if os.path.exists(saved):
                    index = hnswlib.Index(space=metric, dim=base.shape[1])
                    index.load_index(saved, max_elements=len(base))
                    if index.get_current_count() != len(base):
                        p.error(f"--keep: {saved} holds {index.get_current_count()} vectors, {name} has {len(base)}; remove it to rebuild")
                    index.set_num_threads(1)
                else:
                    os.makedirs(a.keep, exist_ok=True)
                    hnsw_build()
                    index.save_index(saved)
            return None

        def hnsw():
            out = {"build": hnsw_kept() if a.keep else hnsw_build()}
            for ef in efs:
                index.set_ef(max(ef, a.k))
                found = index.knn_query(queries, k=a.k, num_threads=1)[0]
                best = float("inf")
                for _ in range(a.runs):
                    t0 = time.perf_counter(); index.knn_query(queries, k=a.k, num_threads=1); best = min(best, time.perf_counter() - t0)
                rec = np.mean([len(set(f) & set(t)) / a.k for f, t in zip(found, truth)])
                out[ef] = (len(queries) / best, rec)
            return out

        def fute(label, path):
            cmd = [path, "ann", "--base", bf, "--query", qf, "--truth", tf, "--metric", metric, "--m", str(a.m),
                   "--ef-construction", str(a.efc), "--ef", a.efs, "-k", str(a.k), "--runs", str(a.runs),
                   "--batch", str(a.batch), "--json"]
            if a.keep:
                cmd += ["--keep", os.path.join(a.keep, f"{name}-{label}")]
            r = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            j = json.loads(r.stdout[r.stdout.index("{"):])
            out = {row["ef"]: (row["qps"], row["recall_at_k"]) for row in j["results"]}
            out["build"] = j["vectors_per_second"]
            disk[path] = (j["file_bytes_per_vector"], j["index_bytes_per_vector"])
            return out

        disk = {}
        keys = efs + ([] if a.keep else ["build"])  # kept graphs are not built in the timed runs
        ratios = {lab: {key: [] for key in keys} for lab, _ in benches}
        first = benches[0][0]
        to_first = {lab: {key: [] for key in keys} for lab, _ in benches[1:]}
        recalls = {}
        qps = {lab: {key: [] for key in keys} for lab, _ in benches + [("hnswlib", None)]}
        for rep in range(a.reps):
            order = benches if rep % 2 == 0 else list(reversed(benches))
            h_before = hnsw() if rep % 2 == 0 else None
            res = {lab: fute(lab, path) for lab, path in order}
            h = h_before or hnsw()
            if "build" in keys:
                qps["hnswlib"]["build"].append(h["build"])
                for lab, _ in benches:
                    qps[lab]["build"].append(res[lab]["build"]); ratios[lab]["build"].append(res[lab]["build"] / h["build"])
            for lab, _ in benches[1:]:
                for key in keys:
                    got, base_ = (res[lab][key], res[first][key]) if key == "build" else (res[lab][key][0], res[first][key][0])
                    to_first[lab][key].append(got / base_)
            for ef in efs:
                qps["hnswlib"][ef].append(h[ef][0]); recalls["hnswlib", ef] = h[ef][1]
                for lab, _ in benches:
                    ratios[lab][ef].append(res[lab][ef][0] / h[ef][0])
                    qps[lab][ef].append(res[lab][ef][0]); recalls[lab, ef] = res[lab][ef][1]
            print(f"# {name} rep {rep + 1}/{a.reps} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        small = None
        if a.small_commits > 0:
            rows = queries[: 10 * (a.small_commits + 1)]
            index.resize_index(len(base) + len(rows))
            times = []
            for i in range(0, len(rows), 10):
                t0 = time.perf_counter()
                index.add_items(rows[i : i + 10], np.arange(len(base) + i, len(base) + i + 10), num_threads=1)
                times.append((time.perf_counter() - t0) * 1000)
            times = sorted(times[1:])
            small = (statistics.median(times), times[int(0.9 * (len(times) - 1))])
        print(f"\n{name} ({len(base)}x{base.shape[1]}, {len(queries)} queries, {metric}, M={a.m}, efC={a.efc}, k={a.k}); "
              f"{a.reps} alternating reps, each best of {a.runs} passes; load avg now {os.getloadavg()[0]:.1f}")
        hdr = f"{'ef':>4} | {'hnsw R@k':>8} {'hnsw QPS med':>12}"
        for lab, _ in benches: hdr += f" | {lab + ' R@k':>10} {lab + ' QPS med':>14} {'ratio med [min–max]':>22}"
        print(hdr)
        for ef in efs:
            line = f"{ef:>4} | {recalls['hnswlib', ef]:>8.4f} {statistics.median(qps['hnswlib'][ef]):>12.0f}"
            for lab, _ in benches:
                r = ratios[lab][ef]
                line += f" | {recalls[lab, ef]:>10.4f} {statistics.median(qps[lab][ef]):>14.0f} {statistics.median(r):>8.2f} [{min(r):.2f}–{max(r):.2f}]"
            print(line, flush=True)
        if "build" not in keys:
            print(f"build: not measured (graphs kept in {a.keep})", flush=True)
        else:
            line = f"{'build vectors/s':>15} {statistics.median(qps['hnswlib']['build']):>10.0f}"
            for lab, _ in benches:
                r = ratios[lab]["build"]
                line += f" | {'':>10} {statistics.median(qps[lab]['build']):>14.0f} {statistics.median(r):>8.2f} [{min(r):.2f}–{max(r):.2f}]"
            print(line + f"   (fute commit batch {a.batch})", flush=True)
        if small:
            print(f"hnswlib 10-vector add_items into {len(base)} nodes: median {small[0]:.2f} ms [p90 {small[1]:.2f}] over {a.small_commits} calls", flush=True)
        for lab, path in benches:
            f, i = disk[path]
            print(f"{lab} store after the build: {f:.0f} file bytes/vector, {i:.0f} index bytes/vector, file/index {f / i:.2f}", flush=True)
        if to_first:
            print(f"per-repetition ratio to {first}, median [min–max]:")
            for key in keys:
                line = f"{('ef ' + str(key)) if key != 'build' else 'build':>9}"
                for lab in to_first:
                    r = to_first[lab][key]
                    line += f" | {lab}: {statistics.median(r):.2f} [{min(r):.2f}–{max(r):.2f}]"
                print(line, flush=True)


if __name__ == "__main__":
    main()
