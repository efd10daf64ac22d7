import Kernels

/// Deterministic generator (SplitMix64), independent of the code under test.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func vector(_ d: Int) -> [Float] { (0..<d).map { _ in Float.random(in: -1...1, using: &self) } }
    /// Clustered data (more realistic than uniform noise): centre + small noise.
    mutating func clustered(_ n: Int, _ d: Int, clusters: Int = 20) -> [[Float]] {
        let centres = (0..<clusters).map { _ in vector(d) }
        return (0..<n).map { _ in
            let c = centres[Int.random(in: 0..<clusters, using: &self)]
            return c.map { $0 + Float.random(in: -0.3...0.3, using: &self) }
        }
    }
}

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
