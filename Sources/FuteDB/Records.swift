import Foundation
import Index
import Kernels

/// How vectors of a space are compared: `cosine` (score = cosine similarity), `ip`
/// (score = dot product) or `l2` (score = squared Euclidean distance).
public typealias Metric = Kernels.Metric

/// Which build of the distance kernels runs (``KernelVariant/active``, ``KernelVariant/summary``):
/// AVX2+FMA chosen at run time on CPUs that have them, else portable SIMD.
public typealias KernelVariant = Kernels.KernelVariant

/// The knobs of a space's HNSW index: `m` (links per node), `efConstruction`, `efSearch`,
/// and how it stores vectors (`encoding`).
public typealias IndexParameters = Index.HNSWParameters

/// How a space's HNSW index stores vectors: float32, or float16 (the default for cosine on a CPU
/// with F16C). Results are always scored from the exact Float embeddings.
public typealias VectorEncoding = Index.VectorEncoding

/// One structural problem of a space's HNSW index (see ``DatabaseReader/indexProblems(space:)``).
public typealias IndexProblem = Index.IndexProblem

/// How the query layer compares the task vectors of a space (``Space/comparison``).
public enum Comparison: String, Codable, Sendable, Hashable, CaseIterable {
    /// The space's ``Metric`` as is.
    case metric
    /// Centered cosine: each vector is scaled to unit length and the mean unit vector of the
    /// space's datasets is subtracted before the cosine. It removes what every task of the space
    /// shares (a "hub" direction that makes some tasks near to all others), as CSLS does for word
    /// vectors. FUTE's attention-delta spaces are compared this way.
    case centeredCosine = "centered-cosine"
}

/// How the vectors of a space were made. Vectors are comparable only when every field matches:
/// the same surrogate (encoder + checksum), the same method and the same seed.
public struct Provenance: Codable, Sendable, Hashable {
    /// The embedding method, e.g. `"fute-dte"`, `"textemb"`, `"raw"`.
    public var method: String?
    /// The encoder or surrogate identifier, e.g. `"all-MiniLM-L6-v2"`.
    public var encoder: String?
    /// A checksum of the encoder's weights.
    public var encoderChecksum: String?
    /// The seed of the surrogate's trainable part.
    public var seed: UInt64?
    /// How the query layer compares the space's tasks (decided by the method that made them).
    public var comparison: Comparison
    /// Anything else worth recording (free-form). The key `comparison` is reserved: it is where
    /// ``comparison`` is stored, so that stores written before the field existed read the same.
    public var extra: [String: String]

    /// Creates a provenance; every field is optional.
    public init(method: String? = nil, encoder: String? = nil, encoderChecksum: String? = nil,
                seed: UInt64? = nil, comparison: Comparison = .metric, extra: [String: String] = [:]) {
        self.method = method
        self.encoder = encoder
        self.encoderChecksum = encoderChecksum
        self.seed = seed
        self.comparison = comparison
        self.extra = extra
    }

    /// Decodes, taking defaults for absent fields; `extra["comparison"]` becomes ``comparison``.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decodeIfPresent(String.self, forKey: .method)
        encoder = try c.decodeIfPresent(String.self, forKey: .encoder)
        encoderChecksum = try c.decodeIfPresent(String.self, forKey: .encoderChecksum)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        var extra = try c.decodeIfPresent([String: String].self, forKey: .extra) ?? [:]
        comparison = .metric
        if let raw = extra.removeValue(forKey: Self.comparisonKey) {
            guard let comparison = Comparison(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(forKey: .extra, in: c, debugDescription: "unknown comparison \"\(raw)\"; known: \(Comparison.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.comparison = comparison
        }
        self.extra = extra
    }

    /// Encodes in the stored layout: ``comparison`` (when not ``Comparison/metric``) as `extra["comparison"]`.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(method, forKey: .method)
        try c.encodeIfPresent(self.encoder, forKey: .encoder)
        try c.encodeIfPresent(encoderChecksum, forKey: .encoderChecksum)
        try c.encodeIfPresent(seed, forKey: .seed)
        var stored = extra
        if comparison != .metric { stored[Self.comparisonKey] = comparison.rawValue }
        try c.encode(stored, forKey: .extra)
    }

