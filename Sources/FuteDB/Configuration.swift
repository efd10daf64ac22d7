import Foundation

/// How a ``FuteDatabase`` is opened. Every field has a default; change only what you need:
///
/// ```swift
/// var configuration = Configuration()
/// configuration.readOnly = true
/// let db = try FuteDatabase(path: "tasks.db", configuration: configuration)
/// ```
public struct Configuration: Sendable, Equatable {
    /// The largest size the store may reach, in bytes. Default: 1 TiB.
    ///
    /// The whole range is reserved as address space when the store opens, but the file stays
    /// sparse: only written pages use disk. It is never grown while the store is open (growing
    /// a memory map under open readers is unsafe), so choose a generous value.
    public var mapSize: Int = 1 << 40

    /// The maximum number of read transactions open at once, across all processes. Default: 126.
    public var maxReaders: Int = 126

    /// Opens the store without write access; ``FuteDatabase/write(_:)`` throws ``FuteError/Code-swift.enum/readOnly``.
    /// The store must already exist. Default: `false`.
    public var readOnly: Bool = false

    /// Skips the fsync at each commit. Faster bulk loads; a system crash (not a process crash)
    /// may lose the last commits, never corrupt the store. Default: `false`.
    public var noSync: Bool = false

    /// Creates the store directory when it does not exist (ignored when ``readOnly``). Default: `true`.
    public var createIfMissing: Bool = true

    /// The default configuration.
    public init() {}
}
