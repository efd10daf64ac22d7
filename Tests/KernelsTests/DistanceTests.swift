import XCTest
@testable import Kernels
import TestSupport

/// Scalar double-precision references, written independently of the SIMD kernels.
enum Reference {
    static func l2(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { let d = Double($1.0) - Double($1.1); return $0 + d * d }
    }
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let na = dot(a, a).squareRoot(), nb = dot(b, b).squareRoot()
        if na == 0 || nb == 0 { return 1 }
        return 1 - dot(a, b) / (na * nb)
    }
    static func distance(_ m: Metric, _ a: [Float], _ b: [Float]) -> Double {
        switch m {
        case .l2: return l2(a, b)
        case .ip: return -dot(a, b)
        case .cosine: return cosine(a, b)
        }
    }
}

final class DistanceTests: XCTestCase {
    /// Every dimension 1…1024: kernels agree with a scalar double reference.
    func testKernelsMatchScalarReferenceForEveryDimension1To1024() {
        var rng = TestRNG(seed: 42)
        for d in 1...1024 {
            let a = rng.floats(d), b = rng.floats(d)
            // Sum of |terms| bounds the rounding error; tolerance relative to it.
            let absDot = zip(a, b).reduce(0.0) { $0 + abs(Double($1.0) * Double($1.1)) }
            let tol = 1e-5 * max(1, absDot) + 1e-6 * Double(d)
            XCTAssertEqual(Double(Distance.l2Squared(a, b)), Reference.l2(a, b), accuracy: 1e-5 * max(1, Reference.l2(a, b)), "l2 d=\(d)")
            XCTAssertEqual(Double(Distance.dot(a, b)), Reference.dot(a, b), accuracy: tol, "dot d=\(d)")
            XCTAssertEqual(Double(Distance.cosineDistance(a, b)), Reference.cosine(a, b), accuracy: 1e-4, "cos d=\(d)")
            for m in Metric.allCases {
                XCTAssertEqual(Double(Distance.distance(m, a, b)), Reference.distance(m, a, b),
                               accuracy: m == .cosine ? 1e-4 : (m == .l2 ? 1e-5 * max(1, Reference.l2(a, b)) : tol), "\(m) d=\(d)")
            }
        }
    }

    /// Unaligned pointers (offset by one float inside a buffer) give the same answer.
    func testUnalignedPointersGiveSameResult() {
        var rng = TestRNG(seed: 7)
        for d in [1, 7, 8, 9, 31, 32, 33, 127, 128, 129, 384, 385] {
            let buffer = rng.floats(2 * d + 2)
            let a = Array(buffer[1..<(1 + d)]), b = Array(buffer[(d + 2)..<(2 * d + 2)])
            buffer.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                // Also a byte offset that is not a multiple of 4 via a raw copy.
                XCTAssertEqual(Distance.l2Squared(base + 1, base + d + 2, count: d), Distance.l2Squared(a, b))
                XCTAssertEqual(Distance.dot(base + 1, base + d + 2, count: d), Distance.dot(a, b))
            }
            let raw = UnsafeMutableRawPointer.allocate(byteCount: 8 * d + 16, alignment: 16)
            defer { raw.deallocate() }
            // Bytes at offset 1 and 4d+3: misaligned for Float; kernels load unaligned.
            a.withUnsafeBytes { (raw + 1).copyMemory(from: $0.baseAddress!, byteCount: 4 * d) }
            b.withUnsafeBytes { (raw + 4 * d + 3).copyMemory(from: $0.baseAddress!, byteCount: 4 * d) }
            let pa = (raw + 1).assumingMemoryBound(to: Float.self)
            let pb = (raw + 4 * d + 3).assumingMemoryBound(to: Float.self)
            XCTAssertEqual(Double(Distance.l2Squared(pa, pb, count: d)), Reference.l2(a, b), accuracy: 1e-4 * max(1, Reference.l2(a, b)))
        }
    }

    func testHandComputedValues() {
        let a: [Float] = [1, 2, 3], b: [Float] = [4, 6, 3]
        XCTAssertEqual(Distance.l2Squared(a, b), 25)
        XCTAssertEqual(Distance.dot(a, b), 25)
        XCTAssertEqual(Distance.distance(.ip, a, b), -25)
        XCTAssertEqual(Distance.cosineDistance([1, 0], [0, 1]), 1, accuracy: 1e-7)
        XCTAssertEqual(Distance.cosineDistance([1, 0], [-2, 0]), 2, accuracy: 1e-7)
        XCTAssertEqual(Distance.cosineDistance([3, 4], [6, 8]), 0, accuracy: 1e-6)
        XCTAssertEqual(Metric.cosine.score(fromDistance: 0.25), 0.75)
    }

    func testZeroVectorsHaveCosineDistanceOne() {
        XCTAssertEqual(Distance.cosineDistance([0, 0, 0], [0, 0, 0]), 1)
        XCTAssertEqual(Distance.cosineDistance([0, 0, 0], [1, 2, 3]), 1)
        XCTAssertEqual(Distance.cosineDistance([Float](), []), 1)
        XCTAssertEqual(Distance.l2Squared([Float](), []), 0)
    }

    func testTopKKeepsBestWithTiesByLowerID() {
        var top = TopK(k: 3)
        for (id, d) in [(5, 1.0), (2, 1.0), (9, 0.5), (1, 3.0), (0, 1.0), (7, 0.1)] as [(Int, Float)] {
            top.offer(id: id, distance: d)
        }
        XCTAssertEqual(top.sorted(), [Neighbor(id: 7, distance: 0.1), Neighbor(id: 9, distance: 0.5), Neighbor(id: 0, distance: 1.0)])
    }
}
