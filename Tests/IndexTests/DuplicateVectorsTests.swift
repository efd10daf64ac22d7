import XCTest
import Kernels
@testable import Index

/// Regression tests for the bug found by the HNSW fuzz target (Tests/Fuzz/FuzzHNSW.swift):
/// duplicate vectors disconnected the graph.
final class DuplicateVectorsTests: XCTestCase {
    func testDuplicateVectorsStayReachable() throws {
        for metric in [Metric.l2, .cosine] {
            for m in [4, 16] {
                let index = try HNSWIndex(dimension: 8, metric: metric, parameters: HNSWParameters(m: m, efConstruction: 200))
                for k in 0..<200 {
                    try index.insert(key: UInt64(k), vector: [Float](repeating: k % 2 == 0 ? 1 : 0.5, count: 8))
                }
                XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(0..<200)), [], "\(metric) m=\(m)")
                XCTAssertEqual(try index.search([Float](repeating: 1, count: 8), k: 200, ef: 400).count, 200, "\(metric) m=\(m)")
            }
        }
    }

    /// Known limit: with many more exact duplicates than efConstruction some can still be cut
    /// off (checkInvariants reports it); up to about efConstruction duplicates they are not.
    func testAllIdenticalVectorsStayReachable() throws {
        let index = try HNSWIndex(dimension: 3, metric: .l2, parameters: HNSWParameters(m: 4, efConstruction: 300))
        for k in 0..<300 { try index.insert(key: UInt64(k), vector: [0.25, 0.5, 1]) }
        XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(0..<300)), [])
        // Known limit, not asserted: deleting many of them afterwards can still cut a few off.
    }

    func testOneDimensionalCosineTiesStayReachable() throws {
        let index = try HNSWIndex(dimension: 1, metric: .cosine, parameters: HNSWParameters(m: 4, efConstruction: 32))
        for k in 0..<200 { try index.insert(key: UInt64(k), vector: [Float(k % 7) + 1]) }
        XCTAssertEqual(try index.checkInvariants(expectedKeys: Set(0..<200)), [])
    }
}
