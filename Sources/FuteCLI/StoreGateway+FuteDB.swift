import Embedders
import Foundation
import FuteDB
import Ingest
import Readers

/// The commands' store, backed by `FuteDatabase` (LMDB). The only file in FuteCLI that calls
/// the FuteDB store API.
final class FuteDBGateway: StoreGateway {
    private let database: FuteDatabase

    /// Opens the store; `mustExist` for commands that only read (they never create a store).
    init(path: String, mustExist: Bool, writable: Bool = false) throws {
        var configuration = Configuration()
        // Commands that only read open the store read-only: they can neither create nor change it.
        configuration.createIfMissing = !mustExist
        configuration.readOnly = mustExist && !writable
        database = try FuteDatabase(path: path, configuration: configuration)
    }

    func spaces() throws -> [SpaceInfo] {
        try database.read { reader in
            try reader.spaces().map(Self.info).sorted { $0.name < $1.name }
        }
    }

    func space(_ name: String) throws -> SpaceInfo {
        try database.read { reader in Self.info(try Self.requireSpace(name, in: reader)) }
    }

    /// The space named `name`, or the CLI's error listing the spaces there are.
    private static func requireSpace(_ name: String, in reader: DatabaseReader) throws -> Space {
        if let space = try reader.space(named: name) { return space }
        let known = try reader.spaces().map(\.name).sorted()
        let hint = known.isEmpty ? "the store has no spaces yet; create one with fute-db ingest --space \(name) FILE"
                                 : "spaces: \(known.joined(separator: ", "))"
        throw CommandError("unknown space '\(name)'; \(hint)")
    }

    private static func info(_ space: Space) -> SpaceInfo {
        SpaceInfo(name: space.name, dimension: space.dimension, metric: space.metric, comparison: space.comparison, encoding: space.index.encoding)
    }

    func backup(to path: String, compact: Bool) throws {
        try database.backup(to: path, compact: compact)
    }

    func stats() throws -> StoreStats {
        let stats = try database.read { try $0.stats() }
        return StoreStats(
            path: database.path, fileSize: stats.fileSize,
            spaces: stats.spaces.map { SpaceInfo(name: $0.name, dimension: $0.dimension, metric: $0.metric, count: $0.embeddings) }
                .sorted { $0.name < $1.name },
            datasets: stats.subjects[.dataset] ?? 0, models: stats.subjects[.model] ?? 0, examples: stats.subjects[.example] ?? 0,
            observations: stats.observations)
    }

