/// The one deterministic generator of the test targets (SplitMix64), independent of the code
/// under test, so a failure reproduces from its seed.
public struct TestRNG: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `n` values uniform in `range`.
    public mutating func floats(_ n: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<n).map { _ in Float.random(in: range, using: &self) }
    }

    /// A vector of `d` values uniform in [-1, 1].
    public mutating func vector(_ d: Int) -> [Float] { floats(d) }

    /// Clustered data (more realistic than uniform noise): `n` vectors, each a random one of
    /// `clusters` centres plus noise uniform in ±0.3.
    public mutating func clustered(_ n: Int, _ d: Int, clusters: Int = 20) -> [[Float]] {
        let centres = (0..<clusters).map { _ in vector(d) }
        return (0..<n).map { _ in
            let c = centres[Int.random(in: 0..<clusters, using: &self)]
            return c.map { $0 + Float.random(in: -0.3...0.3, using: &self) }
        }
    }
}
