// The distance kernels, on Swift SIMD types. This one file is compiled twice:
//
// - into the Kernels module, for the build's own target CPU (SSE on a default x86-64 build:
//   multiply + add; AVX2 + FMA with FUTE_NATIVE=1, which defines FUTE_FMA);
// - by Tools/generate-avx2-kernels.sh, with `-Xcc -mavx2 -Xcc -mfma -D FUTE_FMA`, together with
//   Tools/kernels/AVX2Exports.swift, into the checked-in assembly
//   Sources/CFuteKernels/kernels_avx2_x86_64_linux.S that Distance and the index call when the CPU
//   has AVX2 and FMA (see ``KernelVariant``).
//
// So it must stay self-contained (no other Kernels declaration, no generics, no arrays, nothing
// that calls the Swift runtime): pointers, Ints, Floats, Float16 and SIMD8 vectors only. After editing it,
// run Tools/generate-avx2-kernels.sh; KernelsTests fails while the assembly is stale.
//
// Each kernel keeps four `SIMD8<Float>` accumulators (32 floats per step, enough independent
// chains to hide add/FMA latency), reduces them as a tree, then finishes the remainder
// (`count % 32`) with one SIMD8 step per 8 floats and a scalar tail. Loads are unaligned, so any
// pointer works (LMDB values are not always 4-byte aligned).