    func ingest(space: String, creation: SpaceCreation, records: [VectorRecord], defaultKind: SubjectKind?, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws {
        guard let dimension = records.first?.vector.count else { return }
        for (batch, start) in stride(from: 0, to: records.count, by: batchSize).enumerated() {
            let range = start..<min(records.count, start + batchSize)
            try database.write { writer in
                if try writer.space(named: space) == nil {
                    try writer.createSpace(Space(name: space, dimension: dimension, metric: creation.metric, index: creation.index ?? IndexParameters()))
                }
                for record in records[range] {
                    let existing = try writer.subject(named: record.name)
                    // Kind: the record's, else --kind, else the subject's current kind, else dataset.
                    let kind = record.kind.flatMap(SubjectKind.init(rawValue:)) ?? defaultKind ?? existing?.kind ?? .dataset
                    let metadata = record.meta.map(JSONConversion.value(object:)) ?? existing?.metadata ?? .emptyObject
                    if existing?.kind != kind || existing?.metadata != metadata {
                        try writer.upsertSubject(Subject(name: record.name, kind: kind, metadata: metadata))
                    }
                    try writer.putEmbedding(space: space, subject: record.name, vector: record.vector)
                }
            }
            try committed(batch, range)
        }
    }

    func ingest(records files: [TaskRecordFile], space: String, creation: SpaceCreation, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws {
        var expected = try TaskEmbeddingStore.expectation(space: space, in: database)
        for file in files {
            expected = try TaskEmbeddingStore.checkRecords(file.records, file: file.file, expected: expected)
        }
        let index = creation.index
        let all = files.flatMap(\.records)
        for (batch, start) in stride(from: 0, to: all.count, by: batchSize).enumerated() {
            let range = start..<min(all.count, start + batchSize)
            try TaskEmbeddingStore.store(records: Array(all[range]), space: space, index: index, in: database)
            try committed(batch, range)
        }
    }

    func nearest(_ request: NearestRequest) throws -> NearestAnswer {
        try database.read { reader in
            let space = try Self.requireSpace(request.space, in: reader)
            let info = Self.info(space)
            let queries: [(label: String, vector: [Float], excluding: String?)]
            switch request.query {
            case .subject(let name):
                queries = [("'\(name)'", try Self.vector(of: name, in: request.space, reader: reader), name)]
            case .vectors(let given):
                queries = given.map { ($0.label, $0.vector, nil) }
            }
            for query in queries where query.vector.count != space.dimension {
                throw CommandError("\(query.label) has dimension \(query.vector.count) but space '\(space.name)' has dimension \(space.dimension); vectors from different spaces are never compared")
            }
            // Filters, and spaces compared by centered cosine (exact, in the library too), are answered
            // from one snapshot of the query layer, which also says whether centering is in effect.
            if !request.filters.isEmpty || space.comparison != .metric {
                let snapshot = try reader.taskSnapshot(space: space.name)
                let results = try queries.map { query in
                    (query.label, try TaskQueries.nearest(in: snapshot, to: query.vector, k: request.k, kind: request.kind,
                                                          filters: request.filters, excluding: query.excluding))
                }
                return NearestAnswer(space: info, centered: snapshot.center != nil, results: results)
            }
            let lists: [[SearchResult]]
            if request.exact && queries.count > 1 {
                // Many exact queries: one BLAS matrix product instead of one scan each.
                lists = try reader.nearest(space: space.name, vectors: queries.map(\.vector), k: request.k, kind: request.kind)
            } else {
                lists = try queries.map { query in
                    try reader.nearest(space: space.name, vector: query.vector, k: request.k, kind: request.kind, exact: request.exact,
                                       ef: request.ef, excluding: query.excluding)
                }
            }
            let results = zip(queries, lists).map { query, list in
                (query.label, list.map { TaskMatch(name: $0.name, kind: $0.kind, score: $0.score) })
            }
            return NearestAnswer(space: info, centered: false, results: results)
        }
    }

    func models(space name: String, task: String, k: Int, filters: [MetadataFilter]) throws -> (space: SpaceInfo, centered: Bool, matches: [TaskMatch]) {
        try database.read { reader in
            let space = try Self.requireSpace(name, in: reader)
            let snapshot = try reader.taskSnapshot(space: name)
            return (Self.info(space), snapshot.center != nil, try TaskQueries.models(in: snapshot, forTask: task, k: k, filters: filters))
        }
    }

    func surrogateSettings(space: String, seed: UInt64) throws -> SurrogateSettings {
        try TaskEmbeddingStore.surrogateSettings(space: space, seed: seed, in: database)
    }

    func checkCompatible(space: String, provenance: EmbeddingProvenance, dimension: Int) throws {
        try TaskEmbeddingStore.checkCompatible(space: space, provenance: provenance, dimension: dimension, in: database)
    }

    func store(_ embedding: TaskEmbedding, name: String, space: String, metadata: [String: JSONValue], index: IndexParameters?) throws {
        try TaskEmbeddingStore.store(embedding, name: name, space: space, metadata: metadata, index: index, in: database)
    }

    /// The stored vector of `subject` in `space`; the error names the spaces that do hold it.
    private static func vector(of subject: String, in space: String, reader: DatabaseReader) throws -> [Float] {
        if let embedding = try reader.embedding(space: space, subject: subject) { return embedding.vector }
        let others = try reader.spaces(of: subject)
        let hint = others.isEmpty ? "nor in any other space; check the name, or ingest it first"
            : "but has one in space\(others.count == 1 ? "" : "s") \(others.map { "\"\($0)\"" }.joined(separator: ", ")); vectors of different spaces are never compared — query with --space \(others[0]), or embed \"\(subject)\" in \"\(space)\""
        throw CommandError("subject \"\(subject)\" has no embedding in space \"\(space)\" \(hint)")
    }

