import CLMDB
import Foundation

/// Whether a scan goes on to the next entry.
public enum ScanControl: Sendable {
    /// Visit the next entry.
    case `continue`
    /// End the scan.
    case stop
}

/// A read-only view of an ``Environment`` at one committed snapshot, lent to the closure of
/// ``Environment/read(_:)``. ``WriteTransaction`` is a subclass, so code that only reads can
/// take a `ReadTransaction` and be called from either kind of transaction.
///
/// Bytes returned by LMDB are lent to closures and are valid only inside them: they point into
/// the memory map and must not be stored. The one place addresses outlive a transaction is the
/// environment's snapshot page cache, reachable only through ``withUnsafeSnapshotPageCache(_:)``,
/// which hands them back only to a transaction of the same snapshot. The transaction itself must
/// not escape its closure; using it afterwards stops the process with a precondition failure.
///
/// Not `Sendable`: an LMDB transaction belongs to the code that began it.
public class ReadTransaction {
    let handle: OpaquePointer
    /// The environment this transaction reads; kept alive by the transaction.
    public let environment: Environment
    private(set) var isActive = true

    init(handle: OpaquePointer, environment: Environment) {
        self.handle = handle
        self.environment = environment
    }

    func invalidate() { isActive = false }

    @inline(__always)
    func checkActive() {
        precondition(isActive, "A transaction was used after its closure returned; transactions must not escape read { } or write { }")
    }

    /// The id of this transaction (`mdb_txn_id`): for a read, the id of the snapshot it sees;
    /// for a write, the id the commit will have. Ids increase with every commit.
    public var id: Int {
        checkActive()
        return mdb_txn_id(handle)
    }

    /// Opens an existing named database (see ``Environment/openDatabase(named:create:)``).
    ///
    /// A database opened here for the first time in this process is usable at once by this
    /// transaction and, once it ends, by later ones. A database first opened by *another*
    /// transaction after this one began cannot be used by this one: open databases up front.
    ///
    /// LMDB lets only one transaction at a time open databases, so until this transaction ends,
    /// other transactions that open a database not yet known to the process wait for it: don't
    /// start a ``Environment/write(_:)`` inside a read that opened a database.
    public func openDatabase(named name: String) throws -> Database {
        try openDatabase(named: name, flags: 0)
    }

    var openedDatabases: [Database] = []
    var holdsDatabaseOpenLock = false

    func openDatabase(named name: String, flags: UInt32) throws -> Database {
        checkActive()
        if let cached = environment.cachedDatabase(named: name) { return cached }
        if let opened = openedDatabases.first(where: { $0.name == name }) { return opened }
        if !holdsDatabaseOpenLock {
            // LMDB: a transaction that opens a database must end before another may open one.
            environment.databaseOpenLock.lock()
            holdsDatabaseOpenLock = true
        }
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(handle, name, flags, &dbi)
        if rc == MDB_NOTFOUND {
            throw LMDBError(code: rc, message: "opening database \"\(name)\" failed: it does not exist; create it from a write transaction")
        }
        try check(rc, "opening database \"\(name)\"")
        let database = Database(handle: dbi, name: name)
        openedDatabases.append(database)
        return database
    }

    // MARK: Reading

