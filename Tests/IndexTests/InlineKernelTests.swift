import Kernels
import TestSupport
import XCTest
@testable import Index

/// The layer-0 search inlines its own copies of the distance kernels (LayerZeroSearch.swift); they
/// must give exactly the bits of `Kernels.Distance`, or the specialised loop and the generic one
/// (and exact search) would rank ties and near-ties differently.
final class InlineKernelTests: XCTestCase {
    func testInlinedKernelsEqualDistanceBitForBit() {
        var random = TestRNG(seed: 42)
        // Every tail length around the 8- and 32-lane blocks, and the dimensions the benchmarks use.
        for count in Array(1...72) + [96, 127, 128, 383, 384, 385] {
            var a = random.floats(count, in: -3...3), b = random.floats(count, in: -3...3)
            a[0] += 1  // never the zero vector
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    // safe: both buffers hold `count` ≥ 1 floats
                    let x = pa.baseAddress!, y = pb.baseAddress!
                    XCTAssertEqual(InlineL2.distance(x, y, count: count).bitPattern, Distance.l2Squared(x, y, count: count).bitPattern, "l2, \(count)")
                    XCTAssertEqual(InlineIP.distance(x, y, count: count).bitPattern, (-Distance.dot(x, y, count: count)).bitPattern, "ip, \(count)")
                }
            }
            // Cosine on unit vectors: 1 − a·b clamped to [0, 2].
            a = Distance.normalized(a)
            b = Distance.normalized(b)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let x = pa.baseAddress!, y = pb.baseAddress!
                    let expected = min(max(1 - Distance.dot(x, y, count: count), 0), 2)
                    XCTAssertEqual(InlineCosine.distance(x, y, count: count).bitPattern, expected.bitPattern, "cosine, \(count)")
                }
            }
        }
    }
}
