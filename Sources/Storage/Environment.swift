import CLMDB
import Foundation

/// How an LMDB ``Environment`` is opened. Every field has a default suited to an embedded store.
public struct EnvironmentConfiguration: Sendable, Equatable {
    /// The size of the memory map in bytes, and so the maximum size of the database.
    ///
    /// Default: 1 TiB. The file stays sparse: only pages actually written use disk space.
    /// The map is reserved up front and never grown while the environment is open, because
    /// growing it under open readers invalidates pointers they hold.
    public var mapSize: Int = 1 << 40

    /// The maximum number of concurrent read transactions across all processes. Default: 126.
    public var maxReaders: Int = 126

    /// The maximum number of named databases. Default: 64.
    public var maxDatabases: Int = 64

    /// Opens without write access (`MDB_RDONLY`): ``Environment/write(_:)`` throws. Default: `false`.
    public var readOnly: Bool = false

    /// Skips the fsync on commit (`MDB_NOSYNC`): faster, but the last transactions may be lost
    /// (not corrupted) on a system crash. Default: `false`.
    public var noSync: Bool = false

    /// Skips the fsync of the meta page on commit (`MDB_NOMETASYNC`): a system crash may lose
    /// the last transaction. Default: `false`.
    public var noMetaSync: Bool = false

    /// Creates the directory (and parents) when missing; ignored when ``readOnly``. Default: `true`.
    public var createDirectory: Bool = true

    /// The permissions of created files. Default: `0o644`.
    public var fileMode: mode_t = 0o644

    /// The default configuration.
    public init() {}
}

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`, with named databases.
///
/// Access goes through closures that own a transaction for their duration:
///
/// ```swift
/// let env = try Environment(directory: "/tmp/example", configuration: .init())
/// let items = try env.openDatabase(named: "items")
/// try env.write { txn in try txn.put([1, 2, 3], forKey: FixedWidthKey(UInt64(7)), in: items) }
/// let sum = try env.read { txn in try txn.get(FixedWidthKey(UInt64(7)), in: items) { $0.reduce(0, +) } }
/// ```
///
/// Rules this type enforces, learned the hard way:
/// - opened with `MDB_NOTLS`, so read transactions may hop threads and nest;
/// - a write transaction begins and commits on the calling thread inside ``write(_:)``, with
///   writers in this process serialised by a lock (LMDB's own lock serialises processes);
/// - the map is reserved once and only re-read (`mdb_env_set_mapsize(env, 0)`) when another
///   process grew it, and then only while no transaction of this process is open;
/// - addresses readers keep for later readers of the same snapshot live in this environment's
///   snapshot page cache (``ReadTransaction/withUnsafeSnapshotPageCache(_:)``), emptied by every
///   commit and by that remap.
///
/// `@unchecked Sendable`: an `MDB_env` is safe to share between threads with `MDB_NOTLS`; the
/// mutable state of this class (database names, writer ownership) is guarded by `stateLock`.
public final class Environment: @unchecked Sendable {
    /// The directory of the environment.
    public let directory: String
    /// The configuration the environment was opened with.
    public let configuration: EnvironmentConfiguration

    let env: OpaquePointer
    /// Serialises write transactions of this process.
    private let writerLock = NSLock()
    /// Guards `databases`, `writerThread` and the rule that only one transaction at a time may open databases.
    private let stateLock = NSLock()
    /// Serialises every transaction that calls `mdb_dbi_open` (LMDB requires it to finish before another may).
    let databaseOpenLock = NSRecursiveLock()
    /// Held shared by every open transaction; taken exclusively to adopt a map grown by another process.
    let mapGate = ReadWriteLock()
    private var databases: [String: Database] = [:]
    private var writerThread: pthread_t?
    /// What readers built from the pages of the newest snapshot, for the next reader of it; emptied
    /// by every commit and by `adoptGrownMap()` (see ``ReadTransaction/withUnsafeSnapshotPageCache(_:)``).
    package let snapshotPageCache = SnapshotPageCacheStorage()

