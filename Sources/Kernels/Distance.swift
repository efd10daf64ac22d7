/// Distance kernels on Swift SIMD types.
///
/// Each kernel keeps four `SIMD8<Float>` accumulators (32 floats per step, enough independent
/// chains to hide add/FMA latency), reduces them as a tree, then finishes the remainder
/// (`count % 32`) with one SIMD8 step per 8 floats and a scalar tail. The SIMD8 loads are
/// unaligned (no 16- or 32-byte alignment needed), but the scalar tail reads `a[i]`, a typed load:
/// every pointer must be 4-byte aligned, as any valid `UnsafePointer<Float>` is. LMDB values are
/// not always 4-byte aligned, so callers check a value's address and copy a misaligned one first
/// (FuteDB's exact scan; the index copies misaligned blocks).
///
/// The pointer kernels are `package`: only this package's modules call them; other code uses the
/// array overloads.
///
/// With `FUTE_NATIVE=1` the package compiles with AVX2+FMA and the kernels use fused
/// multiply-add (`FUTE_FMA`); without it they use a separate multiply and add, because
/// `addingProduct` without hardware FMA becomes a libm call per lane. The pointer kernels are
/// deliberately not `@inlinable`: inlined into a module built without `-mfma` (FuteDB), the FMA
/// would turn into those libm calls; a call costs about a nanosecond.
public enum Distance {
    @usableFromInline typealias V = SIMD8<Float>
    @usableFromInline static let stride = MemoryLayout<Float>.stride

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
        // Safe because callers guarantee index + 8 <= count floats are readable.
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func madd(_ acc: SIMD8<Float>, _ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
        #if FUTE_FMA
        return acc.addingProduct(x, y)
        #else
        return acc + x * y
        #endif
    }

    @inline(__always)
    static func reduce(_ a: SIMD8<Float>) -> Float {
        let h = a.lowHalf + a.highHalf
        let q = h.lowHalf + h.highHalf
        return q[0] + q[1]
    }

    /// Squared Euclidean distance `Σ (aᵢ − bᵢ)²` over `count` floats.
    package static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = V(), s1 = V(), s2 = V(), s3 = V()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load(a, i) - load(b, i)
            let d1 = load(a, i &+ 8) - load(b, i &+ 8)
            let d2 = load(a, i &+ 16) - load(b, i &+ 16)
            let d3 = load(a, i &+ 24) - load(b, i &+ 24)
            s0 = madd(s0, d0, d0); s1 = madd(s1, d1, d1)
            s2 = madd(s2, d2, d2); s3 = madd(s3, d3, d3)
            i &+= 32
        }
        while i &+ 8 <= count {
            let d = load(a, i) - load(b, i)
            s0 = madd(s0, d, d)
            i &+= 8
        }
        var sum = reduce((s0 + s1) + (s2 + s3))
        while i < count {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }

    /// Inner product `Σ aᵢbᵢ` over `count` floats.
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = V(), s1 = V(), s2 = V(), s3 = V()
        var i = 0
        while i &+ 32 <= count {
            s0 = madd(s0, load(a, i), load(b, i))
            s1 = madd(s1, load(a, i &+ 8), load(b, i &+ 8))
            s2 = madd(s2, load(a, i &+ 16), load(b, i &+ 16))
            s3 = madd(s3, load(a, i &+ 24), load(b, i &+ 24))
            i &+= 32
        }
        while i &+ 8 <= count {
            s0 = madd(s0, load(a, i), load(b, i))
            i &+= 8
        }
        var sum = reduce((s0 + s1) + (s2 + s3))
        while i < count {
            sum += a[i] * b[i]
            i &+= 1
        }
        return sum
    }

    /// Squared norm `Σ aᵢ²`.
    package static func squaredNorm(_ a: UnsafePointer<Float>, count: Int) -> Float {
        dot(a, a, count: count)
    }

    /// Cosine distance `1 − a·b / (|a||b|)`, clamped to `[0, 2]`; 1 when either vector is zero
    /// (see ``Metric``). One pass computes the dot product and both norms.
    package static func cosineDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        // Four accumulators per sum (12 ymm registers): with two per norm, each norm chain took two
        // dependent FMAs per 32 floats and latency, not the FMA ports, bounded the loop.
        var d0 = V(), d1 = V(), d2 = V(), d3 = V()
        var na0 = V(), na1 = V(), na2 = V(), na3 = V()
        var nb0 = V(), nb1 = V(), nb2 = V(), nb3 = V()
        var i = 0
        while i &+ 32 <= count {
            let x0 = load(a, i), y0 = load(b, i)
            d0 = madd(d0, x0, y0); na0 = madd(na0, x0, x0); nb0 = madd(nb0, y0, y0)
            let x1 = load(a, i &+ 8), y1 = load(b, i &+ 8)
            d1 = madd(d1, x1, y1); na1 = madd(na1, x1, x1); nb1 = madd(nb1, y1, y1)
            let x2 = load(a, i &+ 16), y2 = load(b, i &+ 16)
            d2 = madd(d2, x2, y2); na2 = madd(na2, x2, x2); nb2 = madd(nb2, y2, y2)
            let x3 = load(a, i &+ 24), y3 = load(b, i &+ 24)
            d3 = madd(d3, x3, y3); na3 = madd(na3, x3, x3); nb3 = madd(nb3, y3, y3)
            i &+= 32
        }
        while i &+ 8 <= count {
            let x = load(a, i), y = load(b, i)
            d0 = madd(d0, x, y); na0 = madd(na0, x, x); nb0 = madd(nb0, y, y)
            i &+= 8
        }
        var dp = reduce((d0 + d1) + (d2 + d3)), na = reduce((na0 + na1) + (na2 + na3)), nb = reduce((nb0 + nb1) + (nb2 + nb3))
        while i < count {
            let x = a[i], y = b[i]
            dp += x * y; na += x * x; nb += y * y
            i &+= 1
        }
        return cosineDistance(dot: dp, squaredNormA: na, squaredNormB: nb)
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