    /// Lends the value stored under `key` to `body` without copying it.
    ///
    /// The buffer points into the memory map and is valid only inside `body`. Its address may
    /// have any alignment: read numbers with `loadUnaligned`.
    /// - Returns: `body`'s result, or `nil` when the key is absent.
    public func get<R>(_ key: some BytesConvertible, in database: Database,
                       _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        checkActive()
        return try key.withBytes { keyBytes -> R? in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val()
            let rc = mdb_get(handle, database.handle, &k, &v)
            if rc == MDB_NOTFOUND { return nil }
            try check(rc, "reading a key of \(keyBytes.count) bytes from database \"\(database.name)\"")
            return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    /// A copy of the value stored under `key`, or `nil` when absent.
    public func bytes(forKey key: some BytesConvertible, in database: Database) throws -> [UInt8]? {
        try get(key, in: database) { Array($0) }
    }

    /// Whether `key` is present.
    public func contains(_ key: some BytesConvertible, in database: Database) throws -> Bool {
        try get(key, in: database) { _ in true } ?? false
    }

    /// The number of entries in `database`.
    public func count(in database: Database) throws -> Int {
        try statistics(of: database).entries
    }

    /// Page statistics of `database` as seen by this transaction.
    public func statistics(of database: Database) throws -> DatabaseStatistics {
        checkActive()
        var s = MDB_stat()
        try check(mdb_stat(handle, database.handle, &s), "reading statistics of database \"\(database.name)\"")
        return DatabaseStatistics(s)
    }

    /// Visits entries in key order, lending each key and value to `body`.
    ///
    /// - Parameters:
    ///   - prefix: visit only keys that begin with these bytes (empty: all keys).
    ///   - start: begin at the first key ≥ `start` instead of the first key with `prefix`.
    ///   - body: returns ``ScanControl/stop`` to end early. Key and value are valid only inside it.
    /// - Returns: the number of entries visited.
    @discardableResult
    public func scan(in database: Database, prefix: some BytesConvertible = [UInt8](),
                     startingAt start: (some BytesConvertible)? = [UInt8]?.none,
                     _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> ScanControl) throws -> Int {
        try withCursor(in: database) { cursor in
            try prefix.withBytes { prefixBytes in
                var found: Bool
                if let start {
                    found = try start.withBytes { try cursor.seek(atLeast: $0) }
                } else if prefixBytes.isEmpty {
                    found = try cursor.first()
                } else {
                    found = try cursor.seek(atLeast: prefixBytes)
                }
                var visited = 0
                while found {
                    let control = try cursor.withCurrent { key, value -> ScanControl? in
                        guard key.starts(withBytes: prefixBytes) else { return nil }
                        return try body(key, value)
                    }
                    guard let control else { break }
                    visited += 1
                    if case .stop = control { break }
                    found = try cursor.next()
                }
                return visited
            }
        }
    }

    /// Visits every entry whose key begins with `prefix`, in key order.
    public func forEach(in database: Database, prefix: some BytesConvertible = [UInt8](),
                        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Void) throws {
        try scan(in: database, prefix: prefix) { key, value in
            try body(key, value)
            return .continue
        }
    }

    /// Lends a cursor over `database` to `body`; it is closed when `body` returns.
    public func withCursor<R>(in database: Database, _ body: (Cursor) throws -> R) throws -> R {
        checkActive()
        var pointer: OpaquePointer?
        try check(mdb_cursor_open(handle, database.handle, &pointer), "opening a cursor on database \"\(database.name)\"")
        guard let pointer else { throw LMDBError(kind: .other, message: "mdb_cursor_open returned no cursor; this is an LMDB bug") }
        let cursor = Cursor(handle: pointer, database: database, writable: self is WriteTransaction)
        defer {
            cursor.invalidate()
            mdb_cursor_close(pointer)
        }
        return try body(cursor)
    }
}

@available(*, unavailable, message: "An LMDB transaction belongs to the closure it was lent to")
extension ReadTransaction: Sendable {}

/// A read-write transaction lent to the closure of ``Environment/write(_:)``: it commits when the
/// closure returns and aborts when it throws. Everything a ``ReadTransaction`` does, it does too,
/// and reads see this transaction's own uncommitted writes.
///
/// Must not escape its closure, nor be used from another thread: LMDB requires a write
/// transaction to begin and end on one thread.
public final class WriteTransaction: ReadTransaction {
    /// Set when an operation left a value half-written; the commit then refuses.
    var poisonReason: String?
    /// Snapshot page cache entries to install for this commit's snapshot (nil: taken and not
    /// kept back, or discarded, in this transaction); see ``UnsafeCommitPageCache``.
    var carriedEntries: [(key: SnapshotPageCacheStorage.Key, entry: (any SnapshotPageCacheEntry)?)] = []

    /// Opens the named database, creating it when `create` is true. A database created here
    /// exists for other transactions only once this one commits.
    public func openDatabase(named name: String, create: Bool) throws -> Database {
        try openDatabase(named: name, flags: create ? UInt32(MDB_CREATE) : 0)
    }

    /// Opens the named database, creating it if needed.
    public override func openDatabase(named name: String) throws -> Database {
        try openDatabase(named: name, create: true)
    }

    // MARK: Writing

    /// Stores `value` under `key`, replacing any value already there.
    ///
    /// - Throws: ``LMDBError`` — ``LMDBError/Kind-swift.enum/badValueSize`` for an empty key or one
    ///   over 511 bytes, ``LMDBError/Kind-swift.enum/mapFull`` when the map is full (the whole
    ///   transaction is then lost: let the error propagate).
    public func put(_ value: some BytesConvertible, forKey key: some BytesConvertible, in database: Database) throws {
        try value.withBytes { valueBytes -> Void in
            _ = try store(key: key, count: valueBytes.count, flags: 0, in: database) { target -> Void in
                if let source = valueBytes.baseAddress, valueBytes.count > 0 {
                    target.baseAddress!.copyMemory(from: source, byteCount: valueBytes.count)  // safe: count > 0 so the target has an address
                }
            }
        }
    }

    /// Stores `value` under `key` like ``put(_:forKey:in:)``; with `appending`, a key larger than
    /// every stored key is appended (`MDB_APPEND`: pages stay full after splits).
    public func put(_ value: some BytesConvertible, forKey key: some BytesConvertible, in database: Database, appending: Bool) throws {
        try value.withBytes { valueBytes -> Void in
            try putReserved(forKey: key, count: valueBytes.count, in: database, appending: appending) { target -> Void in
                if let source = valueBytes.baseAddress, valueBytes.count > 0 {
                    target.baseAddress!.copyMemory(from: source, byteCount: valueBytes.count)  // safe: count > 0
                }
            }
        }
    }

    /// Stores `value` under `key` only if the key is absent.
    /// - Returns: `true` when stored, `false` when the key was already present (nothing changed).
    @discardableResult
    public func insert(_ value: some BytesConvertible, forKey key: some BytesConvertible, in database: Database) throws -> Bool {
        try value.withBytes { valueBytes -> Bool in
            try store(key: key, count: valueBytes.count, flags: UInt32(MDB_NOOVERWRITE), in: database) { target -> Void in
                if let source = valueBytes.baseAddress, valueBytes.count > 0 {
                    target.baseAddress!.copyMemory(from: source, byteCount: valueBytes.count)  // safe: count > 0
                }
            } != nil
        }
    }

    /// Reserves `count` bytes under `key` (replacing any value) and lends them to `fill` to be
    /// written in place (`MDB_RESERVE`): no intermediate buffer. The bytes are uninitialised.
    ///
    /// If `fill` throws, the value is left half-written, so the transaction will refuse to
    /// commit: let the error propagate.
    ///
    /// - Parameter appending: pass `true` when keys mostly arrive in increasing order (e.g. ids from
    ///   a counter). A key larger than every stored key is then appended (`MDB_APPEND`), which
    ///   leaves full pages behind instead of half-empty ones after each split; any other key is
    ///   put normally.
    public func putReserved<R>(forKey key: some BytesConvertible, count: Int, in database: Database, appending: Bool = false,
                               _ fill: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        if appending {
            // With MDB_APPEND, LMDB answers MDB_KEYEXIST (changing nothing) unless the key is the largest.
            if let result = try store(key: key, count: count, flags: UInt32(MDB_APPEND), in: database, fill) { return result }
        }
        // store only returns nil with MDB_NOOVERWRITE or MDB_APPEND, neither of which is passed here
        guard let result = try store(key: key, count: count, flags: 0, in: database, fill) else {
            throw LMDBError(kind: .other, message: "reserving a value returned nothing; this is a Storage bug")
        }
        return result
    }

    /// Lends the value under `key` to `body` for modification in place; the size is unchanged.
    ///
    /// LMDB never modifies committed pages, so the value is copied into this transaction's dirty
    /// space (as any write would) and `body` edits that copy.
    /// - Returns: `body`'s result, or `nil` when the key is absent.
    public func update<R>(forKey key: some BytesConvertible, in database: Database,
                          _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R? {
        guard let old = try bytes(forKey: key, in: database) else { return nil }
        return try putReserved(forKey: key, count: old.count, in: database) { target in
            old.withUnsafeBytes { source in
                if let base = source.baseAddress, !source.isEmpty { target.baseAddress!.copyMemory(from: base, byteCount: source.count) }  // safe: same non-zero size
            }
            return try body(target)
        }
    }

    /// Removes `key`.
    /// - Returns: `true` when the key was present.
    @discardableResult
    public func delete(_ key: some BytesConvertible, in database: Database) throws -> Bool {
        checkActive()
        return try key.withBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            let rc = mdb_del(handle, database.handle, &k, nil)
            if rc == MDB_NOTFOUND { return false }
            try check(rc, "deleting a key from database \"\(database.name)\"")
            return true
        }
    }

    /// Removes every entry whose key begins with `prefix`.
    /// - Returns: the number of entries removed.
    @discardableResult
    public func deleteAll(in database: Database, prefix: some BytesConvertible) throws -> Int {
        try withCursor(in: database) { cursor in
            try prefix.withBytes { prefixBytes in
                var removed = 0
                var found = prefixBytes.isEmpty ? try cursor.first() : try cursor.seek(atLeast: prefixBytes)
                while found, cursor.withCurrent({ key, _ in key.starts(withBytes: prefixBytes) }) {
                    try cursor.deleteCurrent()
                    removed += 1
                    // After mdb_cursor_del the cursor already sits on the next entry.
                    found = try cursor.current()
                }
                return removed
            }
        }
    }

    /// The one place values are written: puts `count` bytes and lets `fill` write them in place.
    /// - Returns: `nil` when `MDB_NOOVERWRITE` found the key present, or `MDB_APPEND` found a key not larger than the last.
    private func store<R>(key: some BytesConvertible, count: Int, flags: UInt32, in database: Database,
                          _ fill: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R? {
        checkActive()
        precondition(count >= 0, "a value size cannot be negative")
        return try key.withBytes { keyBytes -> R? in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            var v = MDB_val(mv_size: count, mv_data: nil)
            let rc = mdb_put(handle, database.handle, &k, &v, flags | UInt32(MDB_RESERVE))
            if rc == MDB_KEYEXIST && flags & UInt32(MDB_NOOVERWRITE | MDB_APPEND) != 0 { return nil }
            if rc == MDB_BAD_VALSIZE {
                throw LMDBError(code: rc, message: "writing to database \"\(database.name)\" failed: a key must be 1 to 511 bytes, this one has \(keyBytes.count); shorten the key")
            }
            if rc == MDB_MAP_FULL {
                throw LMDBError(code: rc, message: "writing to database \"\(database.name)\" failed: the memory map (\(environment.configuration.mapSize) bytes) is full and this transaction was lost; reopen with a larger mapSize")
            }
            try check(rc, "writing to database \"\(database.name)\"")
            do {
                return try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
            } catch {
                poisonReason = "a value being written in place was left incomplete because its writer threw"
                throw error
            }
        }
    }
}

/// A position in a database, lent to the closure of ``ReadTransaction/withCursor(in:_:)``.
///
/// Movement methods return `false` when there is no such entry. The current key and value are
/// lent by ``withCurrent(_:)``. Not `Sendable`, and must not escape its closure.
public final class Cursor {
    let handle: OpaquePointer
    /// The database this cursor walks.
    public let database: Database
    let writable: Bool
    private var isActive = true

    init(handle: OpaquePointer, database: Database, writable: Bool) {
        self.handle = handle
        self.database = database
        self.writable = writable
    }

    func invalidate() { isActive = false }

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Bool {
        precondition(isActive, "A cursor was used after its closure returned; cursors must not escape withCursor { }")
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return false }
        if rc == EINVAL && op == MDB_GET_CURRENT { return false }  // unpositioned cursor
        try check(rc, "moving a cursor on database \"\(database.name)\"")
        return true
    }

    /// Moves to the first entry.
    public func first() throws -> Bool { try move(MDB_FIRST) }
    /// Moves to the last entry.
    public func last() throws -> Bool { try move(MDB_LAST) }
    /// Moves to the next entry.
    public func next() throws -> Bool { try move(MDB_NEXT) }
    /// Moves to the previous entry.
    public func previous() throws -> Bool { try move(MDB_PREV) }
    /// Whether the cursor sits on an entry.
    public func current() throws -> Bool { try move(MDB_GET_CURRENT) }

    /// Moves to the first entry whose key is ≥ `key`.
    public func seek(atLeast key: some BytesConvertible) throws -> Bool {
        try key.withBytes { try move(MDB_SET_RANGE, key: $0) }
    }

    /// Moves to the entry whose key is exactly `key`.
    public func seek(exactly key: some BytesConvertible) throws -> Bool {
        try key.withBytes { try move(MDB_SET_KEY, key: $0) }
    }

    /// Lends the current key and value to `body`; valid only inside it.
    /// - Precondition: the cursor sits on an entry (the last movement returned `true`).
    public func withCurrent<R>(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(isActive, "A cursor was used after its closure returned; cursors must not escape withCursor { }")
        var k = MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(handle, &k, &v, MDB_GET_CURRENT)
        precondition(rc == MDB_SUCCESS, "withCurrent(_:) needs a cursor positioned on an entry; check the result of the last movement")
        return try body(UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                        UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// Deletes the current entry; the cursor then sits on the following one, if any.
    /// - Precondition: the cursor belongs to a write transaction.
    public func deleteCurrent() throws {
        precondition(isActive, "A cursor was used after its closure returned; cursors must not escape withCursor { }")
        precondition(writable, "deleteCurrent() needs a cursor of a write transaction")
        try check(mdb_cursor_del(handle, 0), "deleting through a cursor on database \"\(database.name)\"")
    }
}

@available(*, unavailable, message: "A cursor belongs to the closure it was lent to")
extension Cursor: Sendable {}