    /// Opens (and, unless read-only, creates) the environment in `directory`.
    ///
    /// - Throws: ``LMDBError`` when the directory cannot be created or is not an LMDB
    ///   environment (``LMDBError/Kind-swift.enum/invalidFile``, ``LMDBError/Kind-swift.enum/notADirectory``).
    ///   The native handle is released before the error is thrown.
    public init(directory: String, configuration: EnvironmentConfiguration = .init()) throws {
        self.directory = directory
        self.configuration = configuration

        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory)
        if exists && !isDirectory.boolValue {
            throw LMDBError(code: ENOTDIR, message: "opening the environment at \(directory) failed: the path is a file, but an environment is a directory; pass a directory path")
        }
        if !exists {
            guard !configuration.readOnly else {
                throw LMDBError(code: ENOENT, message: "opening the environment at \(directory) read-only failed: the directory does not exist; create the database first")
            }
            guard configuration.createDirectory else {
                throw LMDBError(code: ENOENT, message: "opening the environment at \(directory) failed: the directory does not exist; create it or set createDirectory")
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw LMDBError(code: EACCES, message: "creating the directory \(directory) failed (\(error.localizedDescription)); check the path and permissions")
            }
        }

        var handle: OpaquePointer?
        try check(mdb_env_create(&handle), "creating an LMDB environment")
        guard let handle else { throw LMDBError(kind: .other, message: "mdb_env_create returned no handle; this is an LMDB bug") }
        do {
            try check(mdb_env_set_maxreaders(handle, UInt32(clamping: configuration.maxReaders)), "setting maxReaders")
            try check(mdb_env_set_maxdbs(handle, UInt32(clamping: configuration.maxDatabases)), "setting maxDatabases")
            try check(mdb_env_set_mapsize(handle, configuration.mapSize), "setting mapSize to \(configuration.mapSize)")
            var flags = UInt32(MDB_NOTLS)
            if configuration.readOnly { flags |= UInt32(MDB_RDONLY) }
            if configuration.noSync { flags |= UInt32(MDB_NOSYNC) }
            if configuration.noMetaSync { flags |= UInt32(MDB_NOMETASYNC) }
            try check(mdb_env_open(handle, directory, flags, configuration.fileMode), "opening the environment at \(directory)")
            try Self.checkNotTruncated(handle, directory: directory)
        } catch {
            mdb_env_close(handle)  // safe: no transaction or database handle was ever created
            throw error
        }
        self.env = handle
        if !configuration.readOnly {
            // Release reader slots left by crashed processes; failure here is harmless.
            var dead: Int32 = 0
            _ = mdb_reader_check(handle, &dead)
        }
    }

    /// Returns the environment of `directory` already open in this process, or opens it.
    ///
    /// LMDB forbids opening one environment twice in a process: closing the second handle
    /// releases the first one's file locks. Use this instead of ``init(directory:configuration:)``
    /// whenever more than one part of a program may open the same directory. An open environment
    /// is shared whatever its map size; a writable one also serves read-only requests.
    ///
    /// - Throws: ``LMDBError`` with kind ``LMDBError/Kind-swift.enum/permissionDenied`` when a
    ///   writable environment is requested while the directory is open read-only in this process.
    public static func shared(directory: String, configuration: EnvironmentConfiguration = .init()) throws -> Environment {
        try registry.environment(directory: directory) {
            try Environment(directory: directory, configuration: configuration)
        } isCompatible: { existing in
            if existing.configuration.readOnly && !configuration.readOnly {
                throw LMDBError(code: EACCES, message: "opening \(directory) for writing failed: it is already open read-only in this process; close that handle first, or open both for writing",
                                readOnlyConflict: .alreadyOpenReadOnly)
            }
        }
    }

    private static let registry = EnvironmentRegistry()

    /// LMDB maps the file and trusts its meta page: pages past the end of a truncated file fault
    /// (SIGBUS) on first access. LMDB writes pages before the meta page that refers to them, so in
    /// a sound file the last committed page is always inside the file; refuse the file otherwise.
    private static func checkNotTruncated(_ handle: OpaquePointer, directory: String) throws {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try check(mdb_env_info(handle, &info), "reading environment information of \(directory)")
        try check(mdb_env_stat(handle, &stat), "reading environment statistics of \(directory)")
        let path = (directory as NSString).appendingPathComponent("data.mdb")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = (attributes[.size] as? NSNumber)?.intValue else { return }
        let needed = (info.me_last_pgno + 1) * Int(stat.ms_psize)
        if size < needed {
            throw LMDBError(kind: .truncatedFile, message: "opening the environment at \(directory) failed: data.mdb is \(size) bytes but its last committed page ends at byte \(needed); the file is truncated — restore it from a backup")
        }
    }

    deinit {
        // Safety net: every transaction holds a strong reference to its environment, so none is open here.
        mdb_env_close(env)
    }

    // MARK: - Transactions

    /// Runs `body` inside a read-only transaction: a consistent snapshot of the last commit.
    ///
    /// Read transactions may nest and may be opened inside a write transaction (they then see
    /// the last *committed* state, not the writer's uncommitted changes). The transaction must
    /// not escape `body`: using it afterwards is a programming error that stops the process.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        mapGate.lockShared()
        defer { mapGate.unlock() }
        let txn = try beginTransaction(flags: UInt32(MDB_RDONLY))
        let transaction = ReadTransaction(handle: txn, environment: self)
        defer {
            transaction.invalidate()
            if transaction.holdsDatabaseOpenLock {
                // Committing (not aborting) a read-only transaction keeps the databases it opened.
                let committed = mdb_txn_commit(txn) == MDB_SUCCESS
                finishDatabaseOpens(of: transaction, committed: committed)
            } else {
                mdb_txn_abort(txn)
            }
        }
        return try body(transaction)
    }

    /// Runs `body` inside a write transaction that commits when `body` returns and aborts when it throws.
    ///
    /// The first error is rethrown; after an abort nothing of `body`'s writes is visible.
    /// The transaction begins and commits on the calling thread, so `body` must not hop threads
    /// (it is synchronous: no `await`). Writers of this process run one at a time.
    ///
    /// - Precondition: no write transaction is open on the calling thread (nesting would deadlock).
    /// - Throws: ``LMDBError`` with kind ``LMDBError/Kind-swift.enum/permissionDenied`` on a
    ///   read-only environment, any LMDB failure, or the error thrown by `body`.
    @discardableResult
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        guard !configuration.readOnly else {
            throw LMDBError(code: EACCES, message: "writing to \(directory) failed: the environment was opened read-only; open it without readOnly to write",
                            readOnlyConflict: .environmentIsReadOnly)
        }
        let me = currentThreadID()
        stateLock.lock()
        let nested = writerThread.map { pthread_equal($0, me) != 0 } ?? false
        stateLock.unlock()
        precondition(!nested, "write(_:) was called inside a write transaction on the same thread; do the work in the outer transaction instead")

        writerLock.lock()
        stateLock.lock(); writerThread = me; stateLock.unlock()
        defer {
            stateLock.lock(); writerThread = nil; stateLock.unlock()
            writerLock.unlock()
        }
        mapGate.lockShared()
        defer { mapGate.unlock() }

        let txn = try beginTransaction(flags: 0)
        let transaction = WriteTransaction(handle: txn, environment: self)
        let result: T
        do {
            result = try body(transaction)
        } catch {
            transaction.invalidate()
            mdb_txn_abort(txn)
            finishDatabaseOpens(of: transaction, committed: false)
            throw error
        }
        transaction.invalidate()
        if let reason = transaction.poisonReason {
            mdb_txn_abort(txn)
            finishDatabaseOpens(of: transaction, committed: false)
            throw LMDBError(kind: .badTransaction, message: "committing to \(directory) refused: \(reason); the transaction was aborted — let errors thrown inside write { } propagate")
        }
        let committedID = mdb_txn_id(txn)
        let rc = mdb_txn_commit(txn)  // frees the transaction whether or not it succeeds
        // Pages of the previous snapshot may now be reused: nothing built from them is handed out
        // again, except what the transaction vouched for (pages it did not write; see UnsafeCommitPageCache).
        let carried = transaction.carriedEntries.compactMap { item in item.entry.map { (key: item.key, entry: $0) } }
        transaction.carriedEntries = []
        snapshotPageCache.invalidate(committed: rc == MDB_SUCCESS ? committedID : nil, carrying: carried)
        finishDatabaseOpens(of: transaction, committed: rc == MDB_SUCCESS)
        if rc == EINVAL || rc == MDB_BAD_TXN {
            throw LMDBError(code: rc, message: "committing to \(directory) failed: an earlier operation in the transaction failed (e.g. the map was full) and its error was caught; the transaction was aborted — let such errors propagate and retry the whole transaction")
        }
        guard rc == MDB_SUCCESS else {
            throw LMDBError.commitFailure(rc, directory: directory, operation: "committing a write transaction to \(directory)")
        }
        return result
    }

    /// Begins a transaction, adopting a map grown by another process when LMDB asks for it.
    private func beginTransaction(flags: UInt32) throws -> OpaquePointer {
        var attempts = 0
        while true {
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, flags, &txn)
            if rc == MDB_SUCCESS, let txn { return txn }
            guard rc == MDB_MAP_RESIZED, attempts < 3 else {
                try check(rc, "beginning a \(flags == 0 ? "write" : "read") transaction in \(directory)")
                throw LMDBError(kind: .other, message: "mdb_txn_begin returned no transaction; this is an LMDB bug")
            }
            attempts += 1
            try adoptGrownMap()
        }
    }

    /// Calls `mdb_env_set_mapsize(env, 0)`, which remaps the file: allowed only while no
    /// transaction of this process is open, because their pointers into the map would dangle.
    /// The caller holds `mapGate` shared; it is swapped for the exclusive lock here.
    private func adoptGrownMap() throws {
        mapGate.unlock()
        defer { mapGate.lockShared() }
        let deadline = Date().addingTimeInterval(1)
        while !mapGate.tryLockExclusive() {
            if Date() > deadline {
                throw LMDBError(code: MDB_MAP_RESIZED, message: "another process grew the map of \(directory) while transactions of this process stayed open; finish them and retry")
            }
            usleep(1000)
        }
        defer { mapGate.unlock() }
        // The map moves: forget every address into it (no transaction of this process is open).
        snapshotPageCache.invalidate(committed: nil)
        try check(mdb_env_set_mapsize(env, 0), "adopting the map size set by another process")
    }

    // MARK: - Databases

    /// Opens the named database, creating it when `create` is true and it does not exist.
    ///
    /// Handles are cached per name and stay valid for the life of the environment. Open the
    /// databases you need before starting the transactions that use them: a transaction that
    /// began before a database was first opened cannot use its handle.
    ///
    /// - Precondition: not called inside a write transaction on the same thread (use
    ///   ``WriteTransaction/openDatabase(named:create:)`` there).
    /// - Throws: ``LMDBError`` with kind ``LMDBError/Kind-swift.enum/notFound`` when the database
    ///   does not exist and `create` is false or the environment is read-only.
    public func openDatabase(named name: String, create: Bool = true) throws -> Database {
        if let cached = cachedDatabase(named: name) { return cached }
        if create && !configuration.readOnly {
            return try write { txn in try txn.openDatabase(named: name, create: true) }
        }
        databaseOpenLock.lock()
        defer { databaseOpenLock.unlock() }
        if let cached = cachedDatabase(named: name) { return cached }
        mapGate.lockShared()
        defer { mapGate.unlock() }
        let txn = try beginTransaction(flags: UInt32(MDB_RDONLY))
        var dbi: MDB_dbi = 0
        let rc = mdb_dbi_open(txn, name, 0, &dbi)
        guard rc == MDB_SUCCESS else {
            mdb_txn_abort(txn)
            if rc == MDB_NOTFOUND {
                throw LMDBError(code: rc, message: "opening database \"\(name)\" in \(directory) failed: it does not exist; create it from a writable environment")
            }
            throw LMDBError.lmdb(rc, "opening database \"\(name)\" in \(directory)")
        }
        // Committing (not aborting) a read-only transaction keeps the handle open for the environment.
        try check(mdb_txn_commit(txn), "opening database \"\(name)\" in \(directory)")
        let database = Database(handle: dbi, name: name)
        cache(database)
        return database
    }

    func cachedDatabase(named name: String) -> Database? {
        stateLock.lock(); defer { stateLock.unlock() }
        return databases[name]
    }

    private func cache(_ database: Database) {
        stateLock.lock(); defer { stateLock.unlock() }
        databases[database.name] = database
    }

    private func finishDatabaseOpens(of transaction: ReadTransaction, committed: Bool) {
        guard transaction.holdsDatabaseOpenLock else { return }
        if committed { for database in transaction.openedDatabases { cache(database) } }
        transaction.holdsDatabaseOpenLock = false
        databaseOpenLock.unlock()
    }

    // MARK: - Maintenance and statistics

    /// Releases reader slots held by processes that died without ending their transactions.
    /// - Returns: the number of slots cleared.
    @discardableResult
    public func checkStaleReaders() throws -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead), "checking for stale readers in \(directory)")
        return Int(dead)
    }

    /// Statistics of the main (unnamed) database, including the page size.
    public func stat() throws -> DatabaseStatistics {
        var s = MDB_stat()
        try check(mdb_env_stat(env, &s), "reading environment statistics of \(directory)")
        return DatabaseStatistics(s)
    }

    /// Information about the environment: map size, last page, last transaction, readers.
    public func info() throws -> EnvironmentInfo {
        var i = MDB_envinfo()
        try check(mdb_env_info(env, &i), "reading environment information of \(directory)")
        return EnvironmentInfo(mapSize: i.me_mapsize, lastPageNumber: i.me_last_pgno,
                               lastTransactionID: i.me_last_txnid, maxReaders: Int(i.me_maxreaders),
                               readersInUse: Int(i.me_numreaders))
    }

    /// The size of `data.mdb` on disk in bytes as reported by the file system (the apparent size;
    /// the file may be sparse), or `nil` when it cannot be read.
    public var fileSize: Int? {
        let path = (directory as NSString).appendingPathComponent("data.mdb")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        return (attributes[.size] as? NSNumber)?.intValue
    }

    /// Flushes buffers to disk; needed only with ``EnvironmentConfiguration/noSync``.
    public func sync(force: Bool = true) throws {
        try check(mdb_env_sync(env, force ? 1 : 0), "syncing \(directory)")
    }

    /// Writes a consistent copy of the environment into the existing empty directory `path`.
    /// - Parameter compact: omit free pages and renumber pages (slower, smaller copy).
    public func copy(to path: String, compact: Bool = false) throws {
        try check(mdb_env_copy2(env, path, compact ? UInt32(MDB_CP_COMPACT) : 0), "copying \(directory) to \(path)")
    }
}

