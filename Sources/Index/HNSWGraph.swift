import Kernels
import Storage

/// One space's HNSW graph, stored in LMDB and searched in place.
///
/// A stateless handle: every bit of state lives in the environment's `hnsw_*` databases
/// (see ``HNSWDatabases``), so readers on other threads see a consistent snapshot through their
/// own read transactions while a writer inserts. Opening a graph reads its 64-byte header only;
/// nothing is loaded into memory.
///
/// ```swift
/// try env.write { txn in
///     let graph = try HNSWGraph(spaceID: 1, dimension: 384, metric: .cosine, parameters: .init(), in: txn)
///     try graph.insert(key: 42, vector: v, in: txn)
/// }
/// let hits = try env.read { txn in try HNSWGraph(spaceID: 1, in: txn).search(q, k: 10, in: txn) }
/// ```
public struct HNSWGraph: Sendable {
    /// The space this graph indexes.
    public let spaceID: UInt32
    /// Vector length.
    public let dimension: Int
    /// Distance between vectors.
    public let metric: Metric
    /// Parameters; `m` and `seed` are fixed at creation, `efConstruction` and `efSearch` may be
    /// given anew each time the graph is opened for writing.
    public let parameters: HNSWParameters
    let databases: HNSWDatabases

    /// Opens the graph of `spaceID`, creating it (and the index databases) when absent.
    ///
    /// - Throws: ``IndexError`` `.mismatch` when the stored graph has another dimension, metric or `m`.
    public init(spaceID: UInt32, dimension: Int, metric: Metric, parameters: HNSWParameters, in txn: WriteTransaction) throws {
        try parameters.validate()
        guard dimension > 0 else { throw IndexError(.invalidVector, "dimension must be positive, got \(dimension)") }
        let dbs = try HNSWDatabases(creatingIn: txn)
        if var header = try HNSWGraph.loadHeader(spaceID: spaceID, dbs: dbs, in: txn) {
            guard header.dimension == dimension, header.metric == metric, header.parameters.m == parameters.m,
                  parameters.encoding == nil || parameters.encoding == header.encoding else {
                throw IndexError(.mismatch, "space \(spaceID) has a graph of dimension \(header.dimension), metric \(header.metric), m \(header.parameters.m), encoding \(header.encoding.rawValue); asked for \(dimension), \(metric), m \(parameters.m)\(parameters.encoding.map { ", encoding \($0.rawValue)" } ?? ""). Drop and rebuild the index to change them")
            }
            if header.parameters.efConstruction != parameters.efConstruction || header.parameters.efSearch != parameters.efSearch {
                header.parameters.efConstruction = parameters.efConstruction
                header.parameters.efSearch = parameters.efSearch
                try txn.put(header.encoded(), forKey: FixedWidthKey(spaceID), in: dbs.meta)
            }
            self.parameters = header.parameters
        } else {
            let pageSize = try txn.statistics(of: dbs.blocks).pageSize
            let header = GraphHeader(metric: metric, dimension: dimension, parameters: parameters, pageSize: pageSize)
            try txn.put(header.encoded(), forKey: FixedWidthKey(spaceID), in: dbs.meta)
            self.parameters = header.parameters  // with the encoding chosen
        }
        self.spaceID = spaceID
        self.dimension = dimension
        self.metric = metric
        self.databases = dbs
    }

    /// Opens an existing graph for reading.
    ///
    /// - Throws: ``IndexError`` `.corrupted` when the space has no graph. The `hnsw_*`
    ///   databases must exist before the read transaction began (``HNSWDatabases/init(environment:)``).
    public init(spaceID: UInt32, in txn: ReadTransaction) throws {
        let dbs = try HNSWDatabases(openingIn: txn)
        guard let header = try HNSWGraph.loadHeader(spaceID: spaceID, dbs: dbs, in: txn) else {
            throw IndexError(.corrupted, "space \(spaceID) has no HNSW graph; create it with a write transaction first")
        }
        self.spaceID = spaceID
        self.dimension = header.dimension
        self.metric = header.metric
        self.parameters = header.parameters
        self.databases = dbs
    }

