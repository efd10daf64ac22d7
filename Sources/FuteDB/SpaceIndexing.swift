import Foundation
import Storage

/// The one seam between the store and the approximate (HNSW) index.
///
/// Every embedding write and removal of ``DatabaseWriter`` goes through ``didPut`` /
/// ``didRemove``, every space removal through ``didRemoveSpace``, and every non-exact search of
/// ``DatabaseReader`` through ``search``. Until the LMDB-backed HNSW graph is wired in, writes
/// keep no index and ``search`` returns `nil`, which makes the caller search exactly.
enum SpaceIndexing {
    /// Called after the embedding of `subjectID` in `space` was written (inserted or replaced).
    static func didPut(space: StoredSpace, subjectID: UInt64, vector: [Float], in transaction: WriteTransaction) throws {}

    /// Called after the embedding of `subjectID` in `space` was removed.
    static func didRemove(space: StoredSpace, subjectID: UInt64, in transaction: WriteTransaction) throws {}

    /// Called after every embedding of `space` was removed, before its record is deleted.
    static func didRemoveSpace(_ space: StoredSpace, in transaction: WriteTransaction) throws {}

    /// Approximate search: the `k` nearest subject ids with engine distances (lower is nearer),
    /// among those `isIncluded` accepts; `nil` when the space has no index (search exactly).
    static func search(space: StoredSpace, query: [Float], k: Int, ef: Int?, isIncluded: ((UInt64) -> Bool)?,
                       in transaction: ReadTransaction) throws -> [(key: UInt64, distance: Float)]? {
        nil
    }
}