/// A handle to a named database inside an ``Environment``; valid for the environment's life.
public struct Database: Sendable, Hashable {
    /// LMDB's handle.
    public let handle: UInt32
    /// The database's name.
    public let name: String
}

/// Page statistics of one database (`mdb_stat`).
public struct DatabaseStatistics: Sendable, Equatable {
    /// The page size in bytes.
    public var pageSize: Int
    /// The depth of the B-tree.
    public var depth: Int
    /// The number of internal pages.
    public var branchPages: Int
    /// The number of leaf pages.
    public var leafPages: Int
    /// The number of overflow pages (values too large for a leaf page).
    public var overflowPages: Int
    /// The number of entries.
    public var entries: Int

    init(_ s: MDB_stat) {
        pageSize = Int(s.ms_psize); depth = Int(s.ms_depth); branchPages = s.ms_branch_pages
        leafPages = s.ms_leaf_pages; overflowPages = s.ms_overflow_pages; entries = s.ms_entries
    }

    /// The bytes used by this database's pages.
    public var usedBytes: Int { (branchPages + leafPages + overflowPages) * pageSize }
}

/// Information about an environment (`mdb_env_info`).
public struct EnvironmentInfo: Sendable, Equatable {
    /// The size of the memory map in bytes.
    public var mapSize: Int
    /// The number of the last page used.
    public var lastPageNumber: Int
    /// The id of the last committed transaction.
    public var lastTransactionID: Int
    /// The maximum number of reader slots.
    public var maxReaders: Int
    /// The number of reader slots in use.
    public var readersInUse: Int
}

/// The environments open in this process, by directory identity (device and inode).
///
/// `@unchecked Sendable`: `entries` is only touched under `lock`.
private final class EnvironmentRegistry: @unchecked Sendable {
    private struct FileID: Hashable { var device: UInt64; var inode: UInt64 }
    private final class WeakEnvironment { weak var value: Environment?; init(_ value: Environment) { self.value = value } }
    private let lock = NSLock()
    private var entries: [FileID: WeakEnvironment] = [:]

    private func fileID(_ path: String) -> FileID? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    func environment(directory: String, open: () throws -> Environment,
                     isCompatible: (Environment) throws -> Void) throws -> Environment {
        lock.lock()
        defer { lock.unlock() }
        if let id = fileID(directory), let existing = entries[id]?.value {
            try isCompatible(existing)
            return existing
        }
        let environment = try open()
        if let id = fileID(directory) { entries[id] = WeakEnvironment(environment) }
        entries = entries.filter { $0.value.value != nil }
        return environment
    }
}