    /// Whether `spaceID` has a graph visible to `txn`.
    /// - Throws: ``LMDBError`` when the index databases cannot be read; their absence (no space
    ///   of the store has a graph yet) is `false`, not an error.
    public static func exists(spaceID: UInt32, in txn: ReadTransaction) throws -> Bool {
        let dbs: HNSWDatabases
        do { dbs = try HNSWDatabases(openingIn: txn) } catch let error as LMDBError where error.kind == .notFound { return false }
        return try loadHeader(spaceID: spaceID, dbs: dbs, in: txn) != nil
    }

    static func loadHeader(spaceID: UInt32, dbs: HNSWDatabases, in txn: ReadTransaction) throws -> GraphHeader? {
        try txn.get(FixedWidthKey(spaceID), in: dbs.meta) { try GraphHeader(decoding: $0) }
    }

    func makeStore(in txn: ReadTransaction, adopting kept: SnapshotAddresses? = nil, carrying: Bool = false) throws -> LMDBNodeStore {
        guard let header = try HNSWGraph.loadHeader(spaceID: spaceID, dbs: databases, in: txn) else {
            throw IndexError(.corrupted, "space \(spaceID) has no HNSW graph in this transaction")
        }
        var h = header
        h.parameters.efConstruction = parameters.efConstruction
        h.parameters.efSearch = parameters.efSearch
        return LMDBNodeStore(txn: txn, dbs: databases, space: spaceID, header: h, adopting: kept, carrying: carrying)
    }

    /// Lends a store for reading. In a read transaction it starts from the block addresses an
    /// earlier reader of the same snapshot left in the environment's snapshot page cache, and
    /// leaves its own there when `body` returns: one query per transaction then pays no block
    /// lookups after the first reader of a snapshot. The addresses never leave the cache's closure.
    func withReadStore<R>(in txn: ReadTransaction, _ body: (LMDBNodeStore) throws -> R) throws -> R {
        if txn is WriteTransaction { return try body(try makeStore(in: txn)) }
        return try txn.withUnsafeSnapshotPageCache { cache in
            let key = UInt64(spaceID)
            let store = try makeStore(in: txn, adopting: cache.take(SnapshotAddresses.self, key: key))
            defer { if let addresses = store.detachAddresses() { cache.keep(addresses, key: key) } }
            return try body(store)
        }
    }

    /// Number of vectors in the graph.
    public func count(in txn: ReadTransaction) throws -> Int {
        try HNSWGraph.loadHeader(spaceID: spaceID, dbs: databases, in: txn)?.liveCount ?? 0
    }

    // MARK: Writing

    /// Inserts `vector` under `key`, replacing the vector already stored under it.
    public func insert(key: UInt64, vector: [Float], in txn: WriteTransaction) throws {
        try withWriter(in: txn) { try $0.insert(key: key, vector: vector) }
    }

    /// Removes `key` and repairs the graph; returns false when it was absent.
    @discardableResult
    public func remove(key: UInt64, in txn: WriteTransaction) throws -> Bool {
        try withWriter(in: txn) { try $0.remove(key: key) }
    }

    /// Lends a writer that keeps modified blocks in memory across many inserts and writes them
    /// once when `body` returns: the way to load many vectors in one transaction (each block is
    /// copied into LMDB once per batch instead of once per insert).
    ///
    /// The writer starts from the block addresses the previous commit of this space left (when
    /// nothing else was committed since) and leaves those of the blocks it did not write for the
    /// next one: a small commit into a large graph then looks up only the blocks that changed
    /// since, not every block its searches visit (see ``UnsafeCommitPageCache``).
    public func withWriter<R>(in txn: WriteTransaction, _ body: (HNSWWriter) throws -> R) throws -> R {
        try txn.withUnsafeCommitPageCache { cache in
            let key = UInt64(spaceID)
            // An earlier writer of this transaction that failed after taking the addresses may
            // have written blocks this one cannot know of: then nothing is carried.
            let carrying = !cache.isLost(SnapshotAddresses.self, key: key)
            let store = try makeStore(in: txn, adopting: carrying ? cache.take(SnapshotAddresses.self, key: key) : nil, carrying: carrying)
            try store.countInDegrees()  // a graph of format version 1, once
            let writer = HNSWWriter(store: store, parameters: store.header.parameters)
            defer { writer.isValid = false }
            let result = try body(writer)
            // One reachability walk per batch, not per insert (see restoreReachability).
            if writer.inserted { try writer.algorithm.restoreReachability(context: &writer.context) }
            try store.flush()
            if let addresses = store.detachAddresses() { cache.keepAfterCommit(addresses, key: key) }
            return result
        }
    }

