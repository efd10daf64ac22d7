import Kernels

/// One search hit: the caller's key and its engine distance (lower is nearer).
public struct SearchHit: Sendable, Equatable {
    /// The key given at insertion.
    public var key: UInt64
    /// Distance to the query, lower is nearer (see ``Kernels/Metric``).
    public var distance: Float
    /// Creates a hit.
    public init(key: UInt64, distance: Float) { self.key = key; self.distance = distance }
}

/// An in-memory HNSW index keyed by `UInt64`: insert, replace, remove, search.
///
/// ```swift
/// let index = try HNSWIndex(dimension: 3, metric: .l2)
/// try index.insert(key: 7, vector: [0, 0, 1])
/// let hits = try index.search([0, 0, 0.9], k: 1)   // [SearchHit(key: 7, …)]
/// ```
///
/// Not `Sendable`: mutable state without locks; one thread at a time.
public final class HNSWIndex {
    /// The node store (exposed for invariant checks and benchmarks).
    package let store: InMemoryNodeStore
    /// Graph parameters.
    public let parameters: HNSWParameters
    var context = SearchContext()

    /// Creates an empty index.
    public init(dimension: Int, metric: Metric, parameters: HNSWParameters = .init()) throws {
        try parameters.validate()
        guard dimension > 0 else { throw IndexError(.invalidVector, "dimension must be positive, got \(dimension)") }
        self.parameters = parameters
        self.store = InMemoryNodeStore(dimension: dimension, metric: metric, parameters: parameters)
    }

    var algorithm: HNSWAlgorithm<InMemoryNodeStore> { HNSWAlgorithm(store: store, parameters: parameters) }

    /// Number of stored vectors.
    public var count: Int { store.count }

    /// Whether `key` is stored.
    public func contains(key: UInt64) -> Bool { store.keyToSlot[key] != nil }

    /// Inserts `vector` under `key`, replacing any vector stored under it.
    ///
    /// Ends by making sure the insert cut no node off
    /// (``HNSWAlgorithm/restoreReachability(context:)``: searches for the few nodes left with one
    /// in-link, and a layer-0 walk paid for by pruning); ``insert(contentsOf:)`` does it once.
    public func insert(key: UInt64, vector: [Float]) throws {
        try insertWithoutWalk(key: key, vector: vector)
        try algorithm.restoreReachability(context: &context)
    }

    /// Inserts many (key, vector) pairs in order, each replacing any vector stored under its
    /// key; one reachability walk at the end (as one LMDB write batch does).
    public func insert(contentsOf items: [(key: UInt64, vector: [Float])]) throws {
        do {
            for item in items { try insertWithoutWalk(key: item.key, vector: item.vector) }
        } catch {
            try algorithm.restoreReachability(context: &context)  // the items inserted before the failure stay
            throw error
        }
        try algorithm.restoreReachability(context: &context)
    }

    func insertWithoutWalk(key: UInt64, vector: [Float]) throws {
        try checkVector(vector, dimension: store.dimension)
        if contains(key: key) { try algorithm.remove(key: key) }
        try vector.withUnsafeBufferPointer { v in
            _ = try algorithm.insert(key: key, vector: v.baseAddress!, context: &context)
        }
    }

    /// Removes `key` and repairs the graph; returns false if it was absent.
    @discardableResult
    public func remove(key: UInt64) throws -> Bool { try algorithm.remove(key: key) }

    /// The `k` nearest stored vectors to `query`, ascending distance. `ef` defaults to
    /// `parameters.efSearch`; `filter` restricts results to keys for which it returns true
    /// (the graph is still traversed through excluded nodes).
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: ((UInt64) -> Bool)? = nil) throws -> [SearchHit] {
        try checkVector(query, dimension: store.dimension)
        let store = self.store
        let allowed: ((UInt32) throws -> Bool)? = filter.map { f in { f(store.keys[Int($0)]) } }
        let found = try query.withUnsafeBufferPointer { q in
            try algorithm.search(q.baseAddress!, k: k, ef: ef ?? parameters.efSearch, context: &context, isAllowed: allowed)
        }
        return found.map { SearchHit(key: store.keys[Int($0.slot)], distance: $0.distance) }
    }

    /// Structural problems of the graph (empty = sound); see ``HNSWNodeReader/checkInvariants(parameters:expectedKeys:limit:)``.
    public func checkInvariants(expectedKeys: Set<UInt64>? = nil) throws -> [IndexProblem] {
        try store.checkInvariants(parameters: parameters, expectedKeys: expectedKeys)
    }
}

/// Throws unless `vector` has `dimension` finite values.
func checkVector(_ vector: [Float], dimension: Int) throws {
    guard vector.count == dimension else {
        throw IndexError(.invalidVector, "vector has \(vector.count) values but the index dimension is \(dimension)")
    }
    guard vector.allSatisfy(\.isFinite) else {
        throw IndexError(.invalidVector, "vector contains NaN or infinity; clean the input before inserting or searching")
    }
}

/// Throws unless a graph that stores `encoding` can hold `vector`: a float16 graph of metric l2 or
/// ip refuses components beyond ±65,504 (cosine vectors are normalised to unit length first).
func checkEncodable(_ vector: UnsafeBufferPointer<Float>, encoding: VectorEncoding, metric: Metric) throws {
    if let i = encoding.firstUnrepresentable(in: vector, metric: metric) {
        throw IndexError(.invalidVector, "component \(i) of the vector is \(vector[i]), beyond the ±65,504 a float16 graph stores; scale the vectors or create the graph with encoding float32")
    }
}

/// When a filter leaves few candidates, a graph search wastes work and may miss results:
/// scan the allowed set exactly instead.
public enum FilteredSearchPolicy {
    /// Whether to search exactly: the allowed set is at most `max(2·ef, threshold)` vectors, or
    /// at most `fraction` of the space (default 5%) — hnswlib's filtered search degrades as
    /// fewer nodes pass (it keeps traversing excluded ones).
    public static func prefersExact(allowedCount: Int, totalCount: Int, ef: Int,
                                    threshold: Int = 2_000, fraction: Double = 0.05) -> Bool {
        if allowedCount <= max(2 * ef, threshold) { return true }
        return Double(allowedCount) <= fraction * Double(totalCount)
    }
}
