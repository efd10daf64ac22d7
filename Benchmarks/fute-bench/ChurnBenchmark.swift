import Foundation
import Index
import Kernels
import Storage

/// What one small write costs as the graph grows: a commit of 10 inserts, a commit deleting one
/// vector, a commit replacing one (an insert under a stored key: the old node is deleted first),
/// each timed from the start of its write transaction to the end of its commit (noSync, so the
/// disk's fsync is left out and the graph's own work shows), after one read of every index page
/// (the steady state of a process that has had the store open for a while).
struct ChurnResult {
    var size: Int
    var dimension: Int
    var buildSeconds: Double
    var fileBytes: Int
    /// Bytes of the index's pages (LMDB's own statistics) after the build.
    var indexBytes: Int = 0
    /// After the day-like mix (`--mix`): file and index bytes, and how many keys it deleted and put back.
    var mixedKeys = 0
    var fileBytesAfterMix = 0
    var indexBytesAfterMix = 0
    /// Milliseconds per commit, by operation.
    var commit10: [Double] = []
    var delete: [Double] = []
    var replace: [Double] = []

    var json: [String: Any] {
        func stats(_ v: [Double]) -> [String: Any] { ["median_ms": median(v), "p90_ms": percentile(v, 90), "count": v.count] }
        return ["size": size, "dimension": dimension, "build_seconds": buildSeconds,
                "file_bytes_per_vector": Double(fileBytes) / Double(size), "index_bytes_per_vector": Double(indexBytes) / Double(size),
                "mix_keys": mixedKeys, "file_bytes_per_vector_after_mix": Double(fileBytesAfterMix) / Double(size),
                "index_bytes_per_vector_after_mix": Double(indexBytesAfterMix) / Double(size),
                "commit_10_inserts": stats(commit10), "delete_1": stats(delete), "replace_1": stats(replace)]
    }
}

