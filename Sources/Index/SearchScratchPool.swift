import Foundation

/// Process-wide pool of ``LayerZeroScratch`` (the specialised loop's visited marks by generation
/// counter, heaps and neighbour buffers), so a one-off search (``HNSWGraph/search``, or FuteDB's
/// `nearest`, which lends a new searcher per query) reuses visited marks sized for the graph
/// instead of allocating and zeroing them (2 bytes per slot) every time.
///
/// A scratch is used by one searcher at a time: the pool hands it out and takes it back under
/// its lock, and a searcher never leaves its closure. At most `limit` idle scratches are kept
/// (each holds marks for the largest graph it has searched: 2 MB at a million slots).
final class SearchScratchPool: @unchecked Sendable {  // safe: `idle` is only touched under `lock`
    static let shared = SearchScratchPool()
    private let lock = NSLock()
    private var idle: [LayerZeroScratch] = []
    private let limit = 8

    /// An idle scratch, or a new one.
    func take() -> LayerZeroScratch {
        lock.lock()
        defer { lock.unlock() }
        return idle.popLast() ?? LayerZeroScratch()
    }

    /// Returns `scratch` for reuse (dropped when the pool is full).
    func give(_ scratch: LayerZeroScratch) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < limit { idle.append(scratch) }
    }
}
