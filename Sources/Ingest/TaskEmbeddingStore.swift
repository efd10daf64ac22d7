import Embedders
import Foundation
import FuteDB
import Readers

/// Stores task embeddings through FuteDB's public API, in spaces that record how their vectors
/// were made (`Space.provenance`): a space made with another encoder, method or seed is refused.
public enum TaskEmbeddingStore {
    /// The embedding kind FuteDB records for a task embedding.
    static func kind(_ kind: TaskEmbeddingKind) -> EmbeddingKind {
        switch kind {
        case .dte: return .dte
        case .mte: return .mte
        case .textemb: return .textemb
        }
    }

    /// The surrogate settings to embed into `space` with `seed`: the ones the space recorded when it
    /// is a FUTE space this version can read (so a space made with whole attention deltas, before
    /// sketching, keeps receiving whole deltas), else the defaults.
    public static func surrogateSettings(space: String, seed: UInt64, in database: FuteDatabase) throws -> SurrogateSettings {
        try database.read { reader in
            guard let existing = try reader.space(named: space), existing.provenance.method == TaskEmbeddingMethod.fute.rawValue,
                  let recorded = SurrogateSettings(recorded: existing.provenance.extra, seed: seed) else { return SurrogateSettings(seed: seed) }
            return recorded
        }
    }

    /// Throws when `space` exists with another dimension or provenance than `provenance` would give,
    /// naming both. Call it before encoding to fail fast; `store` checks again.
    public static func checkCompatible(space: String, provenance: EmbeddingProvenance, dimension: Int, in database: FuteDatabase) throws {
        try database.read { reader in
            guard let existing = try reader.space(named: space) else { return }
            try check(existing, against: provenance.spaceProvenance, dimension: dimension)
        }
    }

    static func check(_ existing: Space, against wanted: Provenance, dimension: Int) throws {
        if existing.provenance != wanted {
            throw FuteError(.conflict, "space \"\(existing.name)\" was made with \(describe(existing.provenance)) (differs: \(existing.provenance.mismatches(with: wanted).joined(separator: "; "))); this ingest uses \(describe(wanted)). Vectors made differently are not comparable: use the space's encoder/method/seed, or another space name", field: "space")
        }
        if existing.dimension != dimension {
            throw FuteError(.dimensionMismatch, "space \"\(existing.name)\" has dimension \(existing.dimension) but this embedding has \(dimension); use another space name", field: "space")
        }
    }

    /// Human-readable provenance, e.g. `encoder all-MiniLM-L6-v2 (sha256 53aa…), method fute, seed 0, rank 128, …`.
    public static func describe(_ p: Provenance) -> String {
        var parts: [String] = []
        parts.append("encoder \(p.encoder ?? "(none)") (sha256 \(p.encoderChecksum ?? "(none)"))")
        parts.append("method \(p.method ?? "(none)")")
        if let seed = p.seed { parts.append("seed \(seed)") }
        if p.comparison != .metric { parts.append("comparison \(p.comparison.rawValue)") }
        for key in p.extra.keys.sorted() { parts.append("\(key) \(p.extra[key] ?? "")") }
        return parts.joined(separator: ", ")
    }

    /// Stores `embedding` as subject `name` in `space` (created on first use with the embedding's
    /// provenance, cosine metric and `index` parameters, default FuteDB's), in one write transaction.
    ///
    /// The subject is a dataset for DTE/TextEmb and a model for MTE; `metadata` is merged over the
    /// subject's existing metadata (a subject can live in several spaces). The embedding's
    /// `examples` (method `examples`) replace the dataset's examples in the space's example space.
    public static func store(_ embedding: TaskEmbedding, name: String, space: String, metadata: [String: JSONValue] = [:],
                             index: IndexParameters? = nil, in database: FuteDatabase) throws {
        try store(records: [TaskRecord(embedding, name: name, metadata: metadata)], space: space, index: index, in: database)
    }

    /// Stores `records` in `space` in one write transaction, each as ``store(_:name:space:metadata:index:in:)``
    /// stores an embedding: the space is created by the first record (its provenance and dimension)
    /// when missing, and a record made another way than the space is refused (`conflict`), so the
    /// transaction stores nothing. Check files first with ``checkRecords(_:file:expected:)``.
    public static func store(records: [TaskRecord], space: String, index: IndexParameters? = nil, in database: FuteDatabase) throws {
        try database.write { writer in
            for record in records {
                if let existing = try writer.space(named: space) {
                    try check(existing, against: record.provenance, dimension: record.vector.count)
                } else {
                    try writer.createSpace(Space(name: space, dimension: record.vector.count, metric: .cosine, provenance: record.provenance,
                                                 index: index ?? IndexParameters()))
                }
                var merged = try writer.subject(named: record.name)?.metadata.objectValue ?? [:]
                for (key, value) in record.metadata { merged[key] = value }
                try writer.upsertSubject(Subject(name: record.name, kind: record.subjectKind, metadata: .object(merged)))
                try writer.putEmbedding(space: space, subject: record.name, vector: record.vector, kind: kind(record.kind))
                if !record.examples.isEmpty {
                    try writer.putExamples(space: space, dataset: record.name, vectors: record.examples)
                }
            }
        }
    }

    /// What a space must match for records to go into it: its provenance and dimension, and where they came from.
    public struct RecordExpectation: Sendable {
        /// The provenance every record must have.
        public var provenance: Provenance
        /// The dimension every vector must have.
        public var dimension: Int
        /// Where the expectation comes from, for messages: `space "S"` or `FILE:LINE`.
        public var origin: String
    }

    /// The expectation of an existing `space`, or nil when it does not exist yet.
    public static func expectation(space: String, in database: FuteDatabase) throws -> RecordExpectation? {
        try database.read { reader in
            try reader.space(named: space).map { RecordExpectation(provenance: $0.provenance, dimension: $0.dimension, origin: "space \"\(space)\"") }
        }
    }

    /// Checks every record of `file` against `expected` (the space's provenance and dimension, or,
    /// for a new space, the first record's) and returns the expectation for the next file. A record
    /// made another way is refused at its line, naming every differing field with both values.
    public static func checkRecords(_ records: [TaskRecord], file: String,
                                    expected: RecordExpectation?) throws(ReaderError) -> RecordExpectation? {
        var expected = expected
        for record in records {
            guard let wanted = expected else {
                expected = RecordExpectation(provenance: record.provenance, dimension: record.vector.count, origin: "\(file):\(record.line)")
                continue
            }
            if record.provenance != wanted.provenance {
                let fields = record.provenance.mismatches(with: wanted.provenance).joined(separator: "; ")
                throw ReaderError(.provenanceMismatch, file: file, line: record.line, field: "provenance",
                                  "field \"provenance\" differs from that of \(wanted.origin) (record vs \(wanted.origin)): \(fields). Record: \(describe(record.provenance)); \(wanted.origin): \(describe(wanted.provenance)). Vectors made differently are not comparable: recompute with the same encoder/method/seed, or ingest into another space")
            }
            if record.vector.count != wanted.dimension {
                throw ReaderError(.dimensionMismatch, file: file, line: record.line, field: "vector",
                                  "field \"vector\" has \(record.vector.count) numbers but \(wanted.origin) has dimension \(wanted.dimension); ingest into another space")
            }
        }
        return expected
    }
}