enum SIMDKernels {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
        // Safe because callers guarantee index + 8 <= count floats are readable.
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
    }

    /// `acc + x·y`: fused where FMA code generation is on; a multiply and an add otherwise,
    /// because `addingProduct` without FMA becomes a libm `fmaf` call per lane.
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

    /// `Σ (aᵢ − bᵢ)²` over `count` floats.
    @inline(__always)
    static func l2Squared(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
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

    /// `Σ aᵢbᵢ` over `count` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
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

    /// `1 − dot / √(na·nb)` clamped to `[0, 2]`; 1 when a norm is zero or the product overflows.
    @inline(__always)
    static func cosineDistance(dot: Float, squaredNormA: Float, squaredNormB: Float) -> Float {
        let denominator = (squaredNormA * squaredNormB).squareRoot()
        guard denominator > 0, denominator.isFinite else { return 1 }
        let d = 1 - dot / denominator
        return min(max(d, 0), 2)
    }

    /// Cosine distance in one pass (dot product and both norms).
    @inline(__always)
    static func cosineDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        // Four accumulators per sum (12 ymm registers): with two per norm, each norm chain took two
        // dependent FMAs per 32 floats and latency, not the FMA ports, bounded the loop.
        var d0 = SIMD8<Float>(), d1 = SIMD8<Float>(), d2 = SIMD8<Float>(), d3 = SIMD8<Float>()
        var na0 = SIMD8<Float>(), na1 = SIMD8<Float>(), na2 = SIMD8<Float>(), na3 = SIMD8<Float>()
        var nb0 = SIMD8<Float>(), nb1 = SIMD8<Float>(), nb2 = SIMD8<Float>(), nb3 = SIMD8<Float>()
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

    // MARK: - Batches: one query against `n` stored vectors (the index's neighbour lists)

    /// `out[j] = l2Squared(query, vectors[j])` for j in 0..<n.
    @inline(__always)
    static func l2SquaredBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                               count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = l2Squared(query, vectors[j].assumingMemoryBound(to: Float.self), count: count)
            j &+= 1
        }
    }

    /// `out[j] = −dot(query, vectors[j])` (metric ip).
    @inline(__always)
    static func negatedDotBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = -dot(query, vectors[j].assumingMemoryBound(to: Float.self), count: count)
            j &+= 1
        }
    }

    /// `out[j] = 1 − dot(query, vectors[j])` clamped to [0, 2] (metric cosine on unit vectors).
    @inline(__always)
    static func unitCosineBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = min(max(1 - dot(query, vectors[j].assumingMemoryBound(to: Float.self), count: count), 0), 2)
            j &+= 1
        }
    }

    // MARK: - Half precision: stored vectors of IEEE binary16 components, queries in Float

    /// The float values of the 8 halves at `p + 2·index` (unaligned). The AVX2 build converts with
    /// F16C (`vcvtph2ps`, one instruction); the portable build with lane arithmetic, because
    /// `Float(Float16)` without F16C is a library call per lane: the half's exponent and mantissa
    /// moved into a float's places read as a float 2¹¹² too small (a half subnormal as a float
    /// subnormal), so one multiply rebiases it, then the sign goes back on. Exact for every finite
    /// half (a graph stores no infinities or NaNs); no per-lane compares, which Swift lowers to
    /// scalar code on SSE.
    @inline(__always)
    static func loadHalves(_ p: UnsafeRawPointer, _ index: Int) -> SIMD8<Float> {
        #if FUTE_FMA
        return SIMD8<Float>(p.loadUnaligned(fromByteOffset: index &* 2, as: SIMD8<Float16>.self))
        #else
        let h = SIMD8<UInt32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: index &* 2, as: SIMD8<UInt16>.self))
        let magnitude = unsafeBitCast((h & 0x7FFF) &<< 13, to: SIMD8<Float>.self) * 0x1p112
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | ((h & 0x8000) &<< 16), to: SIMD8<Float>.self)
        #endif
    }

    /// The float value of the finite half at `p + 2·index` (scalar tails; same conversion as ``loadHalves``).
    @inline(__always)
    static func loadHalf(_ p: UnsafeRawPointer, _ index: Int) -> Float {
        #if FUTE_FMA
        return Float(p.loadUnaligned(fromByteOffset: index &* 2, as: Float16.self))
        #else
        let h = UInt32(p.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self))
        let magnitude = Float(bitPattern: (h & 0x7FFF) &<< 13) * 0x1p112
        return Float(bitPattern: magnitude.bitPattern | ((h & 0x8000) &<< 16))
        #endif
    }

    /// Writes the float values of `count` finite halves at `source` (any alignment) to `target`.
    @inline(__always)
    static func decodeHalves(_ source: UnsafeRawPointer, _ target: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i &+ 8 <= count {
            UnsafeMutableRawPointer(target + i).storeBytes(of: loadHalves(source, i), as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count {
            target[i] = loadHalf(source, i)
            i &+= 1
        }
    }

    /// `Σ (aᵢ − bᵢ)²` with `b` in halves.
    @inline(__always)
    static func halfL2Squared(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load(a, i) - loadHalves(b, i)
            let d1 = load(a, i &+ 8) - loadHalves(b, i &+ 8)
            let d2 = load(a, i &+ 16) - loadHalves(b, i &+ 16)
            let d3 = load(a, i &+ 24) - loadHalves(b, i &+ 24)
            s0 = madd(s0, d0, d0); s1 = madd(s1, d1, d1)
            s2 = madd(s2, d2, d2); s3 = madd(s3, d3, d3)
            i &+= 32
        }
        while i &+ 8 <= count {
            let d = load(a, i) - loadHalves(b, i)
            s0 = madd(s0, d, d)
            i &+= 8
        }
        var sum = reduce((s0 + s1) + (s2 + s3))
        while i < count {
            let d = a[i] - loadHalf(b, i)
            sum += d * d
            i &+= 1
        }
        return sum
    }

    /// `Σ aᵢbᵢ` with `b` in halves.
    @inline(__always)
    static func halfDot(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i &+ 32 <= count {
            s0 = madd(s0, load(a, i), loadHalves(b, i))
            s1 = madd(s1, load(a, i &+ 8), loadHalves(b, i &+ 8))
            s2 = madd(s2, load(a, i &+ 16), loadHalves(b, i &+ 16))
            s3 = madd(s3, load(a, i &+ 24), loadHalves(b, i &+ 24))
            i &+= 32
        }
        while i &+ 8 <= count {
            s0 = madd(s0, load(a, i), loadHalves(b, i))
            i &+= 8
        }
        var sum = reduce((s0 + s1) + (s2 + s3))
        while i < count {
            sum += a[i] * loadHalf(b, i)
            i &+= 1
        }
        return sum
    }

    /// `out[j] = halfL2Squared(query, vectors[j])` for j in 0..<n.
    @inline(__always)
    static func halfL2SquaredBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                   count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = halfL2Squared(query, vectors[j], count: count)
            j &+= 1
        }
    }

    /// `out[j] = −halfDot(query, vectors[j])` (metric ip).
    @inline(__always)
    static func halfNegatedDotBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                    count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = -halfDot(query, vectors[j], count: count)
            j &+= 1
        }
    }

    /// `out[j] = 1 − halfDot(query, vectors[j])` clamped to [0, 2] (cosine on unit vectors).
    @inline(__always)
    static func halfUnitCosineBatch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                    count: Int, _ out: UnsafeMutablePointer<Float>) {
        var j = 0
        while j < n {
            out[j] = min(max(1 - halfDot(query, vectors[j], count: count), 0), 2)
            j &+= 1
        }
    }
}
