import Foundation
import Storage

/// A read-write view of a store inside one transaction, lent to ``FuteDatabase/write(_:)``.
/// Everything a ``DatabaseReader`` reads, it reads too, including its own pending changes.
///
/// Must not escape the closure it was lent to, nor be used from another thread. Not `Sendable`.
public final class DatabaseWriter: DatabaseReader {
    let writeTransaction: WriteTransaction
    /// Index changes queued by this transaction; applied before commit or before a search.
    private var pendingIndexUpdates = PendingIndexUpdates()

    init(writeTransaction: WriteTransaction, store: FuteDatabase) {
        self.writeTransaction = writeTransaction
        super.init(transaction: writeTransaction, store: store)
    }

    // MARK: Spaces

    /// Creates `space`.
    /// - Throws: ``FuteError/Code-swift.enum/conflict`` when a space of that name exists;
    ///   ``FuteError/Code-swift.enum/invalidArgument`` for a bad name, dimension or index parameters.
    @discardableResult
    public func createSpace(_ space: Space) throws -> Space {
        try Validation.space(space)
        if try storedSpace(named: space.name) != nil {
            throw FuteError(.conflict, "a space named \"\(space.name)\" already exists; use ensureSpace(_:) to reuse it, or pick another name", field: "space")
        }
        var space = space
        // The record names the encoding the index will use (chosen now, for this machine).
        space.index.encoding = space.index.encoding ?? .preferred(for: space.metric)
        let id = try nextID(StorageLayout.MetaKey.nextSpaceID, width: 4)
        let stored = StoredSpace(id: UInt32(id), space: space)
        try writeTransaction.put(try RecordCoding.encodeSpace(stored), forKey: space.name, in: layout.spaces)
        spaceCache[space.name] = stored
        return space
    }

    /// Returns the stored space named like `space`, creating it when absent.
    ///
    /// An existing space is accepted when its dimension, metric, provenance and index structure
    /// (`m`, `efConstruction`) match; `efSearch` may differ (the stored value is kept).
    /// - Throws: ``FuteError/Code-swift.enum/conflict`` when the existing space differs: vectors
    ///   made differently must not share a space.
    @discardableResult
    public func ensureSpace(_ space: Space) throws -> Space {
        try Validation.space(space)
        guard let existing = try storedSpace(named: space.name)?.space else { return try createSpace(space) }
        var differences: [String] = []
        if existing.dimension != space.dimension { differences.append("dimension \(existing.dimension) vs \(space.dimension)") }
        if existing.metric != space.metric { differences.append("metric \(existing.metric.rawValue) vs \(space.metric.rawValue)") }
        if existing.provenance != space.provenance {
            differences.append("provenance: " + existing.provenance.mismatches(with: space.provenance).joined(separator: "; "))
        }
        let encodingsDiffer = existing.index.encoding != nil && space.index.encoding != nil && existing.index.encoding != space.index.encoding
        if existing.index.m != space.index.m || existing.index.efConstruction != space.index.efConstruction || encodingsDiffer {
            differences.append("index parameters")
        }
        guard differences.isEmpty else {
            throw FuteError(.conflict, "space \"\(space.name)\" exists with a different definition (\(differences.joined(separator: ", "))); vectors made differently cannot share a space — use another space name", field: "space")
        }
        return existing
    }

    /// Removes a space and all its embeddings. Subjects stay.
    /// - Returns: `true` when the space existed.
    @discardableResult
    public func removeSpace(named name: String) throws -> Bool {
        guard let stored = try storedSpace(named: name) else { return false }
        try writeTransaction.deleteAll(in: layout.embeddings, prefix: FixedWidthKey(stored.id))
        pendingIndexUpdates.forget(spaceID: stored.id)
        try SpaceIndexing.dropGraph(of: stored, in: writeTransaction)
        try writeTransaction.delete(name, in: layout.spaces)
        spaceCache[name] = nil
        return true
    }

    // MARK: Subjects

    /// Adds `subject`, or replaces the kind and metadata of the subject of that name.
    /// - Throws: ``FuteError/Code-swift.enum/invalidArgument`` for a bad name or non-object metadata.
    public func upsertSubject(_ subject: Subject) throws {
        try Validation.subject(subject)
        let id: UInt64
        if let existing = try subjectID(named: subject.name) {
            id = existing
        } else {
            id = try nextID(StorageLayout.MetaKey.nextSubjectID, width: 8)
            try writeTransaction.put(BigEndian.bytes(id), forKey: subject.name, in: layout.subjectIDs)
        }
        try writeTransaction.put(try RecordCoding.encodeSubject(subject), forKey: FixedWidthKey(id), in: layout.subjects, appending: true)
        kindMembers.removeAll()
    }

    /// Deletes a subject with its embeddings in every space and every observation naming it; a
    /// dataset's examples (``ExampleSpaces``) go with it.
    /// - Returns: `true` when the subject existed.
    @discardableResult
    public func deleteSubject(named name: String) throws -> Bool {
        guard let id = try subjectID(named: name) else { return false }
        if try subject(id: id)?.kind == .dataset { try removeExamples(of: name) }
        for space in try spaces() {
            guard let stored = try storedSpace(named: space.name) else { continue }
            try removeEmbedding(space: stored, subjectID: id)
        }
        try writeTransaction.deleteAll(in: layout.observations, prefix: FixedWidthKey(id))  // as target
        var asSource: [[UInt8]] = []
        try writeTransaction.forEach(in: layout.observations) { key, _ in
            if try RecordCoding.observationParts(key).source == id { asSource.append(Array(key)) }
        }
        for key in asSource { try writeTransaction.delete(key, in: layout.observations) }
        try writeTransaction.delete(FixedWidthKey(id), in: layout.subjects)
        try writeTransaction.delete(name, in: layout.subjectIDs)
        kindMembers.removeAll()
        return true
    }

