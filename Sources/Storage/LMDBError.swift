import CLMDB
import Foundation

/// An error reported by LMDB or by the Storage wrapper around it.
///
/// Match on ``kind`` to react to a particular failure:
///
/// ```swift
/// do { try environment.write { txn in … } }
/// catch let error as LMDBError where error.kind == .mapFull { … }
/// ```
///
/// ``message`` says what happened and what to do about it; it never contains stored data.
public struct LMDBError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The broad class of a failure, for matching in `catch` clauses.
    public enum Kind: Sendable, Equatable, Hashable {
        /// A key was not found (`MDB_NOTFOUND`).
        case notFound
        /// A key already exists and overwriting was forbidden (`MDB_KEYEXIST`).
        case keyExists
        /// The memory map is full (`MDB_MAP_FULL`): the transaction was lost.
        case mapFull
        /// Another process grew the map beyond what this process could adopt (`MDB_MAP_RESIZED`).
        case mapResized
        /// The file is not an LMDB environment, or is corrupted (`MDB_INVALID`, `MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND`).
        case invalidFile
        /// The data file is shorter than its own meta page says: it was truncated (detected by the wrapper).
        case truncatedFile
        /// The file was written by an incompatible LMDB version (`MDB_VERSION_MISMATCH`).
        case versionMismatch
        /// All reader slots are taken (`MDB_READERS_FULL`).
        case readersFull
        /// Too many named databases are open (`MDB_DBS_FULL`).
        case databasesFull
        /// The transaction has too many dirty pages (`MDB_TXN_FULL`).
        case transactionFull
        /// A key or value has an unsupported size (`MDB_BAD_VALSIZE`), e.g. a key over 511 bytes or empty.
        case badValueSize
        /// The transaction can no longer be used: an earlier operation failed (`MDB_BAD_TXN`).
        case badTransaction
        /// A database was opened with flags that do not match how it was created (`MDB_INCOMPATIBLE`, `MDB_BAD_DBI`).
        case incompatible
        /// A file or directory does not exist (`ENOENT`).
        case noSuchFile
        /// The path exists but is not a directory (`ENOTDIR`).
        case notADirectory
        /// Permission denied, or a write was attempted on a read-only environment (`EACCES`, `EPERM`, `EROFS`).
        case permissionDenied
        /// The disk is full (`ENOSPC`).
        case diskFull
        /// An argument was invalid (`EINVAL`).
        case invalidArgument
        /// Any other error code.
        case other
    }

    /// Why a write was refused by a read-only handle, for errors of kind
    /// ``Kind-swift.enum/permissionDenied`` raised by the wrapper (never by the file system).
    public enum ReadOnlyConflict: Sendable, Equatable, Hashable {
        /// A write transaction was requested on an environment opened read-only.
        case environmentIsReadOnly
        /// A writable environment was requested while this process holds the directory open read-only.
        case alreadyOpenReadOnly
    }

    /// The LMDB or `errno` return code (0 when the error was raised by the wrapper itself).
    public let code: Int32
    /// The class of the failure.
    public let kind: Kind
    /// What happened and what to do about it.
    public let message: String
    /// Set when a read-only handle refused a write; `nil` for every other failure.
    public let readOnlyConflict: ReadOnlyConflict?

    /// Creates an error; the kind is derived from `code`.
    public init(code: Int32, message: String, readOnlyConflict: ReadOnlyConflict? = nil) {
        self.code = code
        self.kind = Self.kind(of: code)
        self.message = message
        self.readOnlyConflict = readOnlyConflict
    }

    /// Creates an error with an explicit kind (for failures detected by the wrapper itself).
    public init(kind: Kind, code: Int32 = 0, message: String) {
        self.code = code
        self.kind = kind
        self.message = message
        self.readOnlyConflict = nil
    }

    /// A one-line description: the message followed by LMDB's own text for the code.
    public var description: String {
        code == 0 ? "LMDB: \(message)" : "LMDB error \(code) (\(Self.lmdbText(code))): \(message)"
    }

    static func lmdbText(_ code: Int32) -> String {
        guard let text = mdb_strerror(code) else { return "unknown" }
        return String(cString: text)
    }

    static func kind(of code: Int32) -> Kind {
        switch code {
        case MDB_NOTFOUND: return .notFound
        case MDB_KEYEXIST: return .keyExists
        case MDB_MAP_FULL: return .mapFull
        case MDB_MAP_RESIZED: return .mapResized
        case MDB_INVALID, MDB_CORRUPTED, MDB_PAGE_NOTFOUND: return .invalidFile
        case MDB_VERSION_MISMATCH: return .versionMismatch
        case MDB_READERS_FULL: return .readersFull
        case MDB_DBS_FULL: return .databasesFull
        case MDB_TXN_FULL: return .transactionFull
        case MDB_BAD_VALSIZE: return .badValueSize
        case MDB_BAD_TXN: return .badTransaction
        case MDB_INCOMPATIBLE, MDB_BAD_DBI: return .incompatible
        case ENOENT: return .noSuchFile
        case ENOTDIR: return .notADirectory
        case EACCES, EPERM, EROFS: return .permissionDenied
        case ENOSPC: return .diskFull
        case EINVAL: return .invalidArgument
        default: return .other
        }
    }

    /// Builds an error for a failed LMDB call, adding advice for the codes a caller can act on.
    /// - Parameters:
    ///   - code: the return code.
    ///   - operation: what the wrapper was doing, e.g. "opening the environment at /tmp/x".
    static func lmdb(_ code: Int32, _ operation: String) -> LMDBError {
        let advice: String
        switch kind(of: code) {
        case .mapFull:
            advice = "the memory map is full and the transaction was aborted; reopen with a larger mapSize"
        case .mapResized:
            advice = "another process grew the map while transactions were open here; close open transactions and retry"
        case .invalidFile:
            advice = "the file is not an LMDB environment or is corrupted; check the path points at a database directory"
        case .truncatedFile:
            advice = "the data file is truncated; restore it from a backup"
        case .versionMismatch:
            advice = "the environment was written by an incompatible LMDB version; use the LMDB version that created it"
        case .readersFull:
            advice = "all reader slots are in use; finish other read transactions, raise maxReaders, or run checkStaleReaders()"
        case .databasesFull:
            advice = "too many named databases are open; raise maxDatabases"
        case .transactionFull:
            advice = "the transaction changed too many pages; split the work into smaller transactions"
        case .badValueSize:
            advice = "keys must be 1 to 511 bytes; shorten the key"
        case .badTransaction:
            advice = "an earlier operation in this transaction failed, so it can only be aborted; retry the whole transaction"
        case .incompatible:
            advice = "the database was created with different flags or its handle is stale; open it with the flags it was created with"
        case .noSuchFile:
            advice = "the path does not exist; create it or open without readOnly"
        case .notADirectory:
            advice = "the path is a file, but an environment is a directory; pass the directory path"
        case .permissionDenied:
            advice = "permission denied; check file permissions, or open read-only"
        case .diskFull:
            advice = "the disk is full and nothing of the transaction was stored; free disk space and retry"
        case .invalidArgument:
            advice = "invalid argument; a database handle may have been opened after this transaction began — open databases before starting transactions"
        case .notFound, .keyExists, .other:
            advice = "see LMDB's documentation for this code"
        }
        return LMDBError(code: code, message: "\(operation) failed: \(advice)")
    }
}

