import Foundation

/// Memory a reader built from the pages of one read snapshot — typically addresses into the
/// memory map — that it leaves for the next reader of the same snapshot.
///
/// A conforming type owns its memory and frees it in `deinit`; the cache decides only *when* an
/// entry may be used again: by a read transaction of the same environment that sees the same
/// snapshot, inside ``ReadTransaction/withUnsafeSnapshotPageCache(_:)``. It is `Sendable` because
/// a later reader may run on another thread; the entry is never used by two readers at once
/// (``UnsafeSnapshotPageCache/take(_:key:)`` removes it from the cache).
package protocol SnapshotPageCacheEntry: AnyObject, Sendable {}

/// The cache of one ``Environment``: entries of its newest known snapshot.
///
/// Why addresses into the map stay valid while they are here: a read transaction with id `n` sees
/// the snapshot committed as `n`, and a new read transaction only ever sees the latest commit. So a
/// later reader with the same id means no commit happened in between: no page of snapshot `n` was
/// freed or rewritten, and the map was not moved — Storage remaps only in
/// ``Environment``'s `adoptGrownMap()`, to adopt a map another process grew (which came with that
/// process's commit, so a new id), while no transaction of this process is open, and it empties
/// this cache there. A commit of this process empties it too (``invalidate(committed:)``):
/// its entries could never be used again. The pages stay valid for as long as the reader that
/// took an entry keeps its transaction open; entries are only lent inside such a transaction.
///
/// `@unchecked Sendable`: `snapshot`, `entries` and `adoptions` are only touched under `lock`.
package final class SnapshotPageCacheStorage: @unchecked Sendable {
    struct Key: Hashable {
        var type: ObjectIdentifier
        var key: UInt64
    }

    private let lock = NSLock()
    /// The newest snapshot id this cache has seen; every entry belongs to it.
    private var snapshot = 0
    private var entries: [(key: Key, entry: any SnapshotPageCacheEntry)] = []
    private var adoptions = 0
    /// At most this many entries are kept (concurrent readers may each leave one per key).
    private let limit = 8

    /// How many times a reader took an entry left by an earlier one (for tests).
    package var adoptionCount: Int {
        lock.lock(); defer { lock.unlock() }
        return adoptions
    }

    /// How many entries are kept (for tests).
    package var count: Int {
        lock.lock(); defer { lock.unlock() }
        return entries.count
    }

    /// Moves the cache on to `newSnapshot` when it is newer; returns the entries it drops
    /// (released by the caller outside the lock). Call with `lock` held.
    private func advance(to newSnapshot: Int) -> [any SnapshotPageCacheEntry] {
        guard newSnapshot > snapshot else { return [] }
        snapshot = newSnapshot
        defer { entries.removeAll() }
        return entries.map(\.entry)
    }

    func take(key: Key, snapshot reader: Int) -> (any SnapshotPageCacheEntry)? {
        lock.lock()
        let dropped = advance(to: reader)
        var found: (any SnapshotPageCacheEntry)?
        if reader == snapshot, let i = entries.lastIndex(where: { $0.key == key }) {
            found = entries.remove(at: i).entry
            adoptions += 1
        }
        lock.unlock()
        _ = dropped  // freed outside the lock
        return found
    }

    func keep(_ entry: any SnapshotPageCacheEntry, key: Key, snapshot reader: Int) {
        lock.lock()
        var dropped = advance(to: reader)
        if reader == snapshot {
            entries.append((key, entry))
            if entries.count > limit { dropped.append(entries.removeFirst().entry) }
        } else {
            dropped.append(entry)  // an older snapshot: no new reader can see it
        }
        lock.unlock()
        _ = dropped
    }

    /// Empties the cache after a commit (`committed`: the id of the write transaction, which
    /// every later reader sees or exceeds) or a remap (`committed` nil). A successful commit then
    /// installs the entries its transaction carried over (``UnsafeCommitPageCache``) for its own
    /// snapshot: the next writer and the first readers of that snapshot start from them.
    func invalidate(committed: Int?, carrying carried: [(key: Key, entry: any SnapshotPageCacheEntry)] = []) {
        lock.lock()
        var dropped = entries.map(\.entry)
        entries.removeAll()
        if let committed {
            dropped += advance(to: committed)
            if committed == snapshot { entries = Array(carried.suffix(limit)) }
        } else {
            dropped += carried.map(\.entry)
        }
        lock.unlock()
        _ = dropped
    }
}