    /// The `extra` key that holds ``comparison`` in the stored layout (and in task records).
    public static let comparisonKey = "comparison"

    private enum CodingKeys: String, CodingKey { case method, encoder, encoderChecksum, seed, extra }

    /// Flat text form: `method`, `encoder`, `encoderChecksum`, `seed` and `comparison` when set,
    /// and every `extra` key at the top level (what a mismatch report names).
    public var fields: [String: String] {
        var f = extra
        if let method { f["method"] = method }
        if let encoder { f["encoder"] = encoder }
        if let encoderChecksum { f["encoderChecksum"] = encoderChecksum }
        if let seed { f["seed"] = String(seed) }
        if comparison != .metric { f[Self.comparisonKey] = comparison.rawValue }
        return f
    }

    /// The fields that differ from `other`, in key order, each as `name: mine vs other's`
    /// (`(none)` for an absent field); empty when the two are equal.
    public func mismatches(with other: Provenance) -> [String] {
        Self.mismatches(fields, other.fields)
    }

    /// The keys whose values differ between two flat forms, in key order, each as `name: a vs b`.
    private static func mismatches(_ a: [String: String], _ b: [String: String]) -> [String] {
        Set(a.keys).union(b.keys).sorted().compactMap { key in
            let x = a[key] ?? "(none)", y = b[key] ?? "(none)"
            return x == y ? nil : "\(key): \(x) vs \(y)"
        }
    }
}

/// A vector space: every embedding in it has the same dimension, was made the same way
/// (``provenance``) and is compared with the same ``metric``. Embeddings of different spaces are
/// never compared.
public struct Space: Codable, Sendable, Hashable {
    /// The unique name (1 to 511 UTF-8 bytes).
    public var name: String
    /// The number of floats per vector (≥ 1).
    public var dimension: Int
    /// How vectors are compared.
    public var metric: Metric
    /// How the vectors were made.
    public var provenance: Provenance
    /// The HNSW index parameters.
    public var index: IndexParameters
    /// How the query layer compares this space's tasks (its provenance's ``Provenance/comparison``).
    public var comparison: Comparison { provenance.comparison }

    /// Creates a space definition.
    public init(name: String, dimension: Int, metric: Metric = .cosine, provenance: Provenance = .init(),
                index: IndexParameters = .init()) {
        self.name = name
        self.dimension = dimension
        self.metric = metric
        self.provenance = provenance
        self.index = index
    }

    /// Decodes, taking defaults for absent optional fields.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        dimension = try c.decode(Int.self, forKey: .dimension)
        metric = try c.decode(Metric.self, forKey: .metric)
        provenance = try c.decodeIfPresent(Provenance.self, forKey: .provenance) ?? .init()
        index = try c.decodeIfPresent(IndexParameters.self, forKey: .index) ?? .init()
    }

    private enum CodingKeys: String, CodingKey { case name, dimension, metric, provenance, index }

    /// Spaces are equal when every field is.
    public static func == (a: Space, b: Space) -> Bool {
        a.name == b.name && a.dimension == b.dimension && a.metric == b.metric && a.provenance == b.provenance && a.index == b.index
    }

    /// Hashes the name (equal spaces have equal names).
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// What a subject is.
public enum SubjectKind: String, Codable, Sendable, CaseIterable {
    /// A dataset (a task): its embedding is a DTE, TextEmb or raw vector.
    case dataset
    /// A model, or a model with a prompt: its embedding is an MTE.
    case model
    /// One example of a dataset, kept in the dataset's space's example space (see ``ExampleSpaces``):
    /// named `<dataset>#<i>`, with `{"of": "<dataset>"}` in its metadata. Deleting the dataset deletes it.
    case example
}

/// Something that has embeddings: a dataset, a model, or an example of a dataset. Names are unique across kinds.
public struct Subject: Codable, Sendable, Hashable {
    /// The unique name (1 to 511 UTF-8 bytes).
    public var name: String
    /// Dataset, model or example.
    public var kind: SubjectKind
    /// Free metadata; always a JSON object (family, model family, prompt text, source file…).
    public var metadata: JSONValue

