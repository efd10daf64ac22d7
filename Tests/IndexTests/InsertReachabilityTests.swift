import Foundation
import TestSupport
import XCTest
import Kernels
import Storage
@testable import Index

/// Regression tests for inserts at small `efConstruction` (≤ 2·M, e.g. M 4 / efC 6): about 2%
/// of such graphs had two or three nodes unreachable from the entry point on layer 0. Re-
/// selecting an overflowing neighbour list dropped the only link into a small group of nodes
/// that link among themselves, which the local "does a neighbour link back?" test cannot see.
final class InsertReachabilityTests: XCTestCase {
    /// Small M and efConstruction settings, the ones that produced cut-off groups.
    let settings: [(m: Int, efConstruction: Int)] = [(2, 2), (2, 4), (3, 3), (3, 6), (4, 4), (4, 6), (4, 8), (5, 10), (6, 12), (8, 16)]

    /// Seeded random graphs (uniform and clustered data, low dimension), built one insert at a
    /// time in memory: the invariant checker passes for every one.
    func testSmallMAndEfConstructionKeepEveryNodeReachableInMemory() throws {
        var failures: [String] = []
        for seed in 0..<UInt64(24) {
            for (m, efConstruction) in settings {
                var rng = TestRNG(seed: 9_000 + seed)
                let d = 2 + Int(seed % 4)
                let data = seed % 2 == 0 ? (0..<250).map { _ in rng.vector(d) } : rng.clustered(250, d, clusters: 5)
                let index = try HNSWIndex(dimension: d, metric: .l2, parameters: HNSWParameters(m: m, efConstruction: efConstruction))
                for (i, v) in data.enumerated() { try index.insert(key: UInt64(i), vector: v) }
                let problems = try index.checkInvariants(expectedKeys: Set((0..<UInt64(data.count))))
                if !problems.isEmpty { failures.append("seed \(seed), m \(m), efC \(efConstruction): \(problems[0])") }
            }
        }
        XCTAssertEqual(failures, [], "\(failures.count) of \(24 * settings.count) graphs broken")
    }

    /// The same on LMDB, inserting in batches of varying size (the writer restores
    /// reachability once per batch), with a few replacements.
    func testSmallMAndEfConstructionKeepEveryNodeReachableInLMDB() throws {
        let env = try makeEnvironment("fute-index-reach")
        var failures: [String] = []
        var space: UInt32 = 0
        for seed in 0..<UInt64(12) {
            for (m, efConstruction) in settings {
                space += 1
                var rng = TestRNG(seed: 7_000 + seed)
                let d = 2 + Int(seed % 3)
                let data = seed % 2 == 0 ? (0..<200).map { _ in rng.vector(d) } : rng.clustered(200, d, clusters: 4)
                let parameters = HNSWParameters(m: m, efConstruction: efConstruction)
                var next = 0
                while next < data.count {
                    let n = min(data.count - next, 1 + Int(rng.next() % 60))
                    try env.write { txn in
                        let graph = try HNSWGraph(spaceID: space, dimension: d, metric: .l2, parameters: parameters, in: txn)
                        try graph.withWriter(in: txn) { w in
                            for i in next..<(next + n) { try w.insert(key: UInt64(i), vector: data[i]) }
                            // A replacement (remove + insert) now and then.
                            if next > 0 { try w.insert(key: UInt64(Int(rng.next() % UInt64(next))), vector: rng.vector(d)) }
                        }
                    }
                    next += n
                }
                let problems = try env.read { txn in
                    try HNSWGraph(spaceID: space, in: txn).checkInvariants(expectedKeys: Set(0..<UInt64(data.count)), in: txn)
                }
                if !problems.isEmpty { failures.append("seed \(seed), m \(m), efC \(efConstruction): \(problems[0])") }
            }
        }
        XCTAssertEqual(failures, [], "\(failures.count) of \(12 * settings.count) graphs broken")
    }
}
