import TestSupport
import XCTest
import Kernels
@testable import Index

final class HNSWIndexTests: XCTestCase {
    let d = 16

    func build(_ n: Int, seed: UInt64, metric: Metric = .l2, parameters: HNSWParameters = .init(m: 8, efConstruction: 64, efSearch: 64)) throws -> (HNSWIndex, [UInt64: [Float]]) {
        var rng = TestRNG(seed: seed)
        let index = try HNSWIndex(dimension: d, metric: metric, parameters: parameters)
        var items: [UInt64: [Float]] = [:]
        for (i, raw) in rng.clustered(n, d).enumerated() {
            // Inner product search is only meaningful on comparable norms: HNSW (hnswlib too)
            // cannot reach a short vector that is nobody's nearest under ip.
            let v = metric == .ip ? Distance.normalized(raw) : raw
            let key = UInt64(i * 3 + 1)
            try index.insert(key: key, vector: v)
            items[key] = v
        }
        return (index, items)
    }

    func measureRecall(_ index: HNSWIndex, _ items: [UInt64: [Float]], metric: Metric, queries: Int = 100, seed: UInt64 = 99, k: Int = 10, ef: Int = 64) throws -> Double {
        var rng = TestRNG(seed: seed)
        var got: [[UInt64]] = [], truth: [[UInt64]] = []
        for _ in 0..<queries {
            let q = rng.clustered(1, d)[0]
            got.append(try index.search(q, k: k, ef: ef).map(\.key))
            truth.append(bruteForce(q, items, metric: metric, k: k))
        }
        return recall(got, truth)
    }

    func testEmptyIndexReturnsNothing() throws {
        let index = try HNSWIndex(dimension: 4, metric: .l2)
        XCTAssertEqual(try index.search([0, 0, 0, 0], k: 5), [])
        XCTAssertEqual(try index.checkInvariants(expectedKeys: []), [])
    }

    func testSingleVectorIsFound() throws {
        let index = try HNSWIndex(dimension: 3, metric: .l2)
        try index.insert(key: 7, vector: [0, 0, 1])
        XCTAssertEqual(try index.search([0, 0, 0.5], k: 3), [SearchHit(key: 7, distance: 0.25)])
    }

