import Foundation
import Storage

/// A read-only view of a store at one committed snapshot, lent to ``FuteDatabase/read(_:)``.
///
/// Must not escape the closure it was lent to. Not `Sendable`.
public class DatabaseReader {
    let transaction: ReadTransaction
    let store: FuteDatabase
    var layout: StorageLayout { store.layout }

    init(transaction: ReadTransaction, store: FuteDatabase) {
        self.transaction = transaction
        self.store = store
    }

    // MARK: Spaces

    /// The space named `name`, or `nil`.
    public func space(named name: String) throws -> Space? {
        try storedSpace(named: name)?.space
    }

    /// Every space, sorted by name.
    public func spaces() throws -> [Space] {
        var result: [Space] = []
        try transaction.forEach(in: layout.spaces) { key, value in
            result.append(try RecordCoding.decodeSpace(value, name: String(decoding: key, as: UTF8.self)).space)
        }
        return result
    }

    /// Space records decoded in this transaction (its snapshot cannot change under it; the
    /// writer updates the cache when it creates or removes a space).
    var spaceCache: [String: StoredSpace] = [:]

    /// Subject ids per kind, collected on the first kind-filtered search of this transaction so
    /// that later searches in the same snapshot do not rescan every subject record (the writer
    /// drops it whenever it adds, changes or deletes a subject).
    var kindMembers: [SubjectKind: Set<UInt64>] = [:]

    func storedSpace(named name: String) throws -> StoredSpace? {
        if let cached = spaceCache[name] { return cached }
        try Validation.name(name, field: "space")
        let stored = try transaction.get(name, in: layout.spaces) { try RecordCoding.decodeSpace($0, name: name) }
        if let stored { spaceCache[name] = stored }
        return stored
    }

    func requireSpace(_ name: String) throws -> StoredSpace {
        guard let stored = try storedSpace(named: name) else {
            let known = try spaces().map(\.name)
            let hint = known.isEmpty ? "the store has no spaces; create one with createSpace(_:)" : "existing spaces: \(known.prefix(10).joined(separator: ", "))"
            throw FuteError(.notFound, "no space named \"\(name)\"; \(hint)", field: "space")
        }
        return stored
    }

    // MARK: Subjects

    /// The subject named `name`, or `nil`.
    public func subject(named name: String) throws -> Subject? {
        guard let id = try subjectID(named: name) else { return nil }
        return try subject(id: id)
    }

    /// Every subject (of `kind`, when given), sorted by name.
    public func subjects(kind: SubjectKind? = nil) throws -> [Subject] {
        var result: [Subject] = []
        try transaction.forEach(in: layout.subjectIDs) { _, value in
            let id = try RecordCoding.subjectID(nameMapValue: value)
            guard let subject = try subject(id: id) else {
                throw FuteError(.corrupted, "a subject name points at a missing record; restore the store from a backup")
            }
            if kind == nil || subject.kind == kind { result.append(subject) }
        }
        return result
    }

    func subjectID(named name: String) throws -> UInt64? {
        try Validation.name(name, field: "subject")
        return try transaction.get(name, in: layout.subjectIDs) { try RecordCoding.subjectID(nameMapValue: $0) }
    }

    func subject(id: UInt64) throws -> Subject? {
        try transaction.get(FixedWidthKey(id), in: layout.subjects) { try RecordCoding.decodeSubject($0) }
    }

    func requireSubjectID(_ name: String, field: String = "subject") throws -> UInt64 {
        guard let id = try subjectID(named: name) else {
            throw FuteError(.notFound, "no subject named \"\(name)\"; add it with upsertSubject(_:) first", field: field)
        }
        return id
    }

    // MARK: Embeddings