    func taskMap(space name: String) throws -> TaskMap {
        try database.read { reader in
            _ = try Self.requireSpace(name, in: reader)
            return try reader.taskMap(space: name)
        }
    }

    func evaluateTransfer(space: String, truth: [TransferRecord]?, truthFile: String?, k: Int, metric: String, neighbours: Int,
                          gain: RelevanceGain) throws -> TransferEvaluationReport {
        try database.read { reader in
            _ = try Self.requireSpace(space, in: reader)
            let records = try truth ?? reader.observations()
            guard records.contains(where: { $0.metric == metric }) else {
                throw CommandError("no observations with metric '\(metric)' \(truthFile.map { "in \($0)" } ?? "in the store"); store some with fute-db observe FILE.jsonl, or pick --metric")
            }
            return try reader.evaluateTransfer(space: space, truth: truth, k: k, metric: metric, neighbours: neighbours, gain: gain)
        }
    }

    func transferRanking(space: String, target: String, k: Int, sources: SubjectKind?, metric: String,
                         neighbours: Int) throws -> (SpaceInfo, TransferRanking) {
        try database.read { reader in
            let info = Self.info(try Self.requireSpace(space, in: reader))
            return (info, try reader.transferSources(space: space, target: target, k: k, sources: sources, metric: metric, neighbours: neighbours))
        }
    }

    func addObservations(_ records: [ObservationRecord], file: String) throws {
        // Validate first: every source and target must be a stored subject.
        try database.read { reader in
            var known: [String: Bool] = [:]
            for record in records {
                for (field, name) in [("source", record.source), ("target", record.target)] {
                    if known[name] == nil { known[name] = try reader.subject(named: name) != nil }
                    if known[name] == false {
                        throw ReaderError(.missingField, file: file, line: record.line, field: field,
                                          "\(field) '\(name)' is not a stored subject; ingest its embedding first (fute-db ingest)")
                    }
                }
            }
        }
        try database.write { writer in
            for record in records {
                try writer.addObservation(TransferObservation(source: record.source, target: record.target, metric: record.metric, score: record.score))
            }
        }
    }

    func present(names: [String], space: String?) throws -> [Bool] {
        try database.read { reader in
            try names.map { name in
                if let space { return try reader.embedding(space: space, subject: name) != nil }
                return try reader.subject(named: name) != nil
            }
        }
    }

    func delete(names: [String], space: String?, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws {
        for (batch, start) in stride(from: 0, to: names.count, by: batchSize).enumerated() {
            let range = start..<min(names.count, start + batchSize)
            try database.write { writer in
                for name in names[range] {
                    let removed = if let space { try writer.removeEmbedding(space: space, subject: name) }
                                  else { try writer.deleteSubject(named: name) }
                    guard removed else {
                        // Validated before writing; only a concurrent writer can get here. Throwing aborts this batch.
                        throw CommandError(space.map { "'\(name)' has no embedding in space '\($0)' any more (another process changed the store); batches before this one were committed" }
                                           ?? "subject '\(name)' no longer exists (another process changed the store); batches before this one were committed")
                    }
                }
            }
            try committed(batch, range)
        }
    }
}

/// Conversions between the readers' JSON and the store's metadata.
enum JSONConversion {
    static func value(_ json: ParsedJSON) -> JSONValue { JSONValue(json) }

    static func value(object: [String: ParsedJSON]) -> JSONValue { .object(object.mapValues(value)) }

}
