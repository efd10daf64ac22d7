/// SplitMix64 (Steele, Lea, Flood 2014): a tiny seeded generator whose sequence is fixed forever,
/// so surrogate initialisations and example orders are reproducible across platforms and
/// Swift versions (the standard library's generator makes no such promise).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float uniform in [lower, upper), from the top 24 bits.
    public mutating func nextFloat(in lower: Float, _ upper: Float) -> Float {
        let unit = Float(next() >> 40) / Float(1 << 24)
        return lower + (upper - lower) * unit
    }

    /// A uniform integer in 0..<bound (bound > 0), by rejection so it has no modulo bias.
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        while true {
            let x = next()
            if x < limit { return Int(x % b) }
        }
    }

    /// Fisher–Yates shuffle driven by this generator (the order depends only on the seed).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            array.swapAt(i, nextIndex(below: i + 1))
        }
    }
}