    /// The embedding of `subject` in `space`, or `nil` when it has none.
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` when the space does not exist.
    public func embedding(space: String, subject: String) throws -> Embedding? {
        let stored = try requireSpace(space)
        guard let id = try subjectID(named: subject) else { return nil }
        return try transaction.get(FixedWidthKey(stored.id, id), in: layout.embeddings) { value -> Embedding in
            let header = try RecordCoding.embeddingHeader(value, dimension: stored.space.dimension)
            var vector: [Float] = []
            RecordCoding.appendVector(value, dimension: stored.space.dimension, to: &vector)
            return Embedding(space: space, subject: subject, vector: vector, kind: header.kind, createdAt: header.createdAt)
        }
    }

    /// Every embedding of `space`, in the order subjects were first created.
    public func embeddings(in space: String) throws -> [Embedding] {
        try subjectEmbeddings(in: space).map(\.embedding)
    }

    /// Every embedding of `space` with its subject (one lookup each), in the order subjects were
    /// first created.
    func subjectEmbeddings(in space: String) throws -> [(subject: Subject, embedding: Embedding)] {
        let stored = try requireSpace(space)
        var result: [(subject: Subject, embedding: Embedding)] = []
        try transaction.forEach(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { key, value in
            let header = try RecordCoding.embeddingHeader(value, dimension: stored.space.dimension)
            guard let subject = try subject(id: try RecordCoding.subjectID(embeddingKey: key)) else {
                throw FuteError(.corrupted, "an embedding belongs to a missing subject; restore the store from a backup")
            }
            var vector: [Float] = []
            RecordCoding.appendVector(value, dimension: stored.space.dimension, to: &vector)
            result.append((subject, Embedding(space: space, subject: subject.name, vector: vector, kind: header.kind, createdAt: header.createdAt)))
        }
        return result
    }

    /// The number of embeddings in `space`.
    public func count(in space: String) throws -> Int {
        let stored = try requireSpace(space)
        return try transaction.scan(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { _, _ in .continue }
    }

    /// The names of the spaces in which `subject` has an embedding, sorted.
    public func spaces(of subject: String) throws -> [String] {
        guard let id = try subjectID(named: subject) else { return [] }
        return try spaces().filter { space in
            guard let stored = try storedSpace(named: space.name) else { return false }
            return try transaction.contains(FixedWidthKey(stored.id, id), in: layout.embeddings)
        }.map(\.name)
    }

    // MARK: Observations

    /// The transfer observations, all or those whose target is `target`, sorted by target, then source, then metric.
    public func observations(target: String? = nil) throws -> [TransferObservation] {
        var prefix: [UInt8] = []
        if let target {
            guard let id = try subjectID(named: target) else { return [] }
            prefix = BigEndian.bytes(id)
        }
        var names: [UInt64: String] = [:]
        func name(_ id: UInt64) throws -> String {
            if let known = names[id] { return known }
            guard let subject = try subject(id: id) else {
                throw FuteError(.corrupted, "an observation refers to a missing subject; restore the store from a backup")
            }
            names[id] = subject.name
            return subject.name
        }
        var result: [TransferObservation] = []
        try transaction.forEach(in: layout.observations, prefix: prefix) { key, value in
            let parts = try RecordCoding.observationParts(key)
            result.append(TransferObservation(source: try name(parts.source), target: try name(parts.target),
                                              metric: parts.metric, score: try RecordCoding.decodeScore(value)))
        }
        return result.sorted { ($0.target, $0.source, $0.metric) < ($1.target, $1.source, $1.metric) }
    }

    // MARK: Stats

    /// Totals: spaces with dimension, metric and counts; subjects per kind; observations; sizes.
    public func stats() throws -> DatabaseStats {
        var spaceStats: [DatabaseStats.SpaceStats] = []
        for space in try spaces() {
            guard let stored = try storedSpace(named: space.name) else { continue }
            var byKind: [EmbeddingKind: Int] = [:]
            let total = try transaction.scan(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { _, value in
                let kind = try RecordCoding.embeddingHeader(value, dimension: space.dimension).kind
                byKind[kind, default: 0] += 1
                return .continue
            }
            spaceStats.append(.init(name: space.name, dimension: space.dimension, metric: space.metric,
                                    embeddings: total, embeddingsByKind: byKind,
                                    indexed: try SpaceIndexing.indexedCount(of: stored, in: transaction) ?? 0))
        }
        var subjects: [SubjectKind: Int] = Dictionary(uniqueKeysWithValues: SubjectKind.allCases.map { ($0, 0) })
        try transaction.forEach(in: layout.subjects) { _, value in
            guard let kind = RecordCoding.subjectKind(value) else {
                throw FuteError(.corrupted, "a subject record is unreadable; restore the store from a backup")
            }
            subjects[kind, default: 0] += 1
        }
        let environment = store.environment
        let pageSize = try environment.stat().pageSize
        let used = (try environment.info().lastPageNumber + 1) * pageSize
        let version = try transaction.get(StorageLayout.MetaKey.schemaVersion, in: layout.meta) { $0.count == 4 ? $0.bigEndianUInt32() : 0 } ?? 0
        return DatabaseStats(spaces: spaceStats, subjects: subjects, observations: try transaction.count(in: layout.observations),
                             fileSize: environment.fileSize ?? 0, usedBytes: used, schemaVersion: Int(version))
    }
}

@available(*, unavailable, message: "A DatabaseReader belongs to the read { } or write { } closure it was lent to")
extension DatabaseReader: Sendable {}
