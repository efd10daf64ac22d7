import TestSupport
import XCTest
import Kernels
@testable import Index

/// Regression tests for the deletion repair: removing or replacing vectors must never leave a
/// live node unreachable from the entry point on layer 0 (reliability's fuzzer and the crash
/// harness's delete/update trials found such nodes at efConstruction == M and at m 8, efC 40).
final class DeletionRepairTests: XCTestCase {
    /// Reliability's fuzzer repro (2-D l2, efConstruction == M): replacing key 23 left slot 1
    /// with no in-link on layer 0.
    func testReplaceWithEfConstructionEqualToMKeepsEveryNodeReachable() throws {
        let index = try HNSWIndex(dimension: 2, metric: .l2, parameters: HNSWParameters(m: 4, efConstruction: 4))
        let steps: [(UInt64, [Float])] = [
            (1, [0.5625, 7.375]), (5, [-3.3125, -7.4375]), (22, [0.3125, 3.75]), (16, [1.1875, 5.1875]),
            (13, [1.75, 0.5]), (23, [7.0, -0.3125]), (0, [-5.1875, 1.8125]), (6, [2.4375, 1.75]),
            (17, [1.8125, 5.5]), (19, [5.1875, 0.625]), (10, [3.75, -2.375]), (23, [6.375, -3.25]),
        ]
        var items: [UInt64: [Float]] = [:]
        for (key, v) in steps {
            try index.insert(key: key, vector: v)   // the last step replaces key 23 (remove + insert)
            items[key] = v
            XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(items.keys)), [], "after inserting \(key)")
        }
        // Every stored vector is its own nearest neighbour, found by search.
        for (key, v) in items { XCTAssertEqual(try index.search(v, k: 1, ef: 16).first?.key, key) }
    }

    /// Uniform random data, small M and small efConstruction (the settings that leave nodes
    /// with a single in-link), many removals and replacements; the invariants are checked
    /// after every operation.
    func testRemovalsAndReplacementsKeepEveryNodeReachable() throws {
        var failures: [String] = []
        for (seed, m, ef) in [(1, 4, 4), (2, 4, 8), (3, 8, 8), (4, 8, 40), (5, 4, 16), (6, 8, 16)] as [(UInt64, Int, Int)] {
            var rng = TestRNG(seed: 1_000 + seed)
            let d = 8
            let index = try HNSWIndex(dimension: d, metric: .l2, parameters: HNSWParameters(m: m, efConstruction: ef))
            var items: [UInt64: [Float]] = [:]
            for key in 0..<UInt64(400) {
                let v = rng.vector(d)
                try index.insert(key: key, vector: v)
                items[key] = v
            }
            XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(items.keys)), [], "seed \(seed) after build")
            for step in 0..<300 {
                let key = UInt64.random(in: 0..<400, using: &rng)
                if Bool.random(using: &rng) {
                    let v = rng.vector(d)
                    try index.insert(key: key, vector: v)   // insert or replace
                    items[key] = v
                } else {
                    XCTAssertEqual(try index.remove(key: key), items[key] != nil)
                    items[key] = nil
                }
                let problems = try index.checkInvariants(expectedKeys: Set(items.keys))
                if !problems.isEmpty {
                    failures.append("seed \(seed) (m \(m), efC \(ef)) step \(step): \(problems)")
                    break
                }
            }
        }
        XCTAssertEqual(failures, [])
    }
}
