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

    /// Half-precision stored vectors: each kernel gives exactly the bits of the Float kernel of the
    /// same variant applied to the halves' values as Swift's own `Float(Float16)` reads them (the
    /// conversion is exact and the operation order is the same), single and batch.
    func testPortableHalfKernelsEqualFloatKernelsOnTheDecodedValues() {
        KernelVariant.force(.portable)
        checkHalfKernels(HalfL2.self, HalfIP.self, HalfCosine.self)
    }

    func testAVX2HalfKernelsEqualAVX2FloatKernelsOnTheDecodedValues() throws {
        guard KernelVariant.active != .native else { throw XCTSkip("FUTE_NATIVE build: the index runs the inlined kernels") }
        guard KernelVariant.force(.avx2FMA) == .avx2FMA else { throw XCTSkip("no AVX2+FMA on this CPU or platform") }
        checkHalfKernels(AVX2HalfL2.self, AVX2HalfIP.self, AVX2HalfCosine.self)
    }

    /// Every finite half decodes to Swift's `Float(Float16)` value, in both variants.
    func testEveryFiniteHalfDecodesExactly() {
        let halves = (0...UInt16.max).filter { Float16(bitPattern: $0).isFinite }
        let want = halves.map { Float(Float16(bitPattern: $0)) }
        var variants: [KernelVariant] = [.portable]
        if KernelVariant.active != .native, KernelVariant.force(.avx2FMA) == .avx2FMA { variants.append(.avx2FMA) }
        for variant in variants {
            KernelVariant.force(variant)
            var got = [Float](repeating: .nan, count: halves.count)
            halves.withUnsafeBytes { h in
                got.withUnsafeMutableBufferPointer { Distance.decodeHalves(h.baseAddress!, into: $0.baseAddress!, count: halves.count) }
            }
            let wrong = zip(halves, zip(got, want)).filter { $0.1.0.bitPattern != $0.1.1.bitPattern }
            XCTAssertEqual(wrong.count, 0, "\(variant): first wrong \(wrong.prefix(3).map { String($0.0, radix: 16) })")
        }
    }

    /// The search picks the kernels of the variant in use and the graph's encoding.
    func testSearchKernelChoiceFollowsTheVariantAndEncoding() {
        func choices(_ encoding: VectorEncoding) -> [StoredKernelChoice] {
            [Metric.l2, .ip, .cosine].map { StoredKernelChoice(GraphHeader(metric: $0, dimension: 8, parameters: .init(encoding: encoding))) }
        }
        if KernelVariant.active == .native {
            XCTAssertEqual(choices(.float32), [.l2, .ip, .cosine])
            XCTAssertEqual(choices(.float16), [.halfL2, .halfIP, .halfCosine])
            return
        }
        KernelVariant.force(.portable)
        XCTAssertEqual(choices(.float32), [.l2, .ip, .cosine])
        XCTAssertEqual(choices(.float16), [.halfL2, .halfIP, .halfCosine])
        if KernelVariant.force(.avx2FMA) == .avx2FMA {
            XCTAssertEqual(choices(.float32), [.avx2L2, .avx2IP, .avx2Cosine])
            XCTAssertEqual(choices(.float16), [.avx2HalfL2, .avx2HalfIP, .avx2HalfCosine])
        }
    }

    private func checkHalfKernels<L: StoredKernel, I: StoredKernel, C: StoredKernel>(_: L.Type, _: I.Type, _: C.Type) {
        var random = TestRNG(seed: 7)
        for count in counts {
            var a = random.floats(count, in: -3...3)
            a[0] += 1
            let stored = (0..<5).map { _ in random.floats(count, in: -3...3).map { Float16($0) } }
            checkHalf(L.self, a, stored, "l2") { Distance.l2Squared($0, $1, count: count) }
            checkHalf(I.self, a, stored, "ip") { -Distance.dot($0, $1, count: count) }
            let unit = stored.map { v in Distance.normalized(v.map { Float($0) }).map { Float16($0) } }
            checkHalf(C.self, Distance.normalized(a), unit, "cosine") { min(max(1 - Distance.dot($0, $1, count: count), 0), 2) }
        }
    }

    private func checkHalf<K: StoredKernel>(_: K.Type, _ query: [Float], _ stored: [[Float16]], _ name: String,
                                            expected: (UnsafePointer<Float>, UnsafePointer<Float>) -> Float) {
        let count = query.count
        // Halves at odd offsets (2 bytes past a 4-byte boundary), as in a node record.
        var flat = [Float16](repeating: 0, count: 1)
        var offsets: [Int] = []
        for v in stored { offsets.append(flat.count); flat += v + [0] }
        query.withUnsafeBufferPointer { q in
            flat.withUnsafeBufferPointer { f in
                // Safe: both buffers are non-empty and each offset + count lies within `flat`.
                let qp = q.baseAddress!, base = UnsafeRawPointer(f.baseAddress!)
                var pointers = offsets.map { base + 2 * $0 }
                var batch = [Float](repeating: .nan, count: stored.count)
                pointers.withUnsafeMutableBufferPointer { p in
                    batch.withUnsafeMutableBufferPointer { out in
                        K.distances(qp, p.baseAddress!, stored.count, count: count, into: out.baseAddress!)
                    }
                }
                for (j, v) in stored.enumerated() {
                    let want = v.map { Float($0) }.withUnsafeBufferPointer { expected(qp, $0.baseAddress!) }
                    XCTAssertEqual(K.distance(qp, pointers[j], count: count).bitPattern, want.bitPattern, "\(K.self) \(name), \(count)")
                    XCTAssertEqual(batch[j].bitPattern, want.bitPattern, "\(K.self) batch \(name), \(count), vector \(j)")
                }
            }
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
                    XCTAssertEqual(K.distance(qp, UnsafeRawPointer(v), count: count).bitPattern, want.bitPattern, "\(K.self) \(name), \(count)")
                    XCTAssertEqual(batch[j].bitPattern, want.bitPattern, "\(K.self) batch \(name), \(count), vector \(j)")
                }
            }
        }
    }
}
