import Foundation
import Kernels

/// The knobs of an HNSW graph, as hnswlib names them.
public struct HNSWParameters: Codable, Sendable, Equatable {
    /// Links per node on the upper layers (`M`); layer 0 keeps up to `2·M`. Default 16.
    public var m: Int = 16
    /// Beam width while inserting (`efConstruction`). Default 200.
    public var efConstruction: Int = 200
    /// Default beam width while searching (`ef`), raised to `k` when smaller. Default 64.
    public var efSearch: Int = 64
    /// Seed of the level generator: the same keys inserted in the same order give the same graph.
    public var seed: UInt64 = 0x5EED_F07E
    /// How the graph stores its vectors; `nil` takes ``VectorEncoding/preferred(for:)`` when the
    /// graph is created. Fixed for the graph's life (an open graph reports the one it has).
    public var encoding: VectorEncoding?

    /// Creates parameters; every argument has the documented default.
    public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: UInt64 = 0x5EED_F07E,
                encoding: VectorEncoding? = nil) {
        self.m = m
        self.efConstruction = efConstruction
        self.efSearch = efSearch
        self.seed = seed
        self.encoding = encoding
    }

    enum CodingKeys: String, CodingKey { case m, efConstruction, efSearch, seed, encoding }

    /// Decodes, taking defaults for absent fields (older records may lack `seed`).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        m = try c.decodeIfPresent(Int.self, forKey: .m) ?? 16
        efConstruction = try c.decodeIfPresent(Int.self, forKey: .efConstruction) ?? 200
        efSearch = try c.decodeIfPresent(Int.self, forKey: .efSearch) ?? 64
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0x5EED_F07E
        encoding = try c.decodeIfPresent(VectorEncoding.self, forKey: .encoding)
    }

    /// Maximum links on layer 0 (`M0 = 2·M`).
    public var maxLinksLayer0: Int { 2 * m }

    /// Throws unless the values are usable (m in 2…256, efConstruction ≥ 1, efSearch ≥ 1).
    public func validate() throws {
        guard (2...256).contains(m) else {
            throw IndexError(.invalidParameters, "HNSW m must be between 2 and 256, got \(m); 16 is a good default")
        }
        guard efConstruction >= 1, efSearch >= 1 else {
            throw IndexError(.invalidParameters, "HNSW efConstruction and efSearch must be at least 1 (got \(efConstruction), \(efSearch))")
        }
    }

    /// The level of a node with `key`: `⌊−ln(u) · 1/ln(M)⌋` with `u` uniform in (0, 1] drawn
    /// from a hash of the key and the seed — deterministic and stateless, so a stateless LMDB
    /// handle needs no generator state.
    public func level(forKey key: UInt64) -> Int {
        var z = key ^ seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let u = (Double(z >> 11) + 1) / Double(1 << 53)  // (0, 1]
        let level = -Foundation.log(u) / Foundation.log(Double(m))
        return min(Int(level), HNSWParameters.maxLevel)
    }

    /// Highest level a node can have (the level table is bounded).
    public static let maxLevel = 24
}

/// How a graph stores each vector's components next to its links.
///
/// Layer-0 search is bound by memory: most of a hop's time is spent waiting for the fresh
/// neighbours' vectors (profile in the README). Halves move half the bytes per neighbour, and the
/// kernels convert them to Float in registers (F16C), so 384-d cosine search is markedly faster
/// at the same recall; the query stays Float, and FuteDB re-scores the results it returns from
/// its exact Float copies.
public enum VectorEncoding: String, Codable, Sendable, CaseIterable {
    /// 4 bytes per component, exact.
    case float32
    /// IEEE binary16, 2 bytes per component: 11 significant bits (relative error ≤ 2⁻¹¹),
    /// magnitudes up to 65,504.
    case float16

    /// Bytes one component takes.
    public var bytesPerComponent: Int { self == .float32 ? 4 : 2 }

    /// The position of the first component a graph of this encoding and `metric` cannot hold, or
    /// nil: a float16 graph of metric l2 or ip holds magnitudes up to 65,504 (cosine vectors are
    /// normalised to unit length first, so any finite one fits).
    public func firstUnrepresentable<C: RandomAccessCollection>(in vector: C, metric: Metric) -> Int?
    where C.Element == Float, C.Index == Int {
        guard self == .float16, metric != .cosine else { return nil }
        return vector.firstIndex { abs($0) > 65_504 }
    }

    /// The encoding a new graph gets unless its parameters name one: halves for cosine, whose
    /// stored vectors are unit length (every component in [−1, 1], where halves lose nothing
    /// that changes a ranking at recall ≥ 0.95; measured in the README), on a CPU that converts
    /// halves in hardware (the AVX2+FMA+F16C kernels; the portable conversion costs more than
    /// the bytes it saves); Float for l2 and ip, whose values may lie beyond a half's range or
    /// need more precision than it has. Either graph opens on any machine.
    public static func preferred(for metric: Metric) -> VectorEncoding {
        metric == .cosine && KernelVariant.avx2FMASupported ? .float16 : .float32
    }
}

/// An error raised by the index, with a message that says what happened and what to do.
public struct IndexError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, for matching in `catch`.
    public enum Code: String, Sendable, Equatable {
        /// Parameters out of range.
        case invalidParameters
        /// A vector of the wrong length, or with non-finite values.
        case invalidVector
        /// The stored graph is inconsistent or of an unknown format.
        case corrupted
        /// The stored graph was created with a different dimension or metric.
        case mismatch
    }
    /// The failure class.
    public let code: Code
    /// What happened and what to do.
    public let message: String
    /// Creates an error.
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    /// The message.
    public var description: String { "index error (\(code.rawValue)): \(message)" }
}