extension LMDBError {
    /// Below this many free bytes on the store's file system, an `EIO` from a commit is taken to
    /// mean a full disk: LMDB reports a short `pwrite` (a disk that filled up mid-write) as `EIO`,
    /// not `ENOSPC`. A commit writes at least a few pages, so under 1 MiB left is taken as full.
    static let nearlyFullDiskBytes: UInt64 = 1 << 20

    /// The error for a failed `mdb_txn_commit`: `ENOSPC`, and `EIO` while the file system holding
    /// `directory` has almost no free space (measured now, after the failure), become
    /// ``Kind-swift.enum/diskFull`` with a message saying that nothing of the transaction was
    /// stored (LMDB aborts a transaction whose commit fails; the previous commit stays intact).
    static func commitFailure(_ code: Int32, directory: String, operation: String) -> LMDBError {
        let free = code == ENOSPC || code == EIO ? availableBytes(at: directory) : nil
        return commitFailure(code, directory: directory, operation: operation, freeBytes: free)
    }

    /// ``commitFailure(_:directory:operation:)`` with the free space given (`nil`: unknown).
    static func commitFailure(_ code: Int32, directory: String, operation: String, freeBytes: UInt64?) -> LMDBError {
        let isFull = code == ENOSPC || (code == EIO && freeBytes.map { $0 < nearlyFullDiskBytes } == true)
        guard isFull else { return lmdb(code, operation) }
        let left = freeBytes.map { " (\($0) bytes free)" } ?? ""
        return LMDBError(kind: .diskFull, code: code,
                         message: "\(operation) failed: the disk holding \(directory) is full\(left); the transaction was aborted and nothing of it was stored — free disk space and retry it")
    }

    /// Free bytes available to this process on the file system holding `path`, or `nil` when
    /// `statvfs(2)` fails.
    static func availableBytes(at path: String) -> UInt64? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return UInt64(stats.f_bavail) * UInt64(stats.f_frsize)
    }
}

/// Throws an ``LMDBError`` unless `code` is `MDB_SUCCESS`.
@inline(__always)
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws {
    if code != MDB_SUCCESS { throw LMDBError.lmdb(code, operation()) }
}