    /// Creates a subject. `metadata` must be a JSON object.
    public init(name: String, kind: SubjectKind, metadata: JSONValue = .emptyObject) {
        self.name = name
        self.kind = kind
        self.metadata = metadata
    }
}

/// How an embedding was made.
public enum EmbeddingKind: String, Codable, Sendable, CaseIterable {
    /// A vector supplied as-is.
    case raw
    /// TextEmb: the mean of the encoder's pooled text representations over a dataset.
    case textemb
    /// FUTE dataset task embedding.
    case dte
    /// FUTE model task embedding.
    case mte

    var byte: UInt8 {
        switch self { case .raw: 0; case .textemb: 1; case .dte: 2; case .mte: 3 }
    }

    init?(byte: UInt8) {
        switch byte { case 0: self = .raw; case 1: self = .textemb; case 2: self = .dte; case 3: self = .mte; default: return nil }
    }
}

/// One subject's vector in one space. A subject has at most one embedding per space.
public struct Embedding: Sendable, Equatable {
    /// The space's name.
    public var space: String
    /// The subject's name.
    public var subject: String
    /// The vector; its length is the space's dimension.
    public var vector: [Float]
    /// How the vector was made.
    public var kind: EmbeddingKind
    /// When the vector was stored (millisecond precision).
    public var createdAt: Date

    /// Creates an embedding value.
    public init(space: String, subject: String, vector: [Float], kind: EmbeddingKind, createdAt: Date) {
        self.space = space
        self.subject = subject
        self.vector = vector
        self.kind = kind
        self.createdAt = createdAt
    }
}

/// A measured transfer result: fine-tuning on `source` then `target` scored `score` on `metric`.
/// One observation is kept per (source, target, metric); adding it again replaces the score.
public struct TransferObservation: Codable, Sendable, Hashable {
    /// The source (intermediate) task or model.
    public var source: String
    /// The target task.
    public var target: String
    /// The name of the measure, e.g. `"accuracy"`. Default: `"score"`.
    public var metric: String
    /// The measured value.
    public var score: Double

    /// Creates an observation.
    public init(source: String, target: String, metric: String = "score", score: Double) {
        self.source = source
        self.target = target
        self.metric = metric
        self.score = score
    }
}

/// One answer of a nearest-neighbour query.
public struct SearchResult: Sendable, Equatable {
    /// The subject's name.
    public var name: String
    /// The subject's kind.
    public var kind: SubjectKind
    /// Cosine similarity (cosine), dot product (ip), or squared Euclidean distance (l2).
    /// Results come best first: descending score for cosine and ip, ascending for l2.
    public var score: Double

    /// Creates a result.
    public init(name: String, kind: SubjectKind, score: Double) {
        self.name = name
        self.kind = kind
        self.score = score
    }
}

/// Totals describing a store (``DatabaseReader/stats()``).
public struct DatabaseStats: Sendable, Equatable {
    /// One space's totals.
    public struct SpaceStats: Sendable, Equatable {
        /// The space's name.
        public var name: String
        /// Its dimension.
        public var dimension: Int
        /// Its metric.
        public var metric: Metric
        /// The number of embeddings in it.
        public var embeddings: Int
        /// The number of embeddings per kind (kinds with none are absent).
        public var embeddingsByKind: [EmbeddingKind: Int]
        /// The number of vectors in the space's HNSW index (0 before its first write).
        public var indexed: Int
    }

    /// Every space, by name.
    public var spaces: [SpaceStats]
    /// The number of subjects per kind (every kind present, zero when none).
    public var subjects: [SubjectKind: Int]
    /// The number of transfer observations.
    public var observations: Int
    /// The size of the data file in bytes (apparent size: the file may be sparse).
    public var fileSize: Int
    /// The bytes actually occupied by pages of the store.
    public var usedBytes: Int
    /// The schema version of the store.
    public var schemaVersion: Int
}
