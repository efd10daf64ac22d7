import Foundation

/// The reusable part of a searcher: the specialised loop's buffers (visited marks by
/// generation counter, heaps, neighbour buffers).
///
/// `@unchecked Sendable`: an instance is used by one searcher at a time — ``SearchScratchPool``
/// hands it out and takes it back under a lock, and a searcher never leaves its closure — so
/// no two threads touch it at once.
final class SearchScratch: @unchecked Sendable {
    let layer = LayerZeroScratch()
}

/// Process-wide pool of ``SearchScratch``, so a one-off search (``HNSWGraph/search``, or
/// FuteDB's `nearest`, which lends a new searcher per query) reuses visited marks sized for
/// the graph instead of allocating and zeroing them (2 bytes per slot) every time.
///
/// At most `limit` idle scratches are kept (each holds marks for the largest graph it has
/// searched: 2 MB at a million slots).
final class SearchScratchPool: @unchecked Sendable {  // safe: `idle` is only touched under `lock`
    static let shared = SearchScratchPool()
    private let lock = NSLock()
    private var idle: [SearchScratch] = []
    private let limit = 8

    /// An idle scratch, or a new one.
    func take() -> SearchScratch {
        lock.lock()
        defer { lock.unlock() }
        return idle.popLast() ?? SearchScratch()
    }

    /// Returns `scratch` for reuse (dropped when the pool is full).
    func give(_ scratch: SearchScratch) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < limit { idle.append(scratch) }
    }
}
