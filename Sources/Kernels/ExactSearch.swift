/// Brute-force k-nearest-neighbour search: the ground truth for the index and the fallback for
/// small or heavily filtered spaces.
public enum ExactSearch {
    /// The `k` nearest rows of `base` (row-major `n × dimension`) to `query`, ascending distance,
    /// ties by lower row id. Rows for which `isIncluded` returns false are skipped. SIMD path.
    public static func search(query: [Float], base: [Float], dimension: Int, metric: Metric, k: Int,
                              isIncluded: ((Int) -> Bool)? = nil) -> [Neighbor] {
        precondition(dimension > 0, "ExactSearch.search: dimension must be positive")
        precondition(query.count == dimension, "ExactSearch.search: query has \(query.count) floats, dimension is \(dimension)")
        precondition(base.count % dimension == 0, "ExactSearch.search: base size \(base.count) is not a multiple of \(dimension)")
        let n = base.count / dimension
        var top = TopK(k: max(0, min(k, n)))
        guard top.k > 0 else { return [] }
        query.withUnsafeBufferPointer { q in
            base.withUnsafeBufferPointer { b in
                guard let qp = q.baseAddress, let bp = b.baseAddress else { return }
                for row in 0..<n {
                    if let isIncluded, !isIncluded(row) { continue }
                    let d = Distance.distance(metric, qp, bp + row * dimension, count: dimension)
                    top.offer(id: row, distance: d)
                }
            }
        }
        return top.sorted()
    }

    /// The `k` nearest rows of `base` for each of many `queries` (row-major `q × dimension`),
    /// computed as one matrix product through `cblas_sgemm` per block of queries.
    ///
    /// l2 uses `|q|² + |x|² − 2 q·x` (clamped at 0); cosine normalises copies of both sides first
    /// (zero vectors stay zero, so their distance is 1); ip is `−q·x`. Distances can differ from
    /// ``search(query:base:dimension:metric:k:isIncluded:)`` by float rounding.
    public static func batchSearch(queries: [Float], base: [Float], dimension: Int, metric: Metric, k: Int) -> [[Neighbor]] {
        precondition(dimension > 0, "ExactSearch.batchSearch: dimension must be positive")
        precondition(queries.count % dimension == 0, "ExactSearch.batchSearch: queries size is not a multiple of \(dimension)")
        precondition(base.count % dimension == 0, "ExactSearch.batchSearch: base size is not a multiple of \(dimension)")
        let nq = queries.count / dimension
        let n = base.count / dimension
        let kk = max(0, min(k, n))
        guard nq > 0 else { return [] }
        guard kk > 0 else { return Array(repeating: [], count: nq) }

        let q = metric == .cosine ? normalizedRows(queries, dimension: dimension) : queries
        let x = metric == .cosine ? normalizedRows(base, dimension: dimension) : base
        let baseNorms: [Float] = metric == .l2 ? rowSquaredNorms(x, dimension: dimension) : []
        let queryNorms: [Float] = metric == .l2 ? rowSquaredNorms(q, dimension: dimension) : []

        var results: [[Neighbor]] = []
        results.reserveCapacity(nq)
        forEachDotRow(queries: q, base: x, dimension: dimension) { i, row in
            var top = TopK(k: kk)
            switch metric {
            case .l2:
                let qn = queryNorms[i]
                for j in 0..<n { top.offer(id: j, distance: max(0, qn + baseNorms[j] - 2 * row[j])) }
            case .ip:
                for j in 0..<n { top.offer(id: j, distance: -row[j]) }
            case .cosine:
                for j in 0..<n {
                    let d = 1 - row[j]
                    top.offer(id: j, distance: min(max(d, 0), 2))
                }
            }
            results.append(top.sorted())
        }
        // Cosine with a zero vector is defined as distance 1; the normalised zero row gives dot 0
        // and so already 1. Nothing to patch.
        return results
    }