    func testRecallAgainstBruteForceForEveryMetric() throws {
        for metric in Metric.allCases {
            let (index, items) = try build(2_000, seed: 5, metric: metric)
            XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(items.keys)), [], "\(metric)")
            let r = try measureRecall(index, items, metric: metric)
            XCTAssertGreaterThan(r, metric == .l2 ? 0.95 : 0.9, "recall@10 for \(metric) = \(r)")
        }
    }

    func testSameKeysSameOrderGiveSameGraph() throws {
        let (a, _) = try build(300, seed: 8)
        let (b, _) = try build(300, seed: 8)
        XCTAssertEqual(a.store.links0, b.store.links0)
        XCTAssertEqual(a.store.levels, b.store.levels)
    }

    func testLevelsFollowGeometricDistribution() {
        let p = HNSWParameters(m: 16)
        let levels = (0..<100_000).map { p.level(forKey: UInt64($0)) }
        let aboveZero = Double(levels.filter { $0 > 0 }.count) / 100_000
        XCTAssertEqual(aboveZero, 1.0 / 16, accuracy: 0.005)   // P(level ≥ 1) = 1/M
    }

    func testDeletingHalfKeepsRecallAndInvariants() throws {
        let (index, items) = try build(2_000, seed: 11)
        var remaining = items
        var rng = TestRNG(seed: 12)
        for key in items.keys.sorted().shuffled(using: &rng).prefix(1_000) {
            XCTAssertTrue(try index.remove(key: key))
            remaining[key] = nil
        }
        XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(remaining.keys)), [])
        XCTAssertFalse(try index.remove(key: 2))  // never inserted (keys are 3i+1)
        let afterDelete = try measureRecall(index, remaining, metric: .l2)

        // A fresh build of the remaining vectors, same parameters.
        let fresh = try HNSWIndex(dimension: d, metric: .l2, parameters: index.parameters)
        for key in remaining.keys.sorted() { try fresh.insert(key: key, vector: remaining[key]!) }
        let freshRecall = try measureRecall(fresh, remaining, metric: .l2)
        print("recall@10 after deleting half: \(afterDelete), fresh build: \(freshRecall)")
        XCTAssertGreaterThanOrEqual(afterDelete, freshRecall - 0.02, "after delete \(afterDelete), fresh \(freshRecall)")
        // No deleted key is ever returned.
        var q = TestRNG(seed: 3)
        for _ in 0..<50 {
            for hit in try index.search(q.vector(d), k: 10) { XCTAssertNotNil(remaining[hit.key]) }
        }
    }

    func testRandomOperationSequencesKeepInvariants() throws {
        var rng = TestRNG(seed: 21)
        let index = try HNSWIndex(dimension: 8, metric: .cosine, parameters: .init(m: 4, efConstruction: 32, efSearch: 32))
        var items: [UInt64: [Float]] = [:]
        for step in 0..<3_000 {
            let key = UInt64.random(in: 0..<400, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<6:
                let v = rng.vector(8)
                try index.insert(key: key, vector: v)   // insert or update
                items[key] = v
            default:
                XCTAssertEqual(try index.remove(key: key), items[key] != nil)
                items[key] = nil
            }
            if step % 250 == 0 || step == 2_999 {
                let problems = try index.checkInvariants(expectedKeys: Set(items.keys))
                XCTAssertEqual(problems, [], "step \(step)")
                if !problems.isEmpty { return }
            }
        }
        // Updated vectors are the ones searched.
        for (key, v) in items.prefix(20) {
            XCTAssertEqual(try index.search(v, k: 1, ef: 64).first?.key, key)
        }
    }

    func testRemovingEverythingLeavesEmptyGraph() throws {
        let (index, items) = try build(200, seed: 4)
        for key in items.keys { try index.remove(key: key) }
        XCTAssertEqual(index.count, 0)
        XCTAssertNil(try index.store.entryPoint())
        XCTAssertEqual(try index.search(items.first!.value, k: 3), [])
        try index.insert(key: 1, vector: items.first!.value)
        XCTAssertEqual(try index.search(items.first!.value, k: 3).map(\.key), [1])
    }

    func testFilteredSearchReturnsOnlyAllowedKeys() throws {
        let (index, items) = try build(2_000, seed: 6)
        var rng = TestRNG(seed: 7)
        var got: [[UInt64]] = [], truth: [[UInt64]] = []
        for _ in 0..<50 {
            let q = rng.clustered(1, d)[0]
            let hits = try index.search(q, k: 10, ef: 128, filter: { $0 % 2 == 0 })
            XCTAssertTrue(hits.allSatisfy { $0.key % 2 == 0 })
            got.append(hits.map(\.key))
            truth.append(bruteForce(q, items, metric: .l2, k: 10) { $0 % 2 == 0 })
        }
        XCTAssertGreaterThan(recall(got, truth), 0.9)
    }

    func testRejectsWrongDimensionAndNaN() throws {
        let index = try HNSWIndex(dimension: 3, metric: .l2)
        XCTAssertThrowsError(try index.insert(key: 1, vector: [1, 2]))
        XCTAssertThrowsError(try index.insert(key: 1, vector: [1, .nan, 2]))
        XCTAssertThrowsError(try HNSWIndex(dimension: 3, metric: .l2, parameters: .init(m: 1)))
    }

    func testPolicyPrefersExactForSmallAllowedSets() {
        XCTAssertTrue(FilteredSearchPolicy.prefersExact(allowedCount: 100, totalCount: 1_000_000, ef: 64))
        XCTAssertTrue(FilteredSearchPolicy.prefersExact(allowedCount: 40_000, totalCount: 1_000_000, ef: 64))
        XCTAssertFalse(FilteredSearchPolicy.prefersExact(allowedCount: 500_000, totalCount: 1_000_000, ef: 64))
    }
}