    /// Removes the whole graph of this space.
    public func drop(in txn: WriteTransaction) throws {
        try txn.withUnsafeCommitPageCache { $0.discard(SnapshotAddresses.self, key: UInt64(spaceID)) }
        let prefix = FixedWidthKey(spaceID)
        for db in [databases.blocks, databases.upper, databases.keys, databases.free, databases.meta] {
            try txn.deleteAll(in: db, prefix: prefix)
        }
    }

    // MARK: Reading

    /// The `k` nearest stored vectors to `query` (ascending distance), searched in place.
    /// `ef` defaults to `parameters.efSearch`; `filter` keeps only keys it accepts.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: ((UInt64) -> Bool)? = nil,
                       in txn: ReadTransaction) throws -> [(key: UInt64, distance: Float)] {
        try withSearcher(in: txn) { try $0.search(query, k: k, ef: ef, filter: filter) }
    }

    /// Lends a searcher that keeps its block table and visited set across many queries in one
    /// read transaction (the fast path for batches). Its scratch memory (visited marks, heaps)
    /// comes from a process-wide pool, so a searcher per query does not allocate and clear
    /// the visited marks every time.
    public func withSearcher<R>(in txn: ReadTransaction, _ body: (HNSWSearcher) throws -> R) throws -> R {
        try withReadStore(in: txn) { store in
            let scratch = SearchScratchPool.shared.take()
            let searcher = HNSWSearcher(store: store, parameters: store.header.parameters, scratch: scratch)
            defer {
                searcher.isValid = false
                SearchScratchPool.shared.give(scratch)
            }
            return try body(searcher)
        }
    }

    /// Structural problems of the stored graph (empty = sound); see
    /// ``HNSWNodeReader/checkInvariants(parameters:expectedKeys:limit:)``. Also checks the key
    /// map and the header's live count.
    public func checkInvariants(expectedKeys: Set<UInt64>? = nil, in txn: ReadTransaction) throws -> [IndexProblem] {
        try withReadStore(in: txn) { try checkInvariants(of: $0, expectedKeys: expectedKeys, in: txn) }
    }

    private func checkInvariants(of store: LMDBNodeStore, expectedKeys: Set<UInt64>?, in txn: ReadTransaction) throws -> [IndexProblem] {
        var problems = try store.checkInvariants(parameters: store.header.parameters, expectedKeys: expectedKeys)
        let live = try store.liveSlots()
        if live.count != store.header.liveCount {
            problems.append(.liveCountMismatch(header: store.header.liveCount, blocks: live.count))
        }
        var mapped = 0
        try txn.forEach(in: databases.keys, prefix: FixedWidthKey(spaceID)) { _, _ in mapped += 1 }
        if mapped != live.count { problems.append(.keyMapCountMismatch(entries: mapped, liveNodes: live.count)) }
        return problems
    }
}

/// Batch writer lent by ``HNSWGraph/withWriter(in:_:)``. Must not escape the closure.
public final class HNSWWriter {
    let store: LMDBNodeStore
    let parameters: HNSWParameters
    var context = SearchContext()
    var isValid = true
    /// Whether this batch inserted anything (then it ends with a reachability walk).
    var inserted = false

    init(store: LMDBNodeStore, parameters: HNSWParameters) {
        self.store = store
        self.parameters = parameters
    }

