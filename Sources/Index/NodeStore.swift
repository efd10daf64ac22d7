import Kernels

/// Read access to an HNSW graph's nodes, addressed by dense *slots* (`UInt32`).
///
/// The algorithm in ``HNSWAlgorithm`` is written against this protocol so it runs on the
/// in-memory store (tests, benchmarks) and in place on LMDB pages (``HNSWGraph``). Methods
/// throw only when the underlying storage fails or is corrupt.
///
/// `package`, like the stores and ``HNSWAlgorithm``: it lends and takes raw pointers, so only this
/// package's modules use it; the public API is ``HNSWGraph`` and ``HNSWIndex``, which take arrays.
package protocol HNSWNodeReader {
    /// Vector length.
    var dimension: Int { get }
    /// Distance used between vectors.
    var metric: Metric { get }
    /// One past the highest slot that may be in use (sizes visited sets).
    var slotCapacity: Int { get }
    /// The node where every search starts and its level, or nil for an empty graph.
    func entryPoint() throws -> (slot: UInt32, level: Int)?
    /// The top layer of a live node.
    func level(of slot: UInt32) throws -> Int
    /// The caller's key of a live node.
    func key(of slot: UInt32) throws -> UInt64
    /// Distance from `query` (`dimension` floats) to the node's vector.
    func distance(_ query: UnsafePointer<Float>, to slot: UInt32) throws -> Float
    /// Lends the node's vector (valid only inside `body`).
    func withVector<R>(of slot: UInt32, _ body: (UnsafePointer<Float>) throws -> R) throws -> R
    /// Lends the node's links on `layer` (valid only inside `body`).
    func withNeighbors<R>(of slot: UInt32, layer: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R
    /// Hints that the node's vector will be read soon (may do nothing).
    func prefetch(_ slot: UInt32)
    /// Every live slot (for invariant checks and deletion repair; O(n)).
    func liveSlots() throws -> [UInt32]
    /// The slot holding `key`, if any.
    func slot(forKey key: UInt64) throws -> UInt32?
    /// How many links on `layer` point at the live node `slot`, kept up to date by
    /// ``HNSWNodeStore/setNeighbors(of:layer:_:)``; nil when this store does not know (then
    /// the algorithm counts by scanning).
    func inDegree(of slot: UInt32, layer: Int) throws -> Int?
}

/// Write access to an HNSW graph's nodes.
package protocol HNSWNodeStore: HNSWNodeReader {
    /// Creates a node for `key` with `vector` and `level`, no links; returns its slot.
    func allocate(key: UInt64, vector: UnsafePointer<Float>, level: Int) throws -> UInt32
    /// Replaces the node's links on `layer` (at most the layer's capacity), adjusting the
    /// in-link counts of the targets it gains and loses.
    func setNeighbors(of slot: UInt32, layer: Int, _ neighbors: UnsafeBufferPointer<UInt32>) throws
    /// Frees a node (no link may point at it; its own links must have been cleared).
    func free(_ slot: UInt32) throws
    /// Sets or clears the entry point.
    func setEntryPoint(_ entry: (slot: UInt32, level: Int)?) throws
    /// A live node of the highest level other than `excluded`, or nil when none is left.
    func highestLevelNode(excluding excluded: UInt32) throws -> (slot: UInt32, level: Int)?
    /// Number of live nodes.
    var liveNodeCount: Int { get }
    /// Layer-0 links pruned since layer 0 was last walked (kept with the graph).
    func prunedSinceWalk() throws -> Int
    /// Records the count of ``prunedSinceWalk()``.
    func setPrunedSinceWalk(_ count: Int) throws
}

extension HNSWNodeReader {
    /// No hint by default.
    package func prefetch(_ slot: UInt32) {}

    /// Copies the node's links on `layer`.
    package func neighbors(of slot: UInt32, layer: Int) throws -> [UInt32] {
        try withNeighbors(of: slot, layer: layer) { Array($0) }
    }

    /// Distance between two stored nodes.
    package func distance(between a: UInt32, _ b: UInt32) throws -> Float {
        try withVector(of: a) { try distance($0, to: b) }
    }
}

extension HNSWNodeStore {
    /// Replaces the node's links from an array.
    package func setNeighbors(of slot: UInt32, layer: Int, _ neighbors: [UInt32]) throws {
        try neighbors.withUnsafeBufferPointer { try setNeighbors(of: slot, layer: layer, $0) }
    }
}

/// Distance between vectors as the graph stores them: for cosine both sides are unit length
/// (normalised on the way in, as hnswlib does), so the distance is `1 − a·b`, one dot product
/// instead of three sums. A zero vector stays zero and so is at distance 1, as ``Metric`` defines.
@inline(__always)
func storedDistance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    switch metric {
    case .l2: return Distance.l2Squared(a, b, count: count)
    case .ip: return -Distance.dot(a, b, count: count)
    case .cosine: return min(max(1 - Distance.dot(a, b, count: count), 0), 2)
    }
}

/// ``storedDistance(_:_:_:count:)`` with `b` stored as `count` halves (a float16 graph).
@inline(__always)
func storedHalfDistance(_ metric: Metric, _ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
    switch metric {
    case .l2: return Distance.halfL2Squared(a, b, count: count)
    case .ip: return -Distance.halfDot(a, b, count: count)
    case .cosine: return min(max(1 - Distance.halfDot(a, b, count: count), 0), 2)
    }
}

/// Lends `vector` as the graph wants it: normalised for cosine, as is otherwise.
@inline(__always)
func withPrepared<R>(_ vector: UnsafePointer<Float>, dimension: Int, metric: Metric, _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    guard metric == .cosine else { return try body(vector) }
    let norm = Distance.squaredNorm(vector, count: dimension).squareRoot()
    return try withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { buffer in
        let scale: Float = norm > 0 && norm.isFinite ? 1 / norm : 0
        for i in 0..<dimension { buffer[i] = vector[i] * scale }
        return try body(UnsafePointer(buffer.baseAddress!))  // safe: dimension > 0
    }
}
