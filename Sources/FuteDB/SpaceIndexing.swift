import Foundation
import Index
import Kernels
import Storage

/// Index changes of one write transaction, applied in order just before it commits (or before a
/// search inside it), so a batch of puts updates each space's HNSW graph in one pass: the Index
/// module then copies each touched block into LMDB once per batch instead of once per insert.
struct PendingIndexUpdates {
    enum Operation {
        case put(UInt64, [Float])
        case remove(UInt64)
    }

    private(set) var spaces: [UInt32: StoredSpace] = [:]
    private(set) var operations: [UInt32: [Operation]] = [:]
    private(set) var order: [UInt32] = []

    var isEmpty: Bool { order.isEmpty }

    mutating func append(_ operation: Operation, space: StoredSpace) {
        if spaces[space.id] == nil {
            spaces[space.id] = space
            order.append(space.id)
        }
        operations[space.id, default: []].append(operation)
    }

    mutating func forget(spaceID: UInt32) {
        spaces[spaceID] = nil
        operations[spaceID] = nil
        order.removeAll { $0 == spaceID }
    }

    mutating func removeAll() { self = PendingIndexUpdates() }
}

/// The one seam between the store and the approximate (HNSW) index of each space.
///
/// Embedding writes and removals of ``DatabaseWriter`` are queued in ``PendingIndexUpdates`` and
/// applied by ``apply(_:embeddings:in:)``; space removal calls ``dropGraph(of:in:)``; non-exact
/// searches of ``DatabaseReader`` call ``search(space:query:k:ef:isIncluded:allowedCount:in:)``.
///
/// Invariant: a space either has no graph, or its graph holds exactly the subject ids of its
/// embeddings. A graph is created the first time a space's embeddings change, from all of them.
enum SpaceIndexing {
    /// Applies queued changes. Spaces without a graph get one built from all their embeddings
    /// (which already include this transaction's changes).
    static func apply(_ pending: PendingIndexUpdates, embeddings: Database, in transaction: WriteTransaction) throws {
        for spaceID in pending.order {
            guard let stored = pending.spaces[spaceID], let operations = pending.operations[spaceID] else { continue }
            let existed = try HNSWGraph.exists(spaceID: spaceID, in: transaction)
            let graph = try openGraph(stored, in: transaction)
            try graph.withWriter(in: transaction) { writer in
                if existed {
                    for operation in operations {
                        switch operation {
                        case .put(let key, let vector): try writer.insert(key: key, vector: vector)
                        case .remove(let key): try writer.remove(key: key)
                        }
                    }
                } else {
                    for (key, vector) in try allEmbeddings(of: stored, embeddings: embeddings, in: transaction) {
                        try writer.insert(key: key, vector: vector)
                    }
                }
            }
        }
    }

