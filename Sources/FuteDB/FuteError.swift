import Foundation
import Storage

/// An error thrown by the fute-db library.
///
/// Match on ``code`` to react to a class of failure, and show ``message`` to people: it says
/// what happened and what to do. Messages never contain stored vectors or metadata values.
///
/// ```swift
/// do { try db.write { try $0.putEmbedding(space: "minilm", subject: "sst2", vector: v) } }
/// catch let error as FuteError where error.code == .dimensionMismatch { … }
/// ```
public struct FuteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The classes of failure.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// An argument is invalid: empty or over-long name, empty vector, NaN or infinite value, bad `k`…
        case invalidArgument
        /// A vector's length differs from its space's dimension.
        case dimensionMismatch
        /// A named space, subject or embedding does not exist.
        case notFound
        /// A space already exists with a different definition.
        case conflict
        /// The store was written by a newer fute-db (its schema version is higher than this library reads).
        case incompatibleSchema
        /// The path holds something that is not a fute-db store (a foreign LMDB environment, a plain file…).
        case notAFuteDatabase
        /// A write was attempted on a store opened read-only.
        case readOnly
        /// The store reached its configured map size.
        case storeFull
        /// The disk holding the store is full: the write transaction was rolled back.
        case diskFull
        /// A stored record could not be decoded.
        case corrupted
        /// Any other storage failure (I/O, permissions, reader slots…).
        case storage
    }

    /// The class of failure.
    public let code: Code
    /// What happened and what to do.
    public let message: String
    /// The argument or field at fault, when there is one (e.g. `"vector"`, `"space"`, `"name"`).
    public let field: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// The message, prefixed by the field when there is one.
    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

extension FuteError {
    /// Translates a storage failure into the library's vocabulary, keeping LMDB's advice.
    static func storage(_ error: LMDBError, path: String) -> FuteError {
        switch error.kind {
        case .mapFull:
            return FuteError(.storeFull, "the store at \(path) is full (map size reached) and the last transaction was lost; reopen with a larger Configuration.mapSize")
        case .diskFull:
            return FuteError(.diskFull, "the disk holding the store at \(path) is full: the write was rolled back and nothing of the transaction (the whole batch) was stored; free disk space and retry")
        case .truncatedFile:
            return FuteError(.corrupted, "the store at \(path) is damaged: \(error.message)")
        case .invalidFile, .incompatible:
            return FuteError(.notAFuteDatabase, "\(path) is not a fute-db store (\(error.message)); pass the directory of a fute-db store")
        case .notADirectory:
            return FuteError(.notAFuteDatabase, "\(path) is a file, but a fute-db store is a directory; pass a store directory")
        case .permissionDenied where error.readOnlyConflict == .alreadyOpenReadOnly:
            return FuteError(.readOnly, "the store at \(path) is already open read-only in this process, and one process shares one handle per store; release the read-only FuteDatabase first, or open both writable")
        case .permissionDenied where error.readOnlyConflict == .environmentIsReadOnly:
            return FuteError(.readOnly, "the store at \(path) was opened read-only; open it without readOnly to write")
        default:
            return FuteError(.storage, "storage failure in \(path): \(error.description)")
        }
    }
}

/// Runs `body`, translating ``LMDBError`` into ``FuteError``.
@inline(__always)
func translatingStorageErrors<T>(path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as LMDBError { throw FuteError.storage(error, path: path) }
}