    // MARK: Embeddings

    /// Stores the embedding of `subject` in `space`, replacing the one it had there.
    ///
    /// - Parameters:
    ///   - vector: finite floats, as many as the space's dimension.
    ///   - kind: how the vector was made. Default: `.raw`.
    ///   - createdAt: when it was made. Default: now.
    /// - Throws: ``FuteError`` — `notFound` for an unknown space or subject (create them first),
    ///   `dimensionMismatch`, or `invalidArgument` for an empty vector or a NaN/infinite value.
    public func putEmbedding(space: String, subject: String, vector: [Float], kind: EmbeddingKind = .raw,
                             createdAt: Date = Date()) throws {
        let stored = try requireSpace(space)
        try Validation.vector(vector, dimension: stored.space.dimension, space: space)
        let id = try requireSubjectID(subject)
        try writeEmbedding(space: stored, subjectID: id, vector: vector, kind: kind, createdAt: createdAt)
    }

    /// Removes the embedding of `subject` in `space`.
    /// - Returns: `true` when there was one.
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` when the space does not exist.
    @discardableResult
    public func removeEmbedding(space: String, subject: String) throws -> Bool {
        let stored = try requireSpace(space)
        guard let id = try subjectID(named: subject) else { return false }
        return try removeEmbedding(space: stored, subjectID: id)
    }

    /// The one place embeddings are written: the value is reserved and filled in place, and the index update queued.
    private func writeEmbedding(space: StoredSpace, subjectID: UInt64, vector: [Float], kind: EmbeddingKind, createdAt: Date) throws {
        // Appending: new subjects get increasing ids, so new keys of a space usually sort last.
        // Without it a ~1.5 KB vector per key leaves one entry per 4 KiB page after splits.
        try writeTransaction.putReserved(forKey: FixedWidthKey(space.id, subjectID),
                                         count: RecordCoding.embeddingSize(dimension: vector.count), in: layout.embeddings,
                                         appending: true) { target in
            RecordCoding.writeEmbedding(vector, kind: kind, createdAt: createdAt, into: target)
        }
        pendingIndexUpdates.append(.put(subjectID, vector), space: space)
    }

    /// The one place embeddings are removed.
    @discardableResult
    private func removeEmbedding(space: StoredSpace, subjectID: UInt64) throws -> Bool {
        guard try writeTransaction.delete(FixedWidthKey(space.id, subjectID), in: layout.embeddings) else { return false }
        pendingIndexUpdates.append(.remove(subjectID), space: space)
        return true
    }

    // MARK: Index

    /// Drops and rebuilds the HNSW index of `space` from its embeddings (e.g. after
    /// ``DatabaseReader/indexProblems(space:)`` reported problems).
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` when the space does not exist.
    public func rebuildIndex(space: String) throws {
        let stored = try requireSpace(space)
        try applyPendingIndexUpdates()
        try SpaceIndexing.rebuild(stored, embeddings: layout.embeddings, in: writeTransaction)
    }

    /// Applies the queued index changes of this transaction.
    func applyPendingIndexUpdates() throws {
        guard !pendingIndexUpdates.isEmpty else { return }
        let pending = pendingIndexUpdates
        pendingIndexUpdates.removeAll()
        try SpaceIndexing.apply(pending, embeddings: layout.embeddings, in: writeTransaction)
    }

    // MARK: Observations

    /// Records a transfer result, replacing the score of the same (source, target, metric).
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` when source or target is not a subject.
    public func addObservation(_ observation: TransferObservation) throws {
        try Validation.observation(observation)
        let source = try requireSubjectID(observation.source, field: "source")
        let target = try requireSubjectID(observation.target, field: "target")
        try writeTransaction.put(RecordCoding.encodeScore(observation.score),
                                 forKey: RecordCoding.observationKey(target: target, source: source, metric: observation.metric),
                                 in: layout.observations)
    }

    /// Removes an observation.
    /// - Returns: `true` when it existed.
    @discardableResult
    public func removeObservation(source: String, target: String, metric: String = "score") throws -> Bool {
        guard let sourceID = try subjectID(named: source), let targetID = try subjectID(named: target),
              !metric.isEmpty, metric.utf8.count <= StorageLayout.maxObservationMetricBytes else { return false }
        return try writeTransaction.delete(RecordCoding.observationKey(target: targetID, source: sourceID, metric: metric), in: layout.observations)
    }

    // MARK: Identifiers

    /// Returns the next id of a counter in `meta` and advances it.
    private func nextID(_ key: String, width: Int) throws -> UInt64 {
        let current = try writeTransaction.get(key, in: layout.meta) { bytes -> UInt64? in
            switch bytes.count {
            case 4 where width == 4: return UInt64(bytes.bigEndianUInt32())
            case 8 where width == 8: return bytes.bigEndianUInt64()
            default: return nil
            }
        } ?? nil
        guard let current else {
            throw FuteError(.corrupted, "the id counter \"\(key)\" of the store is missing or unreadable; restore the store from a backup")
        }
        if width == 4 {
            guard current < UInt64(UInt32.max) else { throw FuteError(.storeFull, "the store has used every space id; remove unused spaces by copying into a new store") }
            try writeTransaction.put(BigEndian.bytes(UInt32(current + 1)), forKey: key, in: layout.meta)
        } else {
            try writeTransaction.put(BigEndian.bytes(current + 1), forKey: key, in: layout.meta)
        }
        return current
    }
}
