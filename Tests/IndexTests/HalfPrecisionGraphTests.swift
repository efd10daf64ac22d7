import Foundation
import TestSupport
import XCTest
@testable import Kernels
import Storage
@testable import Index

/// Graphs that store their vectors as halves (``VectorEncoding/float16``): the format, what the
/// search returns against brute force on the Float vectors, and the errors.
final class HalfPrecisionGraphTests: XCTestCase {
    let d = 48

    override func tearDown() {
        KernelVariant.force(nil)
        super.tearDown()
    }

    /// A header of each encoding survives encoding and decoding; a float32 graph is written as
    /// version 2 (older builds still open it), a float16 one as version 3 with the encoding in
    /// the metric word's second byte; a version-2 header reads as float32.
    func testHeaderRoundTripAndVersions() throws {
        for metric in [Metric.l2, .ip, .cosine] {
            for encoding in VectorEncoding.allCases {
                let header = GraphHeader(metric: metric, dimension: 384, parameters: .init(encoding: encoding))
                let bytes = header.encoded()
                let decoded = try bytes.withUnsafeBytes { try GraphHeader(decoding: $0) }
                XCTAssertEqual(decoded, header)
                XCTAssertEqual(decoded.encoding, encoding)
                XCTAssertEqual(decoded.parameters.encoding, encoding)
                XCTAssertEqual(decoded.version, encoding == .float32 ? 2 : 3)
                XCTAssertEqual(bytes[9], encoding == .float32 ? 0 : 1)
            }
        }
        // Hand-computed strides for 384-d, M = 16: 16 + 128 bytes of header and links, then
        // 1,536 bytes of floats (stride 1,680, 2 nodes per 4 KiB page) or 768 of halves (912, 4).
        let f32 = GraphHeader(metric: .cosine, dimension: 384, parameters: .init(encoding: .float32))
        let f16 = GraphHeader(metric: .cosine, dimension: 384, parameters: .init(encoding: .float16))
        XCTAssertEqual([f32.stride, f32.nodesPerBlock, f16.stride, f16.nodesPerBlock], [1_680, 2, 912, 4])
        // A version-3 header naming an unknown encoding is refused, not misread.
        var damaged = f16.encoded()
        damaged[9] = 7
        XCTAssertThrowsError(try damaged.withUnsafeBytes { try GraphHeader(decoding: $0) }) { error in
            XCTAssertEqual((error as? IndexError)?.code, .corrupted)
            XCTAssertTrue("\(error)".contains("encoding"), "\(error)")
        }
    }

    /// Without an encoding in the parameters, cosine graphs store halves where the CPU converts
    /// them in hardware; l2 and ip graphs store Floats.
    func testDefaultEncodingFollowsTheMetric() throws {
        let env = try makeEnvironment("fute-half")
        let encodings = try env.write { txn in
            try [Metric.l2, .ip, .cosine].enumerated().map { i, metric in
                try HNSWGraph(spaceID: UInt32(i + 1), dimension: 8, metric: metric, parameters: .init(), in: txn).parameters.encoding
            }
        }
        let half: VectorEncoding = KernelVariant.avx2FMASupported ? .float16 : .float32
        XCTAssertEqual(encodings, [.float32, .float32, half])
    }

    /// A float16 graph, built in several commits with deletions, in both kernel variants: sound,
    /// recall@10 against brute force on the Float vectors ≥ 0.95 (cosine and l2), and every
    /// returned distance within the halves' rounding of the exact one.
    func testHalfGraphRecallAgainstBruteForce() throws {
        var variants: [KernelVariant?] = [nil]
        if KernelVariant.active != .native { variants.append(.portable) }
        for variant in variants {
            KernelVariant.force(variant)
            for metric in [Metric.cosine, .l2] {
                try checkRecall(metric: metric, label: "\(metric) \(KernelVariant.active)")
            }
        }
    }