/// The environment's cache of memory derived from the pages of this transaction's snapshot,
/// lent by ``ReadTransaction/withUnsafeSnapshotPageCache(_:)``.
///
/// Unsafe because what it holds usually points into the memory map: such addresses may only be
/// dereferenced inside the closure it was lent to, while the read transaction is open. Must not
/// escape the closure (using it afterwards stops the process). Not `Sendable`.
package final class UnsafeSnapshotPageCache {
    private let storage: SnapshotPageCacheStorage
    /// The snapshot (`mdb_txn_id`) of the read transaction this cache was lent to.
    package let snapshot: Int
    private var isActive = true

    init(storage: SnapshotPageCacheStorage, snapshot: Int) {
        self.storage = storage
        self.snapshot = snapshot
    }

    func invalidate() { isActive = false }

    private func checkActive() {
        precondition(isActive, "An UnsafeSnapshotPageCache was used after its closure returned; it must not escape withUnsafeSnapshotPageCache { }")
    }

    /// Removes and returns the entry of type `type` an earlier reader of this snapshot left under
    /// `key`, or nil. The caller owns it until it gives it back with ``keep(_:key:)`` (or drops it).
    package func take<Entry: SnapshotPageCacheEntry>(_ type: Entry.Type, key: UInt64) -> Entry? {
        checkActive()
        return storage.take(key: .init(type: ObjectIdentifier(type), key: key), snapshot: snapshot) as? Entry
    }

    /// Leaves `entry` for the next reader of this snapshot; dropped at once when the environment
    /// has since seen a newer snapshot.
    package func keep<Entry: SnapshotPageCacheEntry>(_ entry: Entry, key: UInt64) {
        checkActive()
        storage.keep(entry, key: .init(type: ObjectIdentifier(Entry.self), key: key), snapshot: snapshot)
    }
}

@available(*, unavailable, message: "An UnsafeSnapshotPageCache belongs to the closure it was lent to")
extension UnsafeSnapshotPageCache: Sendable {}

