import Foundation
import Index
import Kernels
import Storage

/// The one seam between the store and the approximate (HNSW) index.
///
/// Every embedding write and removal of ``DatabaseWriter`` goes through ``didPut`` /
/// ``didRemove``, every space removal through ``didRemoveSpace``, and every non-exact search of
/// ``DatabaseReader`` through ``search``. Each space has one ``HNSWGraph`` kept in the same LMDB
/// environment (databases `hnsw_*`) and updated in the same write transaction as the embedding,
/// so the index never disagrees with the embeddings a reader sees.
enum SpaceIndexing {
    /// Spaces with at most this many embeddings are searched exactly: a scan is then cheap and
    /// its answer is exact.
    static let exactSearchLimit = 1_000

    /// Opens the index databases before any transaction uses them (a database first opened
    /// after a read transaction began is invisible to it). Creates them unless read-only.
    static func prepare(_ environment: Environment, readOnly: Bool) throws {
        for name in HNSWDatabases.names {
            do {
                _ = try environment.openDatabase(named: name, create: false)
            } catch let error as LMDBError where error.kind == .notFound {
                if !readOnly { _ = try environment.openDatabase(named: name, create: true) }
            }
        }
    }

    private static func graph(for space: StoredSpace, in transaction: WriteTransaction) throws -> HNSWGraph {
        try HNSWGraph(spaceID: space.id, dimension: space.space.dimension, metric: space.space.metric,
                      parameters: space.space.index, in: transaction)
    }

    /// Called after the embedding of `subjectID` in `space` was written (inserted or replaced).
    static func didPut(space: StoredSpace, subjectID: UInt64, vector: [Float], in transaction: WriteTransaction) throws {
        try graph(for: space, in: transaction).insert(key: subjectID, vector: vector, in: transaction)
    }

    /// Called after the embedding of `subjectID` in `space` was removed.
    static func didRemove(space: StoredSpace, subjectID: UInt64, in transaction: WriteTransaction) throws {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return }
        try graph(for: space, in: transaction).remove(key: subjectID, in: transaction)
    }

    /// Called after every embedding of `space` was removed, before its record is deleted.
    static func didRemoveSpace(_ space: StoredSpace, in transaction: WriteTransaction) throws {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return }
        try graph(for: space, in: transaction).drop(in: transaction)
    }

    /// Approximate search: the `k` nearest subject ids with engine distances (lower is nearer),
    /// among those `isIncluded` accepts; `nil` when the caller should search exactly — the space
    /// has no index or at most ``exactSearchLimit`` embeddings, or a filter left fewer than `k`
    /// hits (a small allowed set is better scanned).
    static func search(space: StoredSpace, query: [Float], k: Int, ef: Int?, isIncluded: ((UInt64) -> Bool)?,
                       in transaction: ReadTransaction) throws -> [(key: UInt64, distance: Float)]? {
        guard try HNSWGraph.exists(spaceID: space.id, in: transaction) else { return nil }
        let graph = try HNSWGraph(spaceID: space.id, in: transaction)
        let beam = max(ef ?? space.space.index.efSearch, k)
        guard try graph.count(in: transaction) > max(exactSearchLimit, 2 * beam) else { return nil }
        let hits = try graph.search(query, k: k, ef: beam, filter: isIncluded, in: transaction)
        if isIncluded != nil && hits.count < k { return nil }
        return hits
    }
}
