import COpenBLAS

/// Thin safe wrappers over OpenBLAS (row-major everywhere).
public enum BLAS {
    /// `C[m×n] = alpha · op(A) · op(B) + beta · C`, row-major, where `op(A)` is `m×k` and
    /// `op(B)` is `k×n`. `lda`, `ldb`, `ldc` are row strides in floats of the matrices as stored.
    package static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "BLAS.sgemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max),
                     "BLAS.sgemm: size exceeds 32-bit BLAS indices")
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha,
                    a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Matrix product of row-major arrays: `op(A) · op(B)` with `op(A)` `m×k`, `op(B)` `k×n`.
    /// `a` holds `A` as stored (`m×k`, or `k×m` when `transposeA`), likewise `b`.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int,
                              transposeA: Bool = false, transposeB: Bool = false) -> [Float] {
        precondition(a.count == m * k, "BLAS.matmul: a has \(a.count) floats, expected \(m)×\(k)")
        precondition(b.count == k * n, "BLAS.matmul: b has \(b.count) floats, expected \(k)×\(n)")
        var c = [Float](repeating: 0, count: m * n)
        if m == 0 || n == 0 { return c }
        if k == 0 { return c }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    // Safe: all three are non-empty here, so base addresses exist.
                    guard let x = pa.baseAddress, let y = pb.baseAddress, let z = pc.baseAddress else { return }
                    sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                          a: x, lda: transposeA ? m : k, b: y, ldb: transposeB ? k : n,
                          beta: 0, c: z, ldc: n)
                }
            }
        }
        return c
    }

    /// Sets the number of OpenBLAS threads (process-wide). Benchmarks use 1 for fair comparison.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }
}

/// Memory hints for graph traversal.
public enum Prefetch {
    /// Asks the CPU to bring the cache lines of `bytes` bytes at `address` (one hint per 64-byte line) into
    /// cache: a hint, never a fault, so any address is allowed.
    @inlinable @inline(__always)
    package static func read(_ address: UnsafeRawPointer, bytes: Int = 256) {
        var offset = 0
        while offset < bytes {
            fute_prefetch(address + offset)
            offset &+= 64
        }
    }
}
