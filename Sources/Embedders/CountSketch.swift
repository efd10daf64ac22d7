import Readers

/// A count sketch (Charikar, Chen & Farach-Colton 2002) with a fixed hash: coordinate i of the input
/// is added, with sign s(i), to bucket h(i) of the output. Linear, and E[⟨sketch a, sketch b⟩] =
/// ⟨a, b⟩, so cosines survive up to an error of order 1/√width (measured on MiniLM's tuned attention
/// deltas, 591,360 → 4,096 floats: centered cosines between tasks move by at most 0.04).
///
/// The hash is the same for every space and seed, so any two sketches of one width are comparable.
public enum CountSketch {
    /// The hash's key. Part of the stored format: a space records ``name(width:)``, and a sketch made
    /// with another key would not be comparable.
    static let key: UInt64 = 0x6675_7465_2D73_6B31  // "fute-sk1"

    /// What a recorded sketch name starts with; the width follows.
    private static let namePrefix = "count-sketch-fute-sk1-"

    /// How a space records a sketch of `width` (e.g. `count-sketch-fute-sk1-4096`).
    public static func name(width: Int) -> String { namePrefix + String(width) }

    /// The width recorded in `name`, or `nil` when it is not a sketch this version makes.
    public static func width(named name: String) -> Int? {
        guard name.hasPrefix(namePrefix), let width = Int(name.dropFirst(namePrefix.count)), width > 0, self.name(width: width) == name else { return nil }
        return width
    }

    /// Bucket and sign of input coordinate `i` for a sketch of `width` buckets.
    static func bucket(_ i: Int, width: Int) -> (index: Int, sign: Float) {
        var rng = SplitMix64(seed: key ^ UInt64(i))
        let h = rng.next()
        return (Int(h % UInt64(width)), (h >> 63) == 0 ? 1 : -1)
    }

    /// The sketch of `vector`, `width` floats.
    public static func apply(_ vector: [Float], width: Int) -> [Float] {
        precondition(width > 0, "sketch width must be positive")
        var out = [Float](repeating: 0, count: width)
        for (i, v) in vector.enumerated() where v != 0 {
            let (b, sign) = bucket(i, width: width)
            out[b] += sign * v
        }
        return out
    }
}
