// C entry points for the AVX2+FMA build of Sources/Kernels/SIMDKernels.swift. Not part of any
// target: Tools/generate-avx2-kernels.sh compiles the two files together with
// `-Xcc -mavx2 -Xcc -mfma -D FUTE_FMA` and checks the assembly in as
// Sources/CFuteKernels/kernels_avx2_x86_64_linux.S. The C declarations are in
// Sources/CFuteKernels/include/CFuteKernels.h; keep both in step.
//
// Pointers, Ints and Floats only: these functions run without the Swift runtime being involved.

@_cdecl("fute_avx2_l2sq")
func fute_avx2_l2sq(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    SIMDKernels.l2Squared(a, b, count: count)
}

@_cdecl("fute_avx2_dot")
func fute_avx2_dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    SIMDKernels.dot(a, b, count: count)
}

@_cdecl("fute_avx2_cosine_distance")
func fute_avx2_cosine_distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    SIMDKernels.cosineDistance(a, b, count: count)
}

@_cdecl("fute_avx2_l2sq_batch")
func fute_avx2_l2sq_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                          _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.l2SquaredBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_negated_dot_batch")
func fute_avx2_negated_dot_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                 _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.negatedDotBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_unit_cosine_batch")
func fute_avx2_unit_cosine_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                 _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.unitCosineBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_half_l2sq")
func fute_avx2_half_l2sq(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, _ count: Int) -> Float {
    SIMDKernels.halfL2Squared(a, b, count: count)
}

@_cdecl("fute_avx2_half_dot")
func fute_avx2_half_dot(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, _ count: Int) -> Float {
    SIMDKernels.halfDot(a, b, count: count)
}

@_cdecl("fute_avx2_half_l2sq_batch")
func fute_avx2_half_l2sq_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                               _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.halfL2SquaredBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_half_negated_dot_batch")
func fute_avx2_half_negated_dot_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                      _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.halfNegatedDotBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_half_unit_cosine_batch")
func fute_avx2_half_unit_cosine_batch(_ query: UnsafePointer<Float>, _ vectors: UnsafePointer<UnsafeRawPointer>, _ n: Int,
                                      _ count: Int, _ out: UnsafeMutablePointer<Float>) {
    SIMDKernels.halfUnitCosineBatch(query, vectors, n, count: count, out)
}

@_cdecl("fute_avx2_decode_halves")
func fute_avx2_decode_halves(_ source: UnsafeRawPointer, _ target: UnsafeMutablePointer<Float>, _ count: Int) {
    SIMDKernels.decodeHalves(source, target, count: count)
}
