#!/usr/bin/env python3
"""Runs hnswlib and faiss (HNSWFlat) single-threaded on the same files and parameters as a
fute-bench `ann --json` result, prints one table with fute-db/hnswlib ratios, and writes a
recall-QPS plot. Called by Tools/peer-compare.sh."""
import argparse
import json
import time

import numpy as np


def read_vecs(path, dtype):
    raw = np.fromfile(path, dtype=np.int32)
    d = raw[0]
    rows = raw.reshape(-1, d + 1)
    return rows[:, 1:].copy().view(dtype) if dtype == np.float32 else rows[:, 1:].copy()


def read_matrix(path):
    if path.endswith(".npy"):
        return np.ascontiguousarray(np.load(path), dtype=np.float32)
    return np.ascontiguousarray(read_vecs(path, np.float32))


def recalls(found, truth, k):
    at1 = np.mean([f[0] == t[0] for f, t in zip(found, truth)])
    atk = np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth)])
    return float(at1), float(atk)


def time_search(search, queries, runs):
    """Best of `runs` passes over all queries (one batch call, 1 thread); plus per-query
    latencies (single calls: include Python call overhead of a few µs)."""
    found = search(queries)
    best = min(_timed(lambda: search(queries)) for _ in range(runs))
    lat = []
    for q in queries[: min(len(queries), 200)]:
        t0 = time.perf_counter_ns()
        search(q[None, :])
        lat.append((time.perf_counter_ns() - t0) / 1e3)
    return found, len(queries) / best, float(np.percentile(lat, 50)), float(np.percentile(lat, 99))


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def run_hnswlib(base, queries, truth, metric, m, efc, efs, k, runs):
    import hnswlib
    space = {"l2": "l2", "cosine": "cosine", "ip": "ip"}[metric]
    index = hnswlib.Index(space=space, dim=base.shape[1])
    index.init_index(max_elements=len(base), M=m, ef_construction=efc, random_seed=100)
    index.set_num_threads(1)
    t0 = time.perf_counter()
    index.add_items(base, np.arange(len(base)), num_threads=1)
    build = time.perf_counter() - t0
    rows = []
    for ef in efs:
        index.set_ef(max(ef, k))
        found, qps, p50, p99 = time_search(lambda q: index.knn_query(q, k=k, num_threads=1)[0], queries, runs)
        r1, rk = recalls(found, truth, k)
        rows.append({"ef": ef, "recall_at_1": r1, "recall_at_k": rk, "qps": qps, "p50_us": p50, "p99_us": p99})
    return {"build_seconds": build, "results": rows}


def run_faiss(base, queries, truth, metric, m, efc, efs, k, runs):
    import faiss
    faiss.omp_set_num_threads(1)
    if metric == "cosine":
        base = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-30)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-30)
    faiss_metric = faiss.METRIC_L2 if metric == "l2" else faiss.METRIC_INNER_PRODUCT
    index = faiss.IndexHNSWFlat(base.shape[1], m, faiss_metric)
    index.hnsw.efConstruction = efc
    t0 = time.perf_counter()
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    build = time.perf_counter() - t0
    rows = []
    for ef in efs:
        index.hnsw.efSearch = max(ef, k)
        found, qps, p50, p99 = time_search(lambda q: index.search(np.ascontiguousarray(q, dtype=np.float32), k)[1], queries, runs)
        r1, rk = recalls(found, truth, k)
        rows.append({"ef": ef, "recall_at_1": r1, "recall_at_k": rk, "qps": qps, "p50_us": p50, "p99_us": p99})
    return {"build_seconds": build, "results": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--fute-json", required=True, help="output of fute-bench ann --json")
    p.add_argument("--base", required=True)
    p.add_argument("--query", required=True)
    p.add_argument("--truth", required=True)
    p.add_argument("--plot", help="write the recall-QPS plot here (.png or .svg)")
    p.add_argument("--out-json", help="write all results here")
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()

    with open(a.fute_json) as f:
        fute = json.load(f)
    metric, m, efc, k = fute["metric"], fute["m"], fute["ef_construction"], fute["results"][0]["k"]
    efs = [r["ef"] for r in fute["results"]]
    base, queries = read_matrix(a.base), read_matrix(a.query)
    truth = read_vecs(a.truth, np.int32)[: len(queries)]

    peers = {"hnswlib": run_hnswlib(base, queries, truth, metric, m, efc, efs, k, a.runs),
             "faiss": run_faiss(base, queries, truth, metric, m, efc, efs, k, a.runs)}
    name = fute["name"]
    print(f"\n{name}: {len(base)}x{base.shape[1]}, {len(queries)} queries, {metric}, M={m}, efConstruction={efc}, k={k}, 1 thread")
    hb = peers["hnswlib"]["build_seconds"]
    print(f"build s: fute-db(lmdb) {fute['build_seconds']:.2f}  hnswlib {hb:.2f}  faiss {peers['faiss']['build_seconds']:.2f}"
          f"  ratio fute/hnswlib {fute['build_seconds'] / hb:.2f}")
    print(f"{'ef':>5} | {'fute R@10':>9} {'fute QPS':>9} {'p50µs':>6} | {'hnsw R@10':>9} {'hnsw QPS':>9} | {'faiss R@10':>10} {'faiss QPS':>9} | {'QPS fute/hnsw':>13}")
    for fr, hr, xr in zip(fute["results"], peers["hnswlib"]["results"], peers["faiss"]["results"]):
        print(f"{fr['ef']:>5} | {fr['recall_at_k']:>9.4f} {fr['qps']:>9.0f} {fr['p50_us']:>6.1f} | {hr['recall_at_k']:>9.4f} {hr['qps']:>9.0f} |"
              f" {xr['recall_at_k']:>10.4f} {xr['qps']:>9.0f} | {fr['qps'] / hr['qps']:>13.2f}")

    if a.out_json:
        with open(a.out_json, "w") as f:
            json.dump({"fute-db": fute, **peers}, f, indent=1)
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, rows in [("fute-db (LMDB, in place)", fute["results"]), ("hnswlib", peers["hnswlib"]["results"]),
                            ("faiss HNSWFlat", peers["faiss"]["results"])]:
            ax.plot([r["recall_at_k"] for r in rows], [r["qps"] for r in rows], marker="o", label=label)
        ax.set_xlabel(f"recall@{k}")
        ax.set_ylabel("queries per second (1 thread)")
        ax.set_yscale("log")
        ax.set_title(f"{name}: {metric}, M={m}, efConstruction={efc}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(a.plot)
        print(f"plot: {a.plot}")


if __name__ == "__main__":
    main()
