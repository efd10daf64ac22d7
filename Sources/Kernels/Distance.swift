import CFuteKernels

/// Distance kernels on Swift SIMD types (`SIMDKernels.swift`).
///
/// Each call goes to the kernels ``KernelVariant/active`` names: on a CPU with AVX2 and FMA the
/// AVX2+FMA build of the Swift kernels (fused multiply-add, 256-bit vectors), else the portable
/// build (a separate multiply and add, because `addingProduct` without hardware FMA becomes a libm
/// call per lane). The choice costs a load and a predictable branch per call. The pointer kernels
/// are deliberately not `@inlinable`: inlined into another module they would lose the dispatch
/// (and in a FUTE_NATIVE build, FMA code inlined into a module built without `-mfma` would turn
/// into those libm calls); a call costs about a nanosecond.
///
/// The SIMD8 loads are unaligned (no 16- or 32-byte alignment needed), but the scalar tails read
/// `a[i]`, a typed load: every pointer must be 4-byte aligned, as any valid `UnsafePointer<Float>`
/// is. LMDB values are not always 4-byte aligned, so callers check a value's address and copy a
/// misaligned one first (FuteDB's exact scan; the index copies misaligned blocks).
///
/// The pointer kernels are `package`: only this package's modules call them; other code uses the
/// array overloads.
public enum Distance {
    /// Squared Euclidean distance `Σ (aᵢ − bᵢ)²` over `count` floats.
    package static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_l2sq(a, b, count) }
        #endif
        return SIMDKernels.l2Squared(a, b, count: count)
    }

    /// Inner product `Σ aᵢbᵢ` over `count` floats.
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_dot(a, b, count) }
        #endif
        return SIMDKernels.dot(a, b, count: count)
    }

    /// Squared norm `Σ aᵢ²`.
    package static func squaredNorm(_ a: UnsafePointer<Float>, count: Int) -> Float {
        dot(a, a, count: count)
    }

    /// Cosine distance `1 − a·b / (|a||b|)`, clamped to `[0, 2]`; 1 when either vector is zero
    /// (see ``Metric``). One pass computes the dot product and both norms.
    package static func cosineDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_cosine_distance(a, b, count) }
        #endif
        return SIMDKernels.cosineDistance(a, b, count: count)
    }

    // MARK: - Half-precision stored vectors (IEEE binary16; the query stays Float)

    /// Squared L2 distance between `a` and `count` halves at `b` (any alignment).
    package static func halfL2Squared(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_half_l2sq(a, b, count) }
        #endif
        return SIMDKernels.halfL2Squared(a, b, count: count)
    }

    /// Inner product of `a` and `count` halves at `b` (any alignment).
    package static func halfDot(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_half_dot(a, b, count) }
        #endif
        return SIMDKernels.halfDot(a, b, count: count)
    }

    /// Writes `count` floats as halves (round to nearest even; beyond ±65,504 they become
    /// infinities, so callers check the range first: `VectorEncoding.firstUnrepresentable`).
    package static func encodeHalves(_ source: UnsafePointer<Float>, into target: UnsafeMutableRawPointer, count: Int) {
        for i in 0..<count {
            target.storeBytes(of: Float16(source[i]).bitPattern, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    /// Reads `count` finite halves (any alignment) as floats, exactly.
    package static func decodeHalves(_ source: UnsafeRawPointer, into target: UnsafeMutablePointer<Float>, count: Int) {
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 { return fute_avx2_decode_halves(source, target, count) }
        #endif
        SIMDKernels.decodeHalves(source, target, count: count)
    }

    /// The portable build of the kernels, whatever ``KernelVariant/active`` says (tests compare
    /// the variants with it).
    enum Portable {
        static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
            SIMDKernels.l2Squared(a, b, count: count)
        }
        static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
            SIMDKernels.dot(a, b, count: count)
        }
        static func cosineDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
            SIMDKernels.cosineDistance(a, b, count: count)
        }
    }

    /// Cosine distance from a precomputed dot product and squared norms (same conventions as
    /// ``cosineDistance(_:_:count:)``).
    @inlinable
    public static func cosineDistance(dot: Float, squaredNormA: Float, squaredNormB: Float) -> Float {
        let denominator = (squaredNormA * squaredNormB).squareRoot()
        guard denominator > 0, denominator.isFinite else { return 1 }
        let d = 1 - dot / denominator
        return min(max(d, 0), 2)
    }

    /// The engine distance for `metric` (lower is nearer).
    package static func distance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        switch metric {
        case .l2: return l2Squared(a, b, count: count)
        case .ip: return -dot(a, b, count: count)
        case .cosine: return cosineDistance(a, b, count: count)
        }
    }

    // MARK: - Array conveniences

    /// Squared L2 distance between two arrays of equal length.
    public static func l2Squared(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "Distance.l2Squared: lengths differ (\(a.count) vs \(b.count))")
        return withPair(a, b, 0) { l2Squared($0, $1, count: a.count) }
    }

    /// Inner product of two arrays of equal length.
    public static func dot(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "Distance.dot: lengths differ (\(a.count) vs \(b.count))")
        return withPair(a, b, 0) { dot($0, $1, count: a.count) }
    }

    /// Cosine distance of two arrays of equal length.
    public static func cosineDistance(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "Distance.cosineDistance: lengths differ (\(a.count) vs \(b.count))")
        return withPair(a, b, 1) { cosineDistance($0, $1, count: a.count) }
    }

    /// Engine distance for `metric` between two arrays of equal length.
    public static func distance(_ metric: Metric, _ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "Distance.distance: lengths differ (\(a.count) vs \(b.count))")
        return withPair(a, b, metric == .cosine ? 1 : 0) { distance(metric, $0, $1, count: a.count) }
    }

    /// Euclidean norm of an array.
    public static func norm(_ a: [Float]) -> Float {
        dot(a, a).squareRoot()
    }

    /// Returns `a / |a|`, or `a` unchanged when it has zero length.
    public static func normalized(_ a: [Float]) -> [Float] {
        let n = norm(a)
        guard n > 0, n.isFinite else { return a }
        return a.map { $0 / n }
    }

    /// Lends base pointers of two equal-length arrays (count 0 yields 0 without calling `body`).
    @inlinable
    static func withPair(_ a: [Float], _ b: [Float], _ empty: Float,
                         _ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Float) -> Float {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let x = pa.baseAddress, let y = pb.baseAddress else { return empty }
                return body(x, y)
            }
        }
    }
}
