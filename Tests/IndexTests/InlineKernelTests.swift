import TestSupport
import XCTest
@testable import Index
@testable import Kernels

/// The layer-0 search runs its own kernel types (LayerZeroSearch.swift): inlined portable copies,
/// and calls into the AVX2+FMA assembly. Each must give exactly the bits of `Kernels.Distance`
/// in the same variant, or the specialised loop and the generic one (and exact search) would
/// rank ties and near-ties differently; and the batch form (one call per expanded node) must give
/// the single form's bits.
final class InlineKernelTests: XCTestCase {
    override func tearDown() {
        KernelVariant.force(nil)
        super.tearDown()
    }

    /// Every tail length around the 8- and 32-lane blocks, and the dimensions the benchmarks use.
    let counts = Array(1...72) + [96, 127, 128, 383, 384, 385]

    func testInlinedKernelsEqualPortableDistanceBitForBit() {
        KernelVariant.force(.portable)
        checkKernels(InlineL2.self, InlineIP.self, InlineCosine.self)
    }

    func testAVX2KernelsEqualAVX2DistanceBitForBit() throws {
        guard KernelVariant.active != .native else { throw XCTSkip("FUTE_NATIVE build: the index runs the inlined kernels") }
        guard KernelVariant.force(.avx2FMA) == .avx2FMA else { throw XCTSkip("no AVX2+FMA on this CPU or platform") }
        checkKernels(AVX2L2.self, AVX2IP.self, AVX2Cosine.self)
    }

    /// The search picks the kernels of the variant in use.
    func testSearchKernelChoiceFollowsTheVariant() {
        if KernelVariant.active == .native {
            XCTAssertEqual(StoredKernelChoice(.l2), .l2)
            return
        }
        KernelVariant.force(.portable)
        XCTAssertEqual([StoredKernelChoice(.l2), StoredKernelChoice(.ip), StoredKernelChoice(.cosine)], [.l2, .ip, .cosine])
        if KernelVariant.force(.avx2FMA) == .avx2FMA {
            XCTAssertEqual([StoredKernelChoice(.l2), StoredKernelChoice(.ip), StoredKernelChoice(.cosine)], [.avx2L2, .avx2IP, .avx2Cosine])
        }
    }

    private func checkKernels<L: StoredKernel, I: StoredKernel, C: StoredKernel>(_: L.Type, _: I.Type, _: C.Type) {
        var random = TestRNG(seed: 42)
        for count in counts {
            var a = random.floats(count, in: -3...3)
            a[0] += 1  // never the zero vector
            let stored = (0..<5).map { _ in random.floats(count, in: -3...3) }
            check(L.self, a, stored, "l2") { Distance.l2Squared($0, $1, count: count) }
            check(I.self, a, stored, "ip") { -Distance.dot($0, $1, count: count) }
            // Cosine on unit vectors: 1 − a·b clamped to [0, 2].
            check(C.self, Distance.normalized(a), stored.map(Distance.normalized), "cosine") {
                min(max(1 - Distance.dot($0, $1, count: count), 0), 2)
            }
        }
    }

    private func check<K: StoredKernel>(_: K.Type, _ query: [Float], _ stored: [[Float]], _ name: String,
                                        expected: (UnsafePointer<Float>, UnsafePointer<Float>) -> Float) {
        let count = query.count
        // One buffer, vectors at odd float offsets (as LMDB values need not be aligned).
        var flat = [Float](repeating: 0, count: 1)
        var offsets: [Int] = []
        for v in stored { offsets.append(flat.count); flat += v + [0] }
        query.withUnsafeBufferPointer { q in
            flat.withUnsafeBufferPointer { f in
                // Safe: both buffers are non-empty and each offset + count lies within `flat`.
                let qp = q.baseAddress!, base = f.baseAddress!
                var pointers = offsets.map { UnsafeRawPointer(base + $0) }
                var batch = [Float](repeating: .nan, count: stored.count)
                pointers.withUnsafeMutableBufferPointer { p in
                    batch.withUnsafeMutableBufferPointer { out in
                        K.distances(qp, p.baseAddress!, stored.count, count: count, into: out.baseAddress!)
                    }
                }
                for (j, offset) in offsets.enumerated() {
                    let v = base + offset
                    let want = expected(qp, v)
                    XCTAssertEqual(K.distance(qp, v, count: count).bitPattern, want.bitPattern, "\(K.self) \(name), \(count)")
                    XCTAssertEqual(batch[j].bitPattern, want.bitPattern, "\(K.self) batch \(name), \(count), vector \(j)")
                }
            }
        }
    }
}
