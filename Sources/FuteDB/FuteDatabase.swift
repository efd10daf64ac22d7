import Foundation
import Index
import Storage

/// A fute-db store: task embeddings in vector spaces, subjects (datasets and models) and measured
/// transfer results, kept in one LMDB environment (a directory).
///
/// ```swift
/// let db = try FuteDatabase(path: "tasks.db")
/// try db.write { db in
///     try db.ensureSpace(Space(name: "minilm", dimension: 3, metric: .cosine))
///     try db.upsertSubject(Subject(name: "sst2", kind: .dataset, metadata: ["family": "sentiment"]))
///     try db.putEmbedding(space: "minilm", subject: "sst2", vector: [0.1, 0.9, 0.2], kind: .textemb)
/// }
/// let nearest = try db.read { db in try db.nearest(space: "minilm", vector: [0.1, 0.8, 0.3], k: 5) }
/// ```
///
/// All access goes through ``read(_:)`` and ``write(_:)``, which lend a handle valid only inside
/// their closure. Reads see a consistent snapshot and run concurrently with each other and with
/// one writer; writers (across threads and processes) run one at a time.
///
/// `Sendable`: every stored property is immutable and `Sendable`; share one instance per store.
/// Opening the same path twice in one process is safe: both instances share one LMDB environment
/// (LMDB forbids two), and therefore one writer lock.
public final class FuteDatabase: Sendable {
    /// The store directory.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration
    let environment: Environment
    let layout: StorageLayout

    /// Opens the store at `path`, creating it when missing (unless read-only or
    /// ``Configuration/createIfMissing`` is false), and checks its schema version.
    ///
    /// - Throws: ``FuteError`` — ``FuteError/Code-swift.enum/notAFuteDatabase`` when `path` is a
    ///   file, a non-empty directory that is not a store, or an LMDB environment of another
    ///   application; ``FuteError/Code-swift.enum/incompatibleSchema`` when a newer fute-db
    ///   wrote the store; ``FuteError/Code-swift.enum/notFound`` when the store does not exist
    ///   and may not be created.
    public init(path: String, configuration: Configuration = .init()) throws {
        self.path = path
        self.configuration = configuration
        try Self.checkDirectory(path, configuration: configuration)

        var environmentConfiguration = EnvironmentConfiguration()
        environmentConfiguration.mapSize = configuration.mapSize
        environmentConfiguration.maxReaders = configuration.maxReaders
        environmentConfiguration.readOnly = configuration.readOnly
        environmentConfiguration.noSync = configuration.noSync
        environmentConfiguration.maxDatabases = 1024  // the Index module adds databases per space
        if !configuration.readOnly {
            try Self.createIfNew(path, configuration: environmentConfiguration)
        }
        environment = try translatingStorageErrors(path: path) {
            // Shared: LMDB breaks if one process opens the same environment twice.
            try Environment.shared(directory: path, configuration: environmentConfiguration)
        }
        layout = try Self.openLayout(environment, path: path, readOnly: configuration.readOnly)
        // Index databases must be open before any transaction that uses them begins.
        if configuration.readOnly {
            for name in HNSWDatabases.names {
                do {
                    _ = try environment.openDatabase(named: name, create: false)
                } catch let error as LMDBError where error.kind == .notFound {
                    continue  // a store never indexed: searches are exact
                } catch let error as LMDBError {
                    throw FuteError.storage(error, path: path)
                }
            }
        } else {
            _ = try translatingStorageErrors(path: path) { try HNSWDatabases(environment: environment) }
        }
    }

