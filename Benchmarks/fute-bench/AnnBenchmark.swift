import Foundation
import Index
import Kernels
import Storage

/// What one `ann` run measures.
struct AnnResult {
    var name: String
    var rows: Int
    var dimension: Int
    var queries: Int
    var metric: Metric
    var parameters: HNSWParameters
    var store: String
    var commitBatch: Int
    var buildSeconds: Double
    var fileBytes: Int = 0
    var indexBytes: Int = 0
    var openMilliseconds: Double = 0
    var firstQueryMilliseconds: Double = 0
    var rows_: [[String: Any]] = []

    /// The vectors' encoding in the graph (the in-memory store keeps Floats).
    var encoding: VectorEncoding { store.hasPrefix("lmdb") ? parameters.encoding ?? .preferred(for: metric) : .float32 }

    var json: [String: Any] {
        [
            "name": name, "rows": rows, "dimension": dimension, "queries": queries, "metric": metric.rawValue,
            "m": parameters.m, "ef_construction": parameters.efConstruction, "store": store, "commit_batch": commitBatch,
            "build_seconds": buildSeconds, "vectors_per_second": buildSeconds > 0 ? Double(rows) / buildSeconds : NSNull(),
            "file_bytes_per_vector": Double(fileBytes) / Double(rows), "index_bytes_per_vector": Double(indexBytes) / Double(rows),
            "open_ms": openMilliseconds, "first_query_ms": firstQueryMilliseconds, "results": rows_,
            "kernels": KernelVariant.active.rawValue, "encoding": encoding.rawValue,
        ]
    }

    func printTable() {
        print("fute-db ann: \(name) \(rows)×\(dimension), \(queries) queries, metric \(metric.rawValue), M=\(parameters.m), efConstruction=\(parameters.efConstruction), store=\(store), vectors \(encoding.rawValue), commit batch \(commitBatch)")
        if buildSeconds > 0 {
            print(String(format: "build: %.2f s (%.0f vectors/s)", buildSeconds, Double(rows) / buildSeconds))
        } else {
            print("build: none (the kept graph was searched)")
        }
        if store.hasPrefix("lmdb") {
            print(String(format: "disk: %.0f bytes/vector file, %.0f bytes/vector index pages; open %.3f ms, first query %.3f ms",
                         Double(fileBytes) / Double(rows), Double(indexBytes) / Double(rows), openMilliseconds, firstQueryMilliseconds))
        }
        print("ef      recall@1  recall@10  QPS(1 thread)  p50 µs   p99 µs")
        for r in rows_ {
            print(String(format: "%-7d %-9.4f %-10.4f %-14.0f %-8.1f %-8.1f",
                         r["ef"] as? Int ?? 0, r["recall_at_1"] as? Double ?? 0, r["recall_at_k"] as? Double ?? 0,
                         r["qps"] as? Double ?? 0, r["p50_us"] as? Double ?? 0, r["p99_us"] as? Double ?? 0))
        }
    }
}

/// Recall@1 (top hit is the true nearest) and recall@k (overlap of the top k with the true top k).
func recalls(_ got: [[Int]], _ truth: [[Int]], k: Int) -> (Double, Double) {
    var at1 = 0, atK = 0
    for (g, t) in zip(got, truth) {
        if let first = g.first, first == t.first { at1 += 1 }
        atK += Set(g.prefix(k)).intersection(t.prefix(k)).count
    }
    return (Double(at1) / Double(max(1, got.count)), Double(atK) / Double(max(1, got.count * k)))
}

/// Times every query at each ef: warm-up pass, then `runs` passes; the best pass is reported.
func timeQueries(queries: Matrix, efs: [Int], k: Int, truth: [[Int]], runs: Int,
                 search: (UnsafePointer<Float>, Int) throws -> [Int]) throws -> [[String: Any]] {
    var out: [[String: Any]] = []
    try queries.values.withUnsafeBufferPointer { qb in
        let base = qb.baseAddress!  // safe: at least one query was loaded
        for ef in efs {
            var got: [[Int]] = []
            for i in 0..<queries.rows { got.append(try search(base + i * queries.dimension, ef)) }  // warm-up, and recall
            var best: (total: Double, latencies: [Double])?
            for _ in 0..<runs {
                var latencies: [Double] = []
                latencies.reserveCapacity(queries.rows)
                let start = nanoseconds()
                for i in 0..<queries.rows {
                    let t0 = nanoseconds()
                    _ = try search(base + i * queries.dimension, ef)
                    latencies.append(Double(nanoseconds() - t0) / 1e3)
                }
                let total = Double(nanoseconds() - start) / 1e9
                if best == nil || total < best!.total { best = (total, latencies) }
            }
            let (r1, rk) = recalls(got, truth, k: k)
            out.append(["ef": ef, "recall_at_1": r1, "recall_at_k": rk, "k": k,
                        "qps": Double(queries.rows) / best!.total,
                        "p50_us": percentile(best!.latencies, 50), "p99_us": percentile(best!.latencies, 99)])
        }
    }
    return out
}

func directorySize(_ path: String) -> Int {
    let fm = FileManager.default
    guard let files = try? fm.contentsOfDirectory(atPath: path) else { return 0 }
    return files.reduce(0) { total, f in
        total + ((try? fm.attributesOfItem(atPath: path + "/" + f)[.size] as? Int) ?? 0)
    }
}

func temporaryDirectory(_ tag: String) -> String {
    NSTemporaryDirectory() + "fute-bench-\(tag)-\(UUID().uuidString)"
}

