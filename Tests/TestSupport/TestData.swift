import Foundation

/// Deterministic values (SplitMix64), independent of the code under test, so failures reproduce.
public struct SplitMixValues: Sendable {
    private var generator: TestRNG

    public init(seed: UInt64) { generator = TestRNG(seed: seed) }

    /// The next 64 random bits.
    public mutating func nextBits() -> UInt64 { generator.next() }

    /// Uniform in [-1, 1), from the top 53 bits.
    public mutating func next() -> Float { Float(Double(nextBits() >> 11) / Double(1 << 53) * 2 - 1) }

    /// `count` vectors of `dimension` values uniform in [-1, 1).
    public mutating func vectors(count: Int, dimension: Int) -> [[Float]] {
        (0..<count).map { _ in (0..<dimension).map { _ in next() } }
    }
}

/// JSONL vector records `{"name": "<prefix>i", "vector": [...]}` (Swift's `description` round-trips floats).
public func vectorLines(_ rows: [[Float]], prefix: String = "v") -> String {
    rows.enumerated().map { index, row in
        "{\"name\": \"\(prefix)\(index)\", \"vector\": [\(row.map { "\($0)" }.joined(separator: ", "))]}"
    }.joined(separator: "\n") + "\n"
}

/// texmex `.fvecs` bytes: per row, a little-endian Int32 dimension then the float32 values.
public func fvecs(_ rows: [[Float]]) -> [UInt8] {
    rows.flatMap { row -> [UInt8] in
        var bytes = withUnsafeBytes(of: Int32(row.count).littleEndian) { Array($0) }
        for value in row { bytes += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        return bytes
    }
}

/// A `.npy` version 1.0 file with `header` as its dictionary and `payload` as the data.
public func npy(header dictionary: String, payload: [UInt8]) -> [UInt8] {
    var text = dictionary
    while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
    text += "\n"
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)] + Array(text.utf8) + payload
}

/// Little-endian float32 bytes of `values`.
public func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// Parses `text` as JSON (fragments allowed).
public func decodeJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
