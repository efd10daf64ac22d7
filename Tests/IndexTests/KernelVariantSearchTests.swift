import Foundation
import TestSupport
import XCTest
import Storage
@testable import Index
@testable import Kernels

/// The index under each build of the kernels: the LMDB graph's specialised loops (search, filtered
/// search, insert) against the in-memory graph's generic loop, in the same variant, at a
/// dimension with a 32-lane body, an 8-lane step and a scalar tail (45).
final class KernelVariantSearchTests: XCTestCase {
    let d = 45

    override func tearDown() {
        KernelVariant.force(nil)
        super.tearDown()
    }

    func variants() -> [KernelVariant] {
        if KernelVariant.active == .native { return [.native] }
        return KernelVariant.avx2FMASupported ? [.portable, .avx2FMA] : [.portable]
    }

    func testSpecialisedLoopsMatchTheGenericLoopInEachVariant() throws {
        for variant in variants() {
            XCTAssertEqual(KernelVariant.force(variant), variant)
            for metric in Metric.allCases {
                try checkLMDBMatchesMemory(metric: metric, variant: variant)
            }
        }
    }

    private func checkLMDBMatchesMemory(metric: Metric, variant: KernelVariant) throws {
        let path = NSTemporaryDirectory() + "fute-variant-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var configuration = EnvironmentConfiguration()
        configuration.noSync = true
        let env = try Environment(directory: path, configuration: configuration)
        // Float vectors on both sides (HalfPrecisionGraphTests covers float16 graphs in each variant).
        let parameters = HNSWParameters(m: 6, efConstruction: 40, efSearch: 40, encoding: .float32)
        var rng = TestRNG(seed: 91)
        let data = rng.clustered(800, d)
        let memory = try HNSWIndex(dimension: d, metric: metric, parameters: parameters)
        for batch in stride(from: 0, to: data.count, by: 400) {
            try memory.insert(contentsOf: (batch..<min(batch + 400, data.count)).map { (key: UInt64($0), vector: data[$0]) })
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 2, dimension: d, metric: metric, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    for i in batch..<min(batch + 400, data.count) { try w.insert(key: UInt64(i), vector: data[i]) }
                }
            }
        }
        let queries = rng.clustered(30, d)
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 2, in: txn)
            let stored = try graph.makeStore(in: txn)
            var differing = 0
            for s in 0..<UInt32(stored.slotCapacity) {
                for layer in 0...(try memory.store.level(of: s)) where try stored.neighbors(of: s, layer: layer) != memory.store.neighbors(of: s, layer: layer) {
                    differing += 1
                }
            }
            XCTAssertEqual(differing, 0, "\(variant) \(metric): link lists differ between the LMDB (specialised) and in-memory (generic) graphs")
            try graph.withSearcher(in: txn) { searcher in
                for q in queries {
                    let hits = try searcher.search(q, k: 10), expected = try memory.search(q, k: 10)
                    XCTAssertEqual(hits.map(\.key), expected.map(\.key), "\(variant) \(metric)")
                    XCTAssertEqual(hits.map(\.distance), expected.map(\.distance), "\(variant) \(metric)")
                    let accept: (UInt64) -> Bool = { $0 % 3 == 1 }
                    XCTAssertEqual(try searcher.search(q, k: 10, filter: accept).map(\.distance),
                                   try memory.search(q, k: 10, filter: accept).map(\.distance), "\(variant) \(metric) filtered")
                }
            }
        }
    }
}