    /// The names in the directory `path`; a directory that cannot be listed is an error, never
    /// taken for an empty one.
    private static func listDirectory(_ path: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw FuteError(.storage, "cannot list the directory \(path) (\(error.localizedDescription)); check its permissions", field: "path")
        }
    }

    /// Refuses a plain file, and a non-empty directory without `data.mdb` (never litter a foreign directory).
    private static func checkDirectory(_ path: String, configuration: Configuration) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if configuration.readOnly {
                throw FuteError(.notFound, "no fute-db store at \(path); create it by opening it without readOnly", field: "path")
            }
            if !configuration.createIfMissing {
                throw FuteError(.notFound, "no fute-db store at \(path); create it, or set createIfMissing", field: "path")
            }
            return
        }
        guard isDirectory.boolValue else {
            throw FuteError(.notAFuteDatabase, "\(path) is a file, but a fute-db store is a directory; pass a store directory", field: "path")
        }
        let contents = try listDirectory(path)
        if !contents.isEmpty && !contents.contains("data.mdb") {
            throw FuteError(.notAFuteDatabase, "\(path) is a directory with other files and no store in it; pass a store directory or a new path", field: "path")
        }
    }

    /// Makes a new store in one atomic step, so that a crash during creation never leaves a half-made
    /// one (an LMDB environment without the fute-db schema, which read-only opens refuse): when `path`
    /// is missing or an empty directory, the environment is created and initialised in a hidden
    /// sibling staging directory, then renamed onto `path` (rename(2) replaces a missing path or an
    /// empty directory atomically, and fails on a non-empty one, e.g. a store another process made
    /// meanwhile; that store is then opened as it is). A crash before the rename leaves `path` as it
    /// was and the staging directory (`.NAME.fute-db-creating.PID`) beside it.
    private static func createIfNew(_ path: String, configuration: EnvironmentConfiguration) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true else { return }
        }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let staging = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).fute-db-creating.\(getpid())").path
        try? FileManager.default.removeItem(atPath: staging)  // left by a crashed process with our pid
        defer { try? FileManager.default.removeItem(atPath: staging) }
        try translatingStorageErrors(path: path) {
            var stagingConfiguration = configuration
            stagingConfiguration.noSync = false  // the data file must be on disk before it is renamed into place
            let environment = try Environment(directory: staging, configuration: stagingConfiguration)
            try initialize(environment)
        }
        if rename(staging, path) != 0 {
            guard errno == ENOTEMPTY || errno == EEXIST else {
                throw FuteError(.storage, "creating the store at \(path) failed: renaming \(staging) into place: \(String(cString: strerror(errno))); check the permissions of the parent directory", field: "path")
            }
            return
        }
        // The rename must be durable before anything is acknowledged as stored in the new store.
        let parent = open(url.deletingLastPathComponent().path, O_RDONLY)
        if parent >= 0 {
            _ = fsync(parent)
            close(parent)
        }
    }

    /// Checks `meta` (creating it in a fresh environment) and opens every database of the layout.
    private static func openLayout(_ environment: Environment, path: String, readOnly: Bool) throws -> StorageLayout {
        try translatingStorageErrors(path: path) {
            let meta: Database
            do {
                meta = try environment.openDatabase(named: "meta", create: false)
            } catch let error as LMDBError where error.kind == .notFound {
                if try environment.stat().entries > 0 {
                    throw FuteError(.notAFuteDatabase, "\(path) is an LMDB environment of another application (it has no fute-db meta database); pass a fute-db store directory", field: "path")
                }
                if readOnly {
                    throw FuteError(.notFound, "\(path) is an empty environment, not yet a fute-db store; open it once without readOnly to create the store", field: "path")
                }
                try initialize(environment)
                return try StorageLayout(opening: environment, create: false)
            }
            try checkMeta(environment, meta: meta, path: path)
            return try StorageLayout(opening: environment, create: !readOnly)
        }
    }

    private static func initialize(_ environment: Environment) throws {
        try environment.write { txn in
            var databases: [String: Database] = [:]
            for name in StorageLayout.databaseNames { databases[name] = try txn.openDatabase(named: name, create: true) }
            guard let meta = databases["meta"] else { return }
            // Another process may have initialised the store between our check and this transaction.
            if try txn.contains(StorageLayout.MetaKey.magic, in: meta) { return }
            try txn.put(StorageLayout.magic, forKey: StorageLayout.MetaKey.magic, in: meta)
            try txn.put(BigEndian.bytes(StorageLayout.schemaVersion), forKey: StorageLayout.MetaKey.schemaVersion, in: meta)
            try txn.put(BigEndian.bytes(UInt32(1)), forKey: StorageLayout.MetaKey.nextSpaceID, in: meta)
            try txn.put(BigEndian.bytes(UInt64(1)), forKey: StorageLayout.MetaKey.nextSubjectID, in: meta)
        }
    }

    private static func checkMeta(_ environment: Environment, meta: Database, path: String) throws {
        try environment.read { txn in
            let magic = try txn.bytes(forKey: StorageLayout.MetaKey.magic, in: meta)
            guard magic == StorageLayout.magic else {
                throw FuteError(.notAFuteDatabase, "\(path) is an LMDB environment with a \"meta\" database that is not fute-db's; pass a fute-db store directory", field: "path")
            }
            let version = try txn.get(StorageLayout.MetaKey.schemaVersion, in: meta) { $0.count == 4 ? $0.bigEndianUInt32() : nil } ?? nil
            guard let version, version >= 1 else {
                throw FuteError(.corrupted, "the schema version of the store at \(path) is missing or unreadable; restore the store from a backup")
            }
            guard version <= StorageLayout.schemaVersion else {
                throw FuteError(.incompatibleSchema, "the store at \(path) has schema version \(version), written by a newer fute-db; this library reads versions up to \(StorageLayout.schemaVersion) — upgrade fute-db to open it")
            }
        }
    }

    /// The schema version this library writes and reads (older versions are read too).
    public static var schemaVersion: Int { Int(StorageLayout.schemaVersion) }

    /// Runs `body` with a read-only view of the last committed state.
    ///
    /// Reads may run concurrently on many threads, nest, and run inside ``write(_:)`` (they then
    /// see the last commit, not the writer's pending changes). The reader passed to `body` must
    /// not escape it: using it afterwards stops the process.
    /// - Returns: what `body` returns; rethrows what it throws.
    public func read<T>(_ body: (DatabaseReader) throws -> T) throws -> T {
        try translatingStorageErrors(path: path) {
            try environment.read { txn in try body(DatabaseReader(transaction: txn, store: self)) }
        }
    }

    /// Runs `body` in a write transaction that commits when `body` returns and aborts (leaving the
    /// store unchanged) when it throws; the error is rethrown.
    ///
    /// The writer passed to `body` must not escape it, and `body` must not hop threads (it is
    /// synchronous): LMDB requires a write transaction to end on the thread that began it.
    /// Writers run one at a time; don't call `write` inside `write` (it would deadlock and is
    /// stopped by a precondition).
    /// - Throws: ``FuteError/Code-swift.enum/readOnly`` on a read-only store, any error of `body`.
    @discardableResult
    public func write<T>(_ body: (DatabaseWriter) throws -> T) throws -> T {
        guard !configuration.readOnly else {
            throw FuteError(.readOnly, "the store at \(path) was opened read-only; open it without readOnly to write")
        }
        return try translatingStorageErrors(path: path) {
            try environment.write { txn in
                let writer = DatabaseWriter(writeTransaction: txn, store: self)
                let result = try body(writer)
                try writer.applyPendingIndexUpdates()
                return result
            }
        }
    }

    /// Writes a consistent copy of the store into `path` while readers and writers carry on
    /// (LMDB copies one read snapshot). The copy is a complete store: open it with `FuteDatabase(path:)`.
    ///
    /// - Parameters:
    ///   - path: a directory that does not exist yet or is empty; it is created when missing.
    ///   - compact: leave out free pages (a smaller copy, a little slower to make). Default: `true`.
    /// - Throws: ``FuteError/Code-swift.enum/invalidArgument`` when `path` is a file or a non-empty directory.
    public func backup(to path: String, compact: Bool = true) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, try Self.listDirectory(path).isEmpty else {
                throw FuteError(.invalidArgument, "the backup destination \(path) is a file or a non-empty directory; give a new or empty directory", field: "path")
            }
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw FuteError(.storage, "creating the backup directory \(path) failed (\(error.localizedDescription)); check the path and permissions", field: "path")
            }
        }
        try translatingStorageErrors(path: self.path) { try environment.copy(to: path, compact: compact) }
    }

    /// Frees reader slots left by processes that crashed inside a read; returns how many.
    @discardableResult
    public func checkStaleReaders() throws -> Int {
        try translatingStorageErrors(path: path) { try environment.checkStaleReaders() }
    }
}
