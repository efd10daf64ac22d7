import Foundation
import XCTest
import Kernels
import Storage
@testable import Index

/// Real data (../shared/data, skipped when absent): the first 3,000 siftsmall vectors through
/// the LMDB graph, recall against exact search (debug builds are slow: the full set is for
/// fute-bench).
final class RealDataTests: XCTestCase {
    /// `FUTE_SHARED_DIR/data`, else `<package root>/../shared/data`.
    static let data: URL = (ProcessInfo.processInfo.environment["FUTE_SHARED_DIR"].map { URL(fileURLWithPath: $0) }
        ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared"))
        .appendingPathComponent("data")

    func readVecs<T>(_ path: URL, as: T.Type) throws -> [[T]] {
        let bytes = try Data(contentsOf: path)
        var rows: [[T]] = []
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let d = Int(raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
                guard d > 0, offset + 4 + 4 * d <= raw.count else { throw IndexError(.corrupted, "bad record in \(path.path)") }
                rows.append((0..<d).map { raw.loadUnaligned(fromByteOffset: offset + 4 + 4 * $0, as: T.self) })
                offset += 4 + 4 * d
            }
        }
        return rows
    }

    func testSiftsmallRecallInLMDB() throws {
        let dir = RealDataTests.data.appendingPathComponent("siftsmall")
        guard FileManager.default.fileExists(atPath: dir.path) else {
            throw XCTSkip("../shared/data not present: \(dir.path)")
        }
        let base = Array(try readVecs(dir.appendingPathComponent("siftsmall_base.fvecs"), as: Float.self).prefix(3_000))
        let queries = Array(try readVecs(dir.appendingPathComponent("siftsmall_query.fvecs"), as: Float.self).prefix(50))
        let truth = ExactSearch.batchSearch(queries: queries.flatMap { $0 }, base: base.flatMap { $0 }, dimension: 128, metric: .l2, k: 10)
            .map { $0.map { Int32($0.id) } }
        let env = try makeEnvironment("fute-index-sift")
        let parameters = HNSWParameters(m: 12, efConstruction: 64)
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: 128, metric: .l2, parameters: parameters, in: txn)
            try graph.withWriter(in: txn) { w in for (i, v) in base.enumerated() { try w.insert(key: UInt64(i), vector: v) } }
        }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 1, in: txn)
            var hits = 0
            try graph.withSearcher(in: txn) { s in
                for (q, t) in zip(queries, truth) {
                    let found = try s.search(q, k: 10, ef: 64).map { Int32($0.key) }
                    hits += Set(found).intersection(t.prefix(10)).count
                }
            }
            let recall = Double(hits) / Double(10 * queries.count)
            print("siftsmall[0..<3000] recall@10 at ef=64 (M=12, efConstruction=64): \(recall)")
            XCTAssertGreaterThan(recall, 0.97)
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set((0..<UInt64(base.count)).map { $0 }), in: txn), [])
        }
    }
}