/// Builds the graph in a fresh LMDB environment at `directory`, committing every `batch` vectors.
func buildLMDB(base: Matrix, metric: Metric, parameters: HNSWParameters, batch: Int, directory: String) throws -> Double {
    var configuration = EnvironmentConfiguration()
    configuration.noSync = true
    let env = try Environment(directory: directory, configuration: configuration)
    _ = try HNSWDatabases(environment: env)
    let start = nanoseconds()
    try base.values.withUnsafeBufferPointer { all in
        var first = 0
        while first < base.rows {
            let n = min(batch, base.rows - first)
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 1, dimension: base.dimension, metric: metric, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    try w.insert(rows: UnsafeBufferPointer(rebasing: all[(first * base.dimension)..<((first + n) * base.dimension)]),
                                 firstKey: UInt64(first))
                }
            }
            first += n
        }
    }
    return Double(nanoseconds() - start) / 1e9
}

/// Builds the graph into `directory` (as ``buildLMDB``) unless it is a `--keep` directory that
/// already holds a store from an earlier run; returns the build seconds, nil when the kept store
/// was reused.
func buildUnlessKept(base: Matrix, metric: Metric, parameters: HNSWParameters, batch: Int, directory: String, keep: String?) throws -> Double? {
    if keep != nil && FileManager.default.fileExists(atPath: directory + "/data.mdb") { return nil }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return try buildLMDB(base: base, metric: metric, parameters: parameters, batch: batch, directory: directory)
}

/// With `keep`, the LMDB store lives in that directory and is not removed; when the directory
/// already holds a graph (built by an earlier `--keep` run) the build is skipped (build seconds
/// 0) and that graph is searched, after checking that it has `base.rows` live nodes of this
/// dimension and metric: for tuning search (ef, prefetch, kernels) on a large set without
/// rebuilding it each time.
func runAnn(name: String, base: Matrix, queries: Matrix, truth: [[Int]], metric: Metric, parameters: HNSWParameters,
            efs: [Int], k: Int, batch: Int, store: String, runs: Int, oneShot: Bool = false, keep: String? = nil) throws -> AnnResult {
    var result = AnnResult(name: name, rows: base.rows, dimension: base.dimension, queries: queries.rows, metric: metric,
                           parameters: parameters, store: store, commitBatch: batch, buildSeconds: 0)
    if store == "memory" {
        let index = try HNSWIndex(dimension: base.dimension, metric: metric, parameters: parameters)
        let start = nanoseconds()
        try index.insert(contentsOf: (0..<base.rows).map { (key: UInt64($0), vector: Array(base.row($0))) })
        result.buildSeconds = Double(nanoseconds() - start) / 1e9
        result.rows_ = try timeQueries(queries: queries, efs: efs, k: k, truth: truth, runs: runs) { q, ef in
            try index.search(Array(UnsafeBufferPointer(start: q, count: base.dimension)), k: k, ef: ef).map { Int($0.key) }
        }
        return result
    }
    let directory = keep ?? temporaryDirectory("ann")
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
    let built = try buildUnlessKept(base: base, metric: metric, parameters: parameters, batch: batch, directory: directory, keep: keep)
    let reused = built == nil
    result.buildSeconds = built ?? 0
    result.fileBytes = directorySize(directory)

    // Reopen: the measured open is environment + graph header, nothing else is loaded.
    let t0 = nanoseconds()
    let env = try Environment(directory: directory)
    let dbs = try HNSWDatabases(environment: env)
    let kept = try env.read { txn in try HNSWGraph(spaceID: 1, in: txn) }
    result.openMilliseconds = Double(nanoseconds() - t0) / 1e6
    if reused {
        let live = try env.read { txn in try kept.count(in: txn) }
        guard live == base.rows, kept.dimension == base.dimension, kept.metric == metric else {
            throw BenchError("--keep \(directory): the kept graph has \(live) vectors of dimension \(kept.dimension), metric \(kept.metric.rawValue); "
                             + "this run has \(base.rows) of dimension \(base.dimension), metric \(metric.rawValue) (remove the directory to rebuild)")
        }
        result.parameters = kept.parameters
    }
    try queries.values.withUnsafeBufferPointer { q in
        let t1 = nanoseconds()
        _ = try env.read { txn in try HNSWGraph(spaceID: 1, in: txn).withSearcher(in: txn) { try $0.search(q.baseAddress!, k: k) } }
        result.firstQueryMilliseconds = Double(nanoseconds() - t1) / 1e6
    }
    result.indexBytes = try env.read { txn in
        var total = 0
        for db in [dbs.meta, dbs.blocks, dbs.upper, dbs.keys, dbs.free] { total += try txn.statistics(of: db).usedBytes }
        return total
    }
    if oneShot {
        result.store = "lmdb (one read transaction and searcher per query)"
        result.rows_ = try timeQueries(queries: queries, efs: efs, k: k, truth: truth, runs: runs) { q, ef in
            try env.read { txn in
                try HNSWGraph(spaceID: 1, in: txn).withSearcher(in: txn) { try $0.search(q, k: k, ef: ef) }
            }.map { Int($0.key) }
        }
        return result
    }
    result.rows_ = try env.read { txn in
        try HNSWGraph(spaceID: 1, in: txn).withSearcher(in: txn) { searcher in
            try timeQueries(queries: queries, efs: efs, k: k, truth: truth, runs: runs) { q, ef in
                try searcher.search(q, k: k, ef: ef).map { Int($0.key) }
            }
        }
    }
    return result
}