/// The environment's snapshot page cache as a write transaction sees it: what the previous
/// commit or a reader of the snapshot this transaction started from left there, and where to
/// leave what survives this transaction's writes for the snapshot its commit creates.
///
/// Why some addresses survive a commit: LMDB never changes a committed page in place. A value
/// kept in its own overflow pages keeps its address, in this transaction and in the snapshots
/// that follow, until its key is written or deleted (which frees those pages; LMDB reuses a
/// freed page only once no reader can see it). An entry carried over (``keepAfterCommit(_:key:)``)
/// must therefore hold only addresses of committed values this transaction did not write (a
/// value read back after a write in this transaction lives in a dirty page in memory, which the
/// next write may free) — the caller's duty, as the entry's type is the caller's: it passes the
/// entry from user to user within the transaction (``take(_:key:)`` returns the kept one) and
/// notes what each wrote. It is installed only when the commit succeeds; a write to those
/// values that bypasses the entry's users calls ``discard(_:key:)``.
///
/// Unsafe for the same reasons as ``UnsafeSnapshotPageCache``; must not escape its closure.
package final class UnsafeCommitPageCache {
    private let transaction: WriteTransaction
    private var isActive = true

    init(transaction: WriteTransaction) {
        self.transaction = transaction
    }

    func invalidate() { isActive = false }

    private func checkActive() {
        precondition(isActive, "An UnsafeCommitPageCache was used after its closure returned; it must not escape withUnsafeCommitPageCache { }")
    }

    /// The position of `key`'s record among the transaction's carried entries, if it has one.
    private func record<Entry>(_ type: Entry.Type, key: UInt64) -> (key: SnapshotPageCacheStorage.Key, index: Int?) {
        checkActive()
        let k = SnapshotPageCacheStorage.Key(type: ObjectIdentifier(type), key: key)
        return (k, transaction.carriedEntries.firstIndex(where: { $0.key == k }))
    }

    /// Removes and returns the entry for `key`: the one an earlier user in this transaction left
    /// with ``keepAfterCommit(_:key:)``, else the one kept for the snapshot this transaction
    /// started from. At most once per key and transaction until it is kept again (a second user
    /// that finds it taken starts empty); nil after ``discard(_:key:)``.
    package func take<Entry: SnapshotPageCacheEntry>(_ type: Entry.Type, key: UInt64) -> Entry? {
        let (k, index) = record(type, key: key)
        if let i = index {
            defer { transaction.carriedEntries[i].entry = nil }
            return transaction.carriedEntries[i].entry as? Entry
        }
        transaction.carriedEntries.append((k, nil))
        return transaction.environment.snapshotPageCache.take(key: k, snapshot: transaction.id - 1) as? Entry
    }

    /// Whether the entry for `key` was taken in this transaction and not kept back (its user
    /// failed or is still at work), or discarded. Then what an earlier user wrote in this
    /// transaction is unknown to the next one, which must not carry addresses over.
    package func isLost<Entry: SnapshotPageCacheEntry>(_ type: Entry.Type, key: UInt64) -> Bool {
        record(type, key: key).index.map { transaction.carriedEntries[$0].entry == nil } ?? false
    }

    /// Leaves `entry` for the snapshot this transaction's commit creates (dropped if it aborts).
    package func keepAfterCommit<Entry: SnapshotPageCacheEntry>(_ entry: Entry, key: UInt64) {
        let (k, index) = record(Entry.self, key: key)
        if let i = index { transaction.carriedEntries[i].entry = entry } else { transaction.carriedEntries.append((k, entry)) }
    }

    /// Forgets any entry for `key` for the rest of this transaction and after it: for a write to
    /// the values its addresses point to that does not go through the entry's users (later
    /// users of this transaction see ``isLost(_:key:)``).
    package func discard<Entry: SnapshotPageCacheEntry>(_ type: Entry.Type, key: UInt64) {
        let (k, index) = record(type, key: key)
        if let i = index {
            transaction.carriedEntries[i].entry = nil
        } else {
            transaction.carriedEntries.append((k, nil))
            _ = transaction.environment.snapshotPageCache.take(key: k, snapshot: transaction.id - 1)
        }
    }
}

@available(*, unavailable, message: "An UnsafeCommitPageCache belongs to the closure it was lent to")
extension UnsafeCommitPageCache: Sendable {}

extension WriteTransaction {
    /// Lends `body` the environment's snapshot page cache as this write transaction may use it
    /// (see ``UnsafeCommitPageCache``). Addresses taken from it are valid only inside `body`, and
    /// in this transaction only until a write to the values they point to.
    package func withUnsafeCommitPageCache<R>(_ body: (UnsafeCommitPageCache) throws -> R) rethrows -> R {
        checkActive()
        let cache = UnsafeCommitPageCache(transaction: self)
        defer { cache.invalidate() }
        return try body(cache)
    }
}

extension ReadTransaction {
    /// Lends `body` the environment's cache of memory derived from this snapshot's pages: what an
    /// earlier read transaction of the same snapshot left there, and where to leave what this one
    /// built, so that one short transaction per query does not look the same pages up again.
    ///
    /// The cache belongs to the environment (not the process) and is emptied by every commit and
    /// by a remap; an entry is only ever handed to a reader that sees the snapshot it was built in.
    /// Addresses taken from it are valid only inside `body`.
    ///
    /// - Precondition: a read-only transaction (a write transaction's pages move as it writes).
    package func withUnsafeSnapshotPageCache<R>(_ body: (UnsafeSnapshotPageCache) throws -> R) rethrows -> R {
        checkActive()
        precondition(!(self is WriteTransaction), "withUnsafeSnapshotPageCache needs a read transaction: a write transaction's pages move as it writes")
        let cache = UnsafeSnapshotPageCache(storage: environment.snapshotPageCache, snapshot: id)
        defer { cache.invalidate() }
        return try body(cache)
    }
}