/// Builds the first `size` rows of `base` (commits of `batch`), then times `operations` commits of
/// each kind. Inserted vectors come from the rows after `size`; deleted and replaced keys are
/// drawn from the built ones (a fixed seed), each at most once. Then, when `mix` > 0, a day-like
/// mix: `mix` · `size` other built keys are deleted and put back with their vectors, in alternating
/// commits of `mixBatch` deletes and `mixBatch` inserts, and the file is measured again.
///
/// With `coldWriters`, an unrelated commit follows each timed one, so every writer starts with
/// an empty block table (as before writers carried block addresses from commit to commit).
///
/// With `keep`, the store lives in that directory and is not removed: when it already holds a
/// graph (of `size` rows of this `base`, built by an earlier `--keep` run) the build is skipped
/// (build seconds 0) — for profiling the small commits at 1M without rebuilding. The timed
/// operations then change the kept store (a few dozen keys per run); later runs delete and
/// replace only keys still stored and insert under keys above every stored one.
func runChurn(base: Matrix, size: Int, metric: Metric, parameters: HNSWParameters, batch: Int, operations: Int,
              mix: Double = 0, mixBatch: Int = 100, keep: String? = nil, coldWriters: Bool = false) throws -> ChurnResult {
    let spare = 10 * operations + operations
    guard size > 0, size + spare <= base.rows else {
        throw BenchError("--sizes: \(size) + \(spare) rows for the inserts is more than the \(base.rows) rows of --base", usage: true)
    }
    let directory = keep ?? temporaryDirectory("churn")
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
    var result = ChurnResult(size: size, dimension: base.dimension, buildSeconds: 0, fileBytes: 0)
    result.buildSeconds = try buildUnlessKept(base: base.prefix(size), metric: metric, parameters: parameters, batch: batch,
                                              directory: directory, keep: keep) ?? 0
    result.fileBytes = directorySize(directory)

    var configuration = EnvironmentConfiguration()
    configuration.noSync = true
    let env = try Environment(directory: directory, configuration: configuration)
    let databases = try HNSWDatabases(environment: env)
    func indexBytes() throws -> Int {
        try env.read { txn in
            try [databases.meta, databases.blocks, databases.upper, databases.keys, databases.free].reduce(0) {
                $0 + (try txn.statistics(of: $1).usedBytes)
            }
        }
    }
    result.indexBytes = try indexBytes()
    // Touch every page of the index once, as a long-running process has: a freshly opened
    // environment pays a page fault on the first read of each 4 KiB page, which would otherwise
    // show as a cost of the first commits into a large graph rather than of the graph's size.
    var checksum: UInt8 = 0
    // The stored keys (a kept store may have lost some to earlier runs' deletes): deletes and
    // replaces pick stored keys, inserts take keys above every stored one.
    var stored = Set<UInt64>()
    try env.read { txn in
        for db in [databases.blocks, databases.upper] {
            try txn.forEach(in: db) { _, value in
                for offset in stride(from: 0, to: value.count, by: 4096) { checksum &+= value[offset] }
            }
        }
        try txn.forEach(in: databases.keys, prefix: FixedWidthKey(UInt32(1))) { key, _ in
            guard key.count == 12 else { return }
            stored.insert(key.loadUnaligned(fromByteOffset: 4, as: UInt64.self).bigEndian)
        }
    }
    if checksum == 1 { print("", terminator: "") }  // keeps the reads
    let freshKeys = max(stored.max().map { $0 + 1 } ?? 0, UInt64(size)) - UInt64(size)  // + row: above every stored key
    let tick = try env.openDatabase(named: "churn_tick", create: true)
    func timed(_ body: (HNSWWriter) throws -> Void) throws -> Double {
        let start = nanoseconds()
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: base.dimension, metric: metric, parameters: parameters, in: txn)
            try graph.withWriter(in: txn, body)
        }
        let elapsed = Double(nanoseconds() - start) / 1e6
        // An unrelated commit: the next writer cannot use the block addresses this one carried.
        if coldWriters { try env.write { try $0.put([1], forKey: "tick", in: tick) } }
        return elapsed
    }
    var rng = SeededGenerator(state: 0xC4A2)
    var victims = Set<UInt64>()
    func victim() -> UInt64 {
        while true {
            let key = rng.next() % UInt64(size)
            if stored.contains(key), victims.insert(key).inserted { return key }
        }
    }
    var next = size
    for _ in 0..<operations {
        let first = next
        result.commit10.append(try timed { w in
            for row in first..<(first + 10) { try w.insert(key: freshKeys + UInt64(row), vector: Array(base.row(row))) }
        })
        next += 10
        let gone = victim()
        result.delete.append(try timed { w in _ = try w.remove(key: gone) })
        let replaced = victim(), row = next
        result.replace.append(try timed { w in try w.insert(key: replaced, vector: Array(base.row(row))) })
        next += 1
    }
    let mixed = Int((mix * Double(size)).rounded())
    if mixed > 0 {
        var keys: [UInt64] = []
        keys.reserveCapacity(mixed)
        while keys.count < mixed && victims.count < stored.count { keys.append(victim()) }
        for start in stride(from: 0, to: keys.count, by: max(1, mixBatch)) {
            let chunk = keys[start..<min(start + max(1, mixBatch), keys.count)]
            _ = try timed { w in for key in chunk { _ = try w.remove(key: key) } }
            _ = try timed { w in for key in chunk { try w.insert(key: key, vector: Array(base.row(Int(key)))) } }
        }
        result.mixedKeys = keys.count
        result.fileBytesAfterMix = directorySize(directory)
        result.indexBytesAfterMix = try indexBytes()
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
    print("size        file/vector  index/vector  file÷index   after mix: keys  file/vector  index/vector  file÷index")
    for r in results {
        let n = Double(r.size)
        var line = String(format: "%-10d %11.0f %13.0f %11.2f", r.size, Double(r.fileBytes) / n, Double(r.indexBytes) / n,
                          Double(r.fileBytes) / Double(max(r.indexBytes, 1)))
        if r.mixedKeys > 0 {
            line += String(format: "   %14d %12.0f %13.0f %11.2f", r.mixedKeys, Double(r.fileBytesAfterMix) / n,
                           Double(r.indexBytesAfterMix) / n, Double(r.fileBytesAfterMix) / Double(max(r.indexBytesAfterMix, 1)))
        }
        print(line)
    }
}
