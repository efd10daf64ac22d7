import Kernels
import TestSupport

/// Brute-force k nearest keys (double precision distances), ties by lower key.
func bruteForce(_ query: [Float], _ items: [UInt64: [Float]], metric: Metric, k: Int, filter: (UInt64) -> Bool = { _ in true }) -> [UInt64] {
    func dist(_ a: [Float], _ b: [Float]) -> Double {
        switch metric {
        case .l2: return zip(a, b).reduce(0.0) { let d = Double($1.0) - Double($1.1); return $0 + d * d }
        case .ip: return -zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        case .cosine:
            let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let na = a.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let nb = b.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            return na == 0 || nb == 0 ? 1 : 1 - dot / (na * nb)
        }
    }
    var scored: [(UInt64, Double)] = []
    for (key, v) in items where filter(key) { scored.append((key, dist(query, v))) }
    scored.sort { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
    return scored.prefix(k).map { $0.0 }
}

/// recall@k of `got` against `truth`.
func recall(_ got: [[UInt64]], _ truth: [[UInt64]]) -> Double {
    var hit = 0, total = 0
    for (g, t) in zip(got, truth) {
        hit += Set(g).intersection(t).count
        total += t.count
    }
    return total == 0 ? 1 : Double(hit) / Double(total)
}