    var algorithm: HNSWAlgorithm<LMDBNodeStore> { HNSWAlgorithm(store: store, parameters: parameters) }

    /// Inserts `vector` under `key`, replacing any vector stored under it.
    public func insert(key: UInt64, vector: [Float]) throws {
        precondition(isValid, "an HNSWWriter was used after its closure returned")
        try checkVector(vector, dimension: store.dimension)
        try vector.withUnsafeBufferPointer { try checkEncodable($0, encoding: store.header.encoding, metric: store.metric) }
        inserted = true
        if try store.slot(forKey: key) != nil { try algorithm.remove(key: key) }
        try vector.withUnsafeBufferPointer { v in
            _ = try algorithm.insert(key: key, vector: v.baseAddress!, context: &context)  // safe: dimension > 0
        }
    }

    /// Inserts a row-major matrix of vectors under consecutive keys from `firstKey`.
    package func insert(rows: UnsafeBufferPointer<Float>, firstKey: UInt64) throws {
        precondition(isValid, "an HNSWWriter was used after its closure returned")
        let d = store.dimension
        guard rows.count % d == 0, let base = rows.baseAddress else { return }
        try checkEncodable(rows, encoding: store.header.encoding, metric: store.metric)
        inserted = true
        for i in 0..<(rows.count / d) {
            let key = firstKey + UInt64(i)
            if try store.slot(forKey: key) != nil { try algorithm.remove(key: key) }
            _ = try algorithm.insert(key: key, vector: base + i * d, context: &context)
        }
    }

    /// Removes `key`; returns false when absent.
    @discardableResult
    public func remove(key: UInt64) throws -> Bool {
        precondition(isValid, "an HNSWWriter was used after its closure returned")
        return try algorithm.remove(key: key)
    }
}

/// Searcher lent by ``HNSWGraph/withSearcher(in:_:)``. Must not escape the closure.
public final class HNSWSearcher {
    let store: LMDBNodeStore
    let parameters: HNSWParameters
    let scratch: LayerZeroScratch
    var isValid = true

    init(store: LMDBNodeStore, parameters: HNSWParameters, scratch: LayerZeroScratch) {
        self.store = store
        self.parameters = parameters
        self.scratch = scratch
    }

    /// Number of vectors in the graph.
    public var count: Int { store.header.liveCount }

    /// The `k` nearest stored vectors to `query`, ascending distance.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, filter: ((UInt64) -> Bool)? = nil) throws -> [(key: UInt64, distance: Float)] {
        try checkVector(query, dimension: store.dimension)
        return try query.withUnsafeBufferPointer { q in
            try search(q.baseAddress!, k: k, ef: ef, filter: filter)  // safe: dimension > 0
        }
    }

    /// The `k` nearest stored vectors to the `dimension` floats at `query`.
    package func search(_ query: UnsafePointer<Float>, k: Int, ef: Int? = nil, filter: ((UInt64) -> Bool)? = nil) throws -> [(key: UInt64, distance: Float)] {
        precondition(isValid, "an HNSWSearcher was used after its closure returned")
        let store = self.store
        if filter == nil {
            // The hot path: the specialised loop (same algorithm and results as the generic one).
            let found = try withPrepared(query, dimension: store.dimension, metric: store.metric) { q in
                k > 0 ? try store.searchUnfiltered(q, ef: max(ef ?? parameters.efSearch, k), keep: k, scratch: scratch) : []
            }
            return try found.map { (key: try store.key(of: $0.slot), distance: $0.distance) }
        }
        // Filtered: the same loop, returning only accepted nodes (the generic loop's semantics).
        guard let filter, k > 0 else { return [] }
        let found = try withPrepared(query, dimension: store.dimension, metric: store.metric) { q in
            try store.searchFiltered(q, ef: max(ef ?? parameters.efSearch, k), keep: k, isIncluded: filter, scratch: scratch)
        }
        return try found.map { (key: try store.key(of: $0.slot), distance: $0.distance) }
    }
}
