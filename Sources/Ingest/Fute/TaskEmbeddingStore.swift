import Foundation
import FuteDB

extension EmbeddingProvenance {
    /// The space provenance FuteDB records: method, encoder, weights checksum, seed, and the
    /// surrogate settings in `extra` (all of them define the space for FUTE).
    public var spaceProvenance: Provenance {
        guard method == .fute else {
            return Provenance(method: method.rawValue, encoder: encoder, encoderChecksum: encoderChecksum)
        }
        return Provenance(method: method.rawValue, encoder: encoder, encoderChecksum: encoderChecksum, seed: surrogate.seed,
                          comparison: surrogate.comparison, extra: surrogate.recordedFields)
    }
}

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
            throw FuteError(.conflict, "space \"\(existing.name)\" was made with \(describe(existing.provenance)); this ingest uses \(describe(wanted)). Vectors made differently are not comparable: use the space's encoder/method/seed, or another space name", field: "space")
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
        let wanted = embedding.provenance.spaceProvenance
        try database.write { writer in
            if let existing = try writer.space(named: space) {
                try check(existing, against: wanted, dimension: embedding.vector.count)
            } else {
                try writer.createSpace(Space(name: space, dimension: embedding.vector.count, metric: .cosine, provenance: wanted, index: index ?? Space(name: space, dimension: 1).index))
            }
            let subjectKind: SubjectKind = embedding.kind == .mte ? .model : .dataset
            var merged = try writer.subject(named: name)?.metadata.objectValue ?? [:]
            for (key, value) in metadata { merged[key] = value }
            try writer.upsertSubject(Subject(name: name, kind: subjectKind, metadata: .object(merged)))
            try writer.putEmbedding(space: space, subject: name, vector: embedding.vector, kind: kind(embedding.kind))
            if !embedding.examples.isEmpty {
                try writer.putExamples(space: space, dataset: name, vectors: embedding.examples)
            }
        }
    }
}
