import Foundation
import Index
import Kernels
import Storage

/// What one small write costs as the graph grows: a commit of 10 inserts, a commit deleting one
/// vector, a commit replacing one (an insert under a stored key: the old node is deleted first),
/// each timed from the start of its write transaction to the end of its commit (noSync, so the
/// disk's fsync is left out and the graph's own work shows).
struct ChurnResult {
    var size: Int
    var dimension: Int
    var buildSeconds: Double
    var fileBytes: Int
    /// Milliseconds per commit, by operation.
    var commit10: [Double] = []
    var delete: [Double] = []
    var replace: [Double] = []

    var json: [String: Any] {
        func stats(_ v: [Double]) -> [String: Any] { ["median_ms": median(v), "p90_ms": percentile(v, 90), "count": v.count] }
        return ["size": size, "dimension": dimension, "build_seconds": buildSeconds,
                "file_bytes_per_vector": Double(fileBytes) / Double(size),
                "commit_10_inserts": stats(commit10), "delete_1": stats(delete), "replace_1": stats(replace)]
    }
}

/// Builds the first `size` rows of `base` (commits of `batch`), then times `operations` commits of
/// each kind. Inserted vectors come from the rows after `size`; deleted and replaced keys are
/// drawn from the built ones (a fixed seed), each at most once.
func runChurn(base: Matrix, size: Int, metric: Metric, parameters: HNSWParameters, batch: Int, operations: Int) throws -> ChurnResult {
    let spare = 10 * operations + operations
    guard size > 0, size + spare <= base.rows else {
        throw BenchError("--sizes: \(size) + \(spare) rows for the inserts is more than the \(base.rows) rows of --base", usage: true)
    }
    let directory = temporaryDirectory("churn")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var result = ChurnResult(size: size, dimension: base.dimension, buildSeconds: 0, fileBytes: 0)
    result.buildSeconds = try buildLMDB(base: base.prefix(size), metric: metric, parameters: parameters, batch: batch, directory: directory)
    result.fileBytes = directorySize(directory)

    var configuration = EnvironmentConfiguration()
    configuration.noSync = true
    let env = try Environment(directory: directory, configuration: configuration)
    func timed(_ body: (HNSWWriter) throws -> Void) throws -> Double {
        let start = nanoseconds()
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: base.dimension, metric: metric, parameters: parameters, in: txn)
            try graph.withWriter(in: txn, body)
        }
        return Double(nanoseconds() - start) / 1e6
    }
    var rng = SeededGenerator(state: 0xC4A2)
    var victims = Set<UInt64>()
    func victim() -> UInt64 {
        while true {
            let key = rng.next() % UInt64(size)
            if victims.insert(key).inserted { return key }
        }
    }
    var next = size
    for _ in 0..<operations {
        let first = next
        result.commit10.append(try timed { w in
            for row in first..<(first + 10) { try w.insert(key: UInt64(row), vector: Array(base.row(row))) }
        })
        next += 10
        let gone = victim()
        result.delete.append(try timed { w in _ = try w.remove(key: gone) })
        let replaced = victim(), row = next
        result.replace.append(try timed { w in try w.insert(key: replaced, vector: Array(base.row(row))) })
        next += 1
    }
    return result
}

func printChurn(_ results: [ChurnResult], parameters: HNSWParameters) {
    print("cost of one small commit by graph size (ms, median [p90]; noSync), M=\(parameters.m), efConstruction=\(parameters.efConstruction)")
    print("size        build s   10 inserts          delete 1            replace 1")
    guard let first = results.first else { return }
    for r in results {
        func cell(_ v: [Double], _ reference: [Double]) -> String {
            String(format: "%7.2f [%7.2f] %5.2fx", median(v), percentile(v, 90), median(v) / max(median(reference), 1e-9))
        }
        print(String(format: "%-10d %8.1f   ", r.size, r.buildSeconds) + cell(r.commit10, first.commit10) + "   "
              + cell(r.delete, first.delete) + "   " + cell(r.replace, first.replace))
    }
    print("(×: median relative to the smallest size)")
}