    /// Drops the graph of a space, if it has one.
    static func dropGraph(of space: StoredSpace, in transaction: WriteTransaction) throws {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return }
        try translatingIndexErrors(space: space.space.name) {
            try HNSWGraph(spaceID: space.id, in: transaction).drop(in: transaction)
        }
    }

    /// Drops and rebuilds the graph of a space from its embeddings.
    static func rebuild(_ space: StoredSpace, embeddings: Database, in transaction: WriteTransaction) throws {
        try dropGraph(of: space, in: transaction)
        let graph = try openGraph(space, in: transaction)
        try graph.withWriter(in: transaction) { writer in
            for (key, vector) in try allEmbeddings(of: space, embeddings: embeddings, in: transaction) {
                try writer.insert(key: key, vector: vector)
            }
        }
    }

    /// Approximate search: the `k` nearest subject ids with engine distances (lower is nearer)
    /// among those `isIncluded` accepts; `nil` when exact search is the better choice (no graph,
    /// or a small or heavily filtered space).
    static func search(space: StoredSpace, query: [Float], k: Int, ef: Int?, isIncluded: ((UInt64) -> Bool)?,
                       allowedCount: Int?, embeddings: Database, in transaction: ReadTransaction) throws -> [(key: UInt64, distance: Float)]? {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return nil }
        let found = try translatingIndexErrors(space: space.space.name) {
            let graph = try HNSWGraph(spaceID: space.id, in: transaction)
            let hits = try graph.withSearcher(in: transaction) { searcher -> [(key: UInt64, distance: Float)]? in
                let beam = max(ef ?? space.space.index.efSearch, k)
                let total = searcher.count
                if FilteredSearchPolicy.prefersExact(allowedCount: allowedCount ?? total, totalCount: total, ef: beam) { return nil }
                return try searcher.search(query, k: k, ef: beam, filter: isIncluded)
            }
            return hits.map { (hits: $0, exact: graph.parameters.encoding == .float32) }
        }
        guard let found else { return nil }
        if found.exact { return found.hits }
        return try rescored(found.hits, query: query, space: space, embeddings: embeddings, in: transaction)
    }

    /// The graph's hits with their distances computed again from the stored Float embeddings
    /// (a float16 graph ranks by rounded vectors; callers see exact distances, ascending).
    static func rescored(_ hits: [(key: UInt64, distance: Float)], query: [Float], space: StoredSpace, embeddings: Database,
                         in transaction: ReadTransaction) throws -> [(key: UInt64, distance: Float)] {
        let dimension = space.space.dimension
        var vector: [Float] = []
        vector.reserveCapacity(dimension)
        let exact = try hits.map { hit -> (key: UInt64, distance: Float) in
            vector.removeAll(keepingCapacity: true)
            let present = try transaction.get(FixedWidthKey(space.id, hit.key), in: embeddings) { value -> Bool in
                _ = try RecordCoding.embeddingHeader(value, dimension: dimension)
                RecordCoding.appendVector(value, dimension: dimension, to: &vector)
                return true
            }
            guard present == true else {
                throw FuteError(.corrupted, "the index of space '\(space.space.name)' holds a vector with no embedding; rebuild it with rebuildIndex(space:)")
            }
            return (hit.key, Distance.distance(space.space.metric, query, vector))
        }
        return exact.sorted { ($0.distance, $0.key) < ($1.distance, $1.key) }
    }

    /// The number of vectors in a space's graph, or `nil` when it has none.
    static func indexedCount(of space: StoredSpace, in transaction: ReadTransaction) throws -> Int? {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return nil }
        return try translatingIndexErrors(space: space.space.name) {
            try HNSWGraph(spaceID: space.id, in: transaction).count(in: transaction)
        }
    }

    /// Structural problems of a space's graph, including a key set that differs from its
    /// embeddings (empty = sound, or no graph).
    static func problems(of space: StoredSpace, embeddings: Database, in transaction: ReadTransaction) throws -> [IndexProblem] {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return [] }
        var keys = Set<UInt64>()
        try transaction.forEach(in: embeddings, prefix: FixedWidthKey(space.id)) { key, _ in keys.insert(try RecordCoding.subjectID(embeddingKey: key)) }
        return try translatingIndexErrors(space: space.space.name) {
            try HNSWGraph(spaceID: space.id, in: transaction).checkInvariants(expectedKeys: keys, in: transaction)
        }
    }

    private static func openGraph(_ stored: StoredSpace, in transaction: WriteTransaction) throws -> HNSWGraph {
        try translatingIndexErrors(space: stored.space.name) {
            try HNSWGraph(spaceID: stored.id, dimension: stored.space.dimension, metric: stored.space.metric,
                          parameters: stored.space.index, in: transaction)
        }
    }

    private static func allEmbeddings(of space: StoredSpace, embeddings: Database, in transaction: ReadTransaction) throws -> [(UInt64, [Float])] {
        var rows: [(UInt64, [Float])] = []
        let dimension = space.space.dimension
        try transaction.forEach(in: embeddings, prefix: FixedWidthKey(space.id)) { key, value in
            _ = try RecordCoding.embeddingHeader(value, dimension: dimension)
            var vector: [Float] = []
            vector.reserveCapacity(dimension)
            RecordCoding.appendVector(value, dimension: dimension, to: &vector)
            rows.append((try RecordCoding.subjectID(embeddingKey: key), vector))
        }
        return rows
    }

    private static func translatingIndexErrors<T>(space: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as IndexError {
            switch error.code {
            case .corrupted, .mismatch:
                throw FuteError(.corrupted, "the index of space \"\(space)\" is unusable (\(error)); rebuild it with rebuildIndex(space:)")
            case .invalidParameters, .invalidVector:
                throw FuteError(.invalidArgument, "the index of space \"\(space)\" refused the request (\(error))")
            }
        }
    }
}