    private func checkRecall(metric: Metric, label: String) throws {
        let env = try makeEnvironment("fute-half")
        var rng = TestRNG(seed: 91)
        let data = rng.clustered(1_500, d)
        let parameters = HNSWParameters(m: 12, efConstruction: 100, efSearch: 80, encoding: .float16)
        var items: [UInt64: [Float]] = [:]
        for batch in stride(from: 0, to: data.count, by: 500) {
            try env.write { txn in
                let graph = try HNSWGraph(spaceID: 1, dimension: d, metric: metric, parameters: parameters, in: txn)
                try graph.withWriter(in: txn) { w in
                    for i in batch..<(batch + 500) { try w.insert(key: UInt64(i), vector: data[i]); items[UInt64(i)] = data[i] }
                    if batch > 0 { for key in stride(from: UInt64(batch - 500), to: UInt64(batch), by: 9) { XCTAssertTrue(try w.remove(key: key)); items[key] = nil } }
                }
            }
        }
        let queries = (0..<40).map { _ in rng.clustered(1, d)[0] }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 1, in: txn)
            XCTAssertEqual(graph.parameters.encoding, .float16, label)
            XCTAssertEqual(try graph.checkInvariants(expectedKeys: Set(items.keys), in: txn), [], label)
            var got: [[UInt64]] = []
            try graph.withSearcher(in: txn) { searcher in
                for q in queries {
                    let hits = try searcher.search(q, k: 10)
                    got.append(hits.map(\.key))
                    for hit in hits {
                        let v = try XCTUnwrap(items[hit.key])
                        let exact = metric == .cosine ? Distance.cosineDistance(q, v) : Distance.l2Squared(q, v)
                        // Halves round each component by at most 2⁻¹¹ relative, so the stored
                        // vector moves by |δ| ≤ 2⁻¹¹·|v| (cosine: v unit length): the distance by at
                        // most |δ| (1 − q·v, q unit) or 2·|q − v|·|δ| + |δ|² (squared l2).
                        let delta = (metric == .cosine ? 1 : Distance.norm(v)) * 0x1p-11
                        let tolerance = (metric == .cosine ? delta : 2 * exact.squareRoot() * delta + delta * delta) + 1e-5
                        XCTAssertEqual(hit.distance, exact, accuracy: tolerance, "\(label) key \(hit.key)")
                    }
                }
            }
            let truth = queries.map { bruteForce($0, items, metric: metric, k: 10) }
            XCTAssertGreaterThanOrEqual(recall(got, truth), 0.95, label)
        }
    }

    /// An l2 float16 graph refuses a component beyond ±65,504 with a message that says what to
    /// do, and keeps the vector already stored under that key.
    func testHalfGraphRefusesValuesBeyondItsRange() throws {
        let env = try makeEnvironment("fute-half")
        let parameters = HNSWParameters(encoding: .float16)
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: 4, metric: .l2, parameters: parameters, in: txn)
            try graph.insert(key: 1, vector: [1, 2, 3, 4], in: txn)
        }
        try env.write { txn in
            let graph = try HNSWGraph(spaceID: 1, dimension: 4, metric: .l2, parameters: parameters, in: txn)
            XCTAssertThrowsError(try graph.insert(key: 1, vector: [1, 70_000, 3, 4], in: txn)) { error in
                XCTAssertEqual((error as? IndexError)?.code, .invalidVector)
                XCTAssertTrue("\(error)".contains("component 1") && "\(error)".contains("float32"), "\(error)")
            }
        }
        try env.read { txn in
            let graph = try HNSWGraph(spaceID: 1, in: txn)
            XCTAssertEqual(try graph.search([1, 2, 3, 4], k: 1, in: txn).map(\.key), [1])
            XCTAssertEqual(try graph.search([1, 2, 3, 4], k: 1, in: txn).first?.distance, 0)
        }
    }

    /// Asking an existing graph for the other encoding is a mismatch (the stored vectors would
    /// be misread); asking for none opens it as it is.
    func testReopeningWithAnotherEncodingIsAMismatch() throws {
        let env = try makeEnvironment("fute-half")
        try env.write { txn in
            _ = try HNSWGraph(spaceID: 1, dimension: 8, metric: .cosine, parameters: .init(encoding: .float32), in: txn)
        }
        try env.write { txn in
            XCTAssertThrowsError(try HNSWGraph(spaceID: 1, dimension: 8, metric: .cosine, parameters: .init(encoding: .float16), in: txn)) { error in
                XCTAssertEqual((error as? IndexError)?.code, .mismatch)
                XCTAssertTrue("\(error)".contains("encoding float32"), "\(error)")
            }
            XCTAssertEqual(try HNSWGraph(spaceID: 1, dimension: 8, metric: .cosine, parameters: .init(), in: txn).parameters.encoding, .float32)
        }
    }
}