    /// For each row of `queries` (row-major `q × dimension`), the mean of its `count` largest dot
    /// products with the rows of `base` (of all of them when `base` has fewer rows); empty when
    /// either side is. One `cblas_sgemm` per block of queries, the score block kept at about
    /// 16 M floats (64 MB). Cosine callers pass normalised rows (``normalizedRows(_:dimension:)``).
    public static func meanOfLargestDots(queries: [Float], base: [Float], dimension: Int, count: Int) -> [Double] {
        precondition(dimension > 0, "ExactSearch.meanOfLargestDots: dimension must be positive")
        precondition(queries.count % dimension == 0, "ExactSearch.meanOfLargestDots: queries size is not a multiple of \(dimension)")
        precondition(base.count % dimension == 0, "ExactSearch.meanOfLargestDots: base size is not a multiple of \(dimension)")
        let nq = queries.count / dimension
        let n = base.count / dimension
        let kk = min(max(count, 1), n)
        guard nq > 0, n > 0 else { return [] }
        var means: [Double] = []
        means.reserveCapacity(nq)
        var best = [Float](repeating: 0, count: kk)
        forEachDotRow(queries: queries, base: base, dimension: dimension) { _, row in
            // The kk largest so far, and the position of their minimum.
            for j in 0..<kk { best[j] = row[j] }
            var low = 0
            for j in 1..<kk where best[j] < best[low] { low = j }
            for j in kk..<n where row[j] > best[low] {
                best[low] = row[j]
                low = 0
                for i in 1..<kk where best[i] < best[low] { low = i }
            }
            means.append(best.reduce(0.0) { $0 + Double($1) } / Double(kk))
        }
        return means
    }

    /// Calls `body(i, row)` for each query row i (in order) with its dot products against every
    /// row of `base` (`row[j]` = q_i · x_j), computed by one `cblas_sgemm` per block of queries so
    /// the score block stays around 16 M floats (64 MB). `row` is valid only during the call.
    /// Both matrices are row-major with `dimension` columns and at least one row.
    private static func forEachDotRow(queries: [Float], base: [Float], dimension: Int,
                                      _ body: (Int, UnsafeBufferPointer<Float>) -> Void) {
        let nq = queries.count / dimension
        let n = base.count / dimension
        let block = max(1, min(nq, (1 << 24) / max(n, 1)))
        var scores = [Float](repeating: 0, count: block * n)
        queries.withUnsafeBufferPointer { qb in
            base.withUnsafeBufferPointer { xb in
                scores.withUnsafeMutableBufferPointer { sb in
                    guard let qp = qb.baseAddress, let xp = xb.baseAddress, let sp = sb.baseAddress else { return }
                    var start = 0
                    while start < nq {
                        let rows = min(block, nq - start)
                        BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: n, k: dimension, alpha: 1,
                                   a: qp + start * dimension, lda: dimension, b: xp, ldb: dimension,
                                   beta: 0, c: sp, ldc: n)
                        for r in 0..<rows { body(start + r, UnsafeBufferPointer(start: sp + r * n, count: n)) }
                        start += rows
                    }
                }
            }
        }
    }

    /// Squared norm of every row.
    static func rowSquaredNorms(_ m: [Float], dimension: Int) -> [Float] {
        let n = m.count / dimension
        var out = [Float](repeating: 0, count: n)
        m.withUnsafeBufferPointer { mb in
            guard let p = mb.baseAddress else { return }
            for i in 0..<n { out[i] = Distance.squaredNorm(p + i * dimension, count: dimension) }
        }
        return out
    }

    /// Each row divided by its Euclidean norm; zero rows stay zero.
    public static func normalizedRows(_ m: [Float], dimension: Int) -> [Float] {
        var out = m
        let n = m.count / dimension
        out.withUnsafeMutableBufferPointer { ob in
            guard let p = ob.baseAddress else { return }
            for i in 0..<n {
                let row = p + i * dimension
                let norm = Distance.squaredNorm(row, count: dimension).squareRoot()
                guard norm > 0, norm.isFinite else { continue }
                let inv = 1 / norm
                for j in 0..<dimension { row[j] *= inv }
            }
        }
        return out
    }
}
