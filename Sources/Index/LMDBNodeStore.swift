import Foundation
import Kernels
import Storage

/// The LMDB databases holding every space's graph; keys start with the space id (UInt32 BE).
///
/// - `hnsw_meta`:   space → ``GraphHeader``
/// - `hnsw_blocks`: (space, block) → `nodesPerBlock` fixed-stride node records
/// - `hnsw_upper`:  (space, slot) → upper-layer links, `level × (1 + M)` UInt32
/// - `hnsw_keys`:   (space, key UInt64) → slot UInt32
/// - `hnsw_free`:   (space, slot) → empty (reusable slots)
public struct HNSWDatabases: Sendable {
    /// Graph headers.
    public let meta: Database
    /// Node blocks.
    public let blocks: Database
    /// Upper-layer links.
    public let upper: Database
    /// Key → slot map.
    public let keys: Database
    /// Free slots.
    public let free: Database

    /// The names of the databases, for environments that must size `maxDatabases`.
    public static let names = ["hnsw_meta", "hnsw_blocks", "hnsw_upper", "hnsw_keys", "hnsw_free"]

    /// Opens (creating when absent) the index databases from a write transaction.
    public init(creatingIn txn: WriteTransaction) throws {
        meta = try txn.openDatabase(named: "hnsw_meta", create: true)
        blocks = try txn.openDatabase(named: "hnsw_blocks", create: true)
        upper = try txn.openDatabase(named: "hnsw_upper", create: true)
        keys = try txn.openDatabase(named: "hnsw_keys", create: true)
        free = try txn.openDatabase(named: "hnsw_free", create: true)
    }

    /// Opens the existing index databases (they must have been created by a committed write).
    public init(openingIn txn: ReadTransaction) throws {
        if let write = txn as? WriteTransaction {
            self = try HNSWDatabases(creatingIn: write)
            return
        }
        meta = try txn.openDatabase(named: "hnsw_meta")
        blocks = try txn.openDatabase(named: "hnsw_blocks")
        upper = try txn.openDatabase(named: "hnsw_upper")
        keys = try txn.openDatabase(named: "hnsw_keys")
        free = try txn.openDatabase(named: "hnsw_free")
    }

    /// Opens (creating when absent) the index databases on an environment, before any
    /// transaction that uses them begins.
    public init(environment: Environment) throws {
        meta = try environment.openDatabase(named: "hnsw_meta", create: true)
        blocks = try environment.openDatabase(named: "hnsw_blocks", create: true)
        upper = try environment.openDatabase(named: "hnsw_upper", create: true)
        keys = try environment.openDatabase(named: "hnsw_keys", create: true)
        free = try environment.openDatabase(named: "hnsw_free", create: true)
    }
}

/// An ``HNSWNodeStore`` that reads the graph in place from LMDB pages.
///
/// Reads: a node is found by pointer arithmetic inside its block; a block's address is looked
/// up once per transaction (one `mdb_get`) and kept in a table indexed by block number.
/// Writes (write transactions only) go to private copies of the touched blocks and to pending
/// maps; ``flush()`` puts them into LMDB. No LMDB write happens between flushes, so every
/// address in the table stays valid until then.
///
/// Safety of the kept addresses: LMDB guarantees that data returned by `mdb_get` stays valid
/// and unchanged until the transaction ends or, in a write transaction, until its next write.
/// The store never outlives the closure that lent it the transaction (it is created and used
/// inside ``HNSWGraph``'s methods). A read-only store may start from, and leaves behind, the
/// addresses of its snapshot in Storage's snapshot page cache (``SnapshotAddresses``), only ever
/// inside `withUnsafeSnapshotPageCache`. A writer (``HNSWGraph/withWriter(in:_:)``) goes further,
/// on a stronger LMDB property: a block fills its own overflow page, and LMDB never changes a
/// committed page in place and frees it only when that block's key is written or deleted. So a
/// flush forgets only the addresses of blocks written in this transaction (and every upper-layer
/// record: small values share leaf pages, which any write may copy), and the writer leaves the
/// rest for the snapshot its commit creates (`withUnsafeCommitPageCache`): the next small commit
/// into a large graph then looks up only what changed, not every block its searches visit.
///
/// Not `Sendable`: confined to the transaction's closure.
final class LMDBNodeStore: HNSWNodeStore {
    let txn: ReadTransaction
    let writer: WriteTransaction?
    let dbs: HNSWDatabases
    let space: UInt32
    var header: GraphHeader
    var headerDirty = false
    let layout: NodeLayout
    let blockBytes: Int
    let maxLinks: Int
    let stride: Int
    let nodesPerBlock: Int
    /// `slot / nodesPerBlock` as the high half of a 64×64-bit multiply (exact for slots < 2³²):
    /// an integer division per visited node is measurable. Unused when nodesPerBlock is 1.
    let divisionMagic: UInt64
    /// How much of a vector to prefetch (FUTE_PREFETCH_BYTES overrides, for experiments).
    let prefetchBytes: Int

    /// Block addresses (nil = not yet looked up), `tableCount` entries. Manually allocated so
    /// the search loop (``searchLayer0``) reads it through a local pointer, without array bounds,
    /// uniqueness or exclusivity checks; it only grows (``ensureTable(_:)``), never while a
    /// search runs (a read-only search sizes it to the slot count first).
    var table: UnsafeMutablePointer<UnsafeRawPointer?> = UnsafeMutablePointer.allocate(capacity: 1)
    var tableCount = 0
    var touchedBlocks: [Int] = []
    /// Committed upper-layer records looked up in this transaction (addresses in the map).
    var upperCache = SlotAddressMap()
    /// Private, modified copies of blocks (write transactions).
    var dirtyBlocks: [Int: UnsafeMutableRawPointer] = [:]
    /// Pending upper-layer link records: slot → record (nil = delete).
    var pendingUpper: [UInt32: [UInt32]?] = [:]
    /// Pending key map changes: key → slot (nil = delete).
    var pendingKeys: [UInt64: UInt32?] = [:]
    /// Slots taken from the free list / returned to it in this batch.
    var reusedSlots: Set<UInt32> = []
    var freedSlots: [UInt32] = []
    /// Copies of misaligned clean blocks (LMDB values could in principle be unaligned).
    var ownedCopies: [UnsafeMutableRawPointer] = []

    /// Whether this writer's addresses outlive its flush (``HNSWGraph/withWriter(in:_:)`` passes
    /// them on within the transaction and to the next commit); else every flush forgets them.
    let carriesAddresses: Bool
    /// Blocks written in this write transaction, by this store or an earlier one it took the
    /// addresses from: reading one back gives a page LMDB dirtied in memory, which the next write
    /// may free, so its address is never kept past a flush.
    var writtenInTransaction: Set<Int> = []

    /// - Parameters:
    ///   - kept: addresses an earlier reader of this read transaction's snapshot left (from
    ///     ``HNSWGraph/withReadStore(in:_:)``), or, for a write transaction, the addresses the
    ///     previous commit carried over (``HNSWGraph/withWriter(in:_:)``).
    ///   - carrying: a writer whose addresses outlive its flush (see ``carriesAddresses``).
    init(txn: ReadTransaction, dbs: HNSWDatabases, space: UInt32, header: GraphHeader, adopting kept: SnapshotAddresses? = nil,
         carrying: Bool = false) {
        self.txn = txn
        self.writer = txn as? WriteTransaction
        self.dbs = dbs
        self.space = space
        self.header = header
        self.layout = header.layout
        self.blockBytes = header.nodesPerBlock * header.stride
        self.maxLinks = header.parameters.m
        self.stride = header.stride
        self.nodesPerBlock = header.nodesPerBlock
        self.divisionMagic = header.nodesPerBlock > 1 ? UInt64.max / UInt64(header.nodesPerBlock) + 1 : 0
        self.prefetchBytes = min(prefetchLimit, header.layout.vectorBytes)
        self.carriesAddresses = carrying && txn is WriteTransaction
        // A read transaction sees one committed snapshot: adopt the addresses an earlier reader
        // of the same snapshot looked up (lent by the environment's snapshot page cache). A write
        // transaction adopts what the commit of the snapshot it starts from carried over.
        if let kept, writer == nil || carriesAddresses, kept.space == space, kept.blockBytes == blockBytes {
            table.deallocate()
            upperCache.deallocate()
            table = kept.table
            tableCount = kept.tableCount
            touchedBlocks = kept.touchedBlocks
            upperCache = kept.upperCache
            ownedCopies = kept.ownedCopies
            if writer != nil, kept.writtenTransaction == txn.id { writtenInTransaction = kept.written }
            kept.disown()
        }
    }

    /// Hands this store's addresses over to a ``SnapshotAddresses`` (the store starts over with
    /// an empty table): a read-only store's for the next reader of the snapshot, called by
    /// ``HNSWGraph/withReadStore(in:_:)``; a writer's, after its last ``flush()`` (which kept only
    /// addresses of blocks not written in this transaction), for the snapshot its commit creates,
    /// called by ``HNSWGraph/withWriter(in:_:)``. Nil for a writer with unflushed changes or
    /// one that does not carry its addresses.
    func detachAddresses() -> SnapshotAddresses? {
        guard !hasPendingChanges, writer == nil || (carriesAddresses && touchedBlocks.isEmpty) else { return nil }
        let addresses = SnapshotAddresses(space: space, blockBytes: blockBytes, table: table, tableCount: tableCount,
                                          touchedBlocks: touchedBlocks, upperCache: upperCache, ownedCopies: ownedCopies,
                                          written: writtenInTransaction, writtenTransaction: writer.map { $0.id } ?? 0)
        writtenInTransaction = []
        table = UnsafeMutablePointer.allocate(capacity: 1)
        tableCount = 0
        touchedBlocks = []
        upperCache = SlotAddressMap()
        ownedCopies = []
        return addresses
    }

    deinit {
        upperCache.deallocate()
        table.deallocate()
        for p in ownedCopies { p.deallocate() }
        for (_, p) in dirtyBlocks { p.deallocate() }
    }

    var dimension: Int { header.dimension }
    var metric: Metric { header.metric }
    var slotCapacity: Int { header.slotCount }

    // MARK: Blocks

    @inline(__always)
    func blockKey(_ block: Int) -> FixedWidthKey { FixedWidthKey(space, UInt32(block)) }

    /// The address of `block` for reading.
    @inline(__always)
    func blockAddress(_ block: Int) throws -> UnsafeRawPointer {
        if block < tableCount, let p = table[block] { return p }
        return try lookUpBlock(block)
    }

    /// Grows the block table to at least `count` entries (new entries nil).
    func ensureTable(_ count: Int) {
        guard count > tableCount else { return }
        let grown = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: count)
        grown.initialize(repeating: nil, count: count)
        if tableCount > 0 { grown.update(from: table, count: tableCount) }
        table.deallocate()
        table = grown
        tableCount = count
    }

    @inline(never)
    func lookUpBlock(_ block: Int) throws -> UnsafeRawPointer {
        if let dirty = dirtyBlocks[block] { return UnsafeRawPointer(dirty) }
        let expected = blockBytes
        let found: UnsafeRawPointer? = try txn.get(blockKey(block), in: dbs.blocks) { value -> UnsafeRawPointer? in
            guard value.count == expected, let base = value.baseAddress else { return nil }
            // Kept beyond the closure on purpose; see the type's "Safety of the kept addresses".
            return base
        } ?? nil
        guard var address = found else {
            throw IndexError(.corrupted, "HNSW block \(block) of space \(space) is missing or has the wrong size; rebuild the index")
        }
        if Int(bitPattern: address) % 16 != 0 {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: expected, alignment: 16)
            copy.copyMemory(from: address, byteCount: expected)
            ownedCopies.append(copy)
            address = UnsafeRawPointer(copy)
        }
        ensureTable(max(block + 1, header.slotCount / header.nodesPerBlock + 1))
        table[block] = address
        touchedBlocks.append(block)
        return address
    }

    /// The record of `slot` for reading.
    @inline(__always)
    func record(_ slot: UInt32) throws -> UnsafeRawPointer {
        let block = nodesPerBlock == 1 ? Int(slot) : Int(truncatingIfNeeded: UInt64(slot).multipliedFullWidth(by: divisionMagic).high)
        let index = Int(slot) &- block &* nodesPerBlock
        return try blockAddress(block) + index &* stride
    }

    /// The record of `slot` for writing: copies its block into private memory on first write.
    func mutableRecord(_ slot: UInt32) throws -> UnsafeMutableRawPointer {
        guard writer != nil else {
            preconditionFailure("HNSW graph modified inside a read transaction")
        }
        let s = Int(slot)
        let npb = header.nodesPerBlock
        let block = s / npb
        if let dirty = dirtyBlocks[block] { return dirty + (s % npb) * header.stride }
        let copy = UnsafeMutableRawPointer.allocate(byteCount: blockBytes, alignment: 16)
        if block * npb < header.slotCount, try txn.contains(blockKey(block), in: dbs.blocks) {
            copy.copyMemory(from: try lookUpBlock(block), byteCount: blockBytes)
        } else {
            copy.initializeMemory(as: UInt8.self, repeating: 0, count: blockBytes)
        }
        dirtyBlocks[block] = copy
        ensureTable(block + 1)
        table[block] = UnsafeRawPointer(copy)
        touchedBlocks.append(block)
        return copy + (s % npb) * header.stride
    }

    // MARK: HNSWNodeReader

    func entryPoint() throws -> (slot: UInt32, level: Int)? {
        header.entryLevel < 0 ? nil : (header.entrySlot, header.entryLevel)
    }

    func level(of slot: UInt32) throws -> Int {
        guard Int(slot) < header.slotCount else { throw IndexError(.corrupted, "slot \(slot) is beyond the graph (\(header.slotCount) slots)") }
        let levelPlusOne = try record(slot).load(as: UInt32.self) & NodeLayout.levelMask
        guard levelPlusOne > 0 else { throw IndexError(.corrupted, "slot \(slot) is free but was read as a node; rebuild the index") }
        return Int(levelPlusOne) - 1
    }

    func isLive(_ slot: UInt32) throws -> Bool {
        guard Int(slot) < header.slotCount else { return false }
        return try record(slot).load(as: UInt32.self) & NodeLayout.levelMask > 0
    }

    func key(of slot: UInt32) throws -> UInt64 {
        try record(slot).load(fromByteOffset: 8, as: UInt64.self)
    }

    @inline(__always)
    func distance(_ query: UnsafePointer<Float>, to slot: UInt32) throws -> Float {
        let v = try record(slot) + layout.vectorOffset
        if header.encoding == .float16 { return storedHalfDistance(header.metric, query, v, count: header.dimension) }
        return storedDistance(header.metric, query, v.assumingMemoryBound(to: Float.self), count: header.dimension)
    }

    /// Lends the vector of `slot` as floats: in place for a float32 graph, decoded into a
    /// temporary (on the stack when small) for a float16 one.
    func withVector<R>(of slot: UInt32, _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        let v = try record(slot) + layout.vectorOffset
        guard header.encoding == .float16 else { return try body(v.assumingMemoryBound(to: Float.self)) }
        return try withUnsafeTemporaryAllocation(of: Float.self, capacity: header.dimension) { buffer in
            let floats = buffer.baseAddress!  // safe: the dimension is positive
            Distance.decodeHalves(v, into: floats, count: header.dimension)
            return try body(UnsafePointer(floats))
        }
    }

    @inline(__always)
    func prefetch(_ slot: UInt32) {
        guard let r = try? record(slot) else { return }
        Prefetch.read(r + layout.vectorOffset, bytes: prefetchBytes)
    }

    @inline(__always)
    func withNeighbors<R>(of slot: UInt32, layer: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        if layer == 0 {
            let r = try record(slot)
            let count = Int(r.load(fromByteOffset: 4, as: UInt32.self))
            let links = (r + NodeLayout.linksOffset).assumingMemoryBound(to: UInt32.self)
            return try body(UnsafeBufferPointer(start: links, count: min(count, layout.maxLinks0)))
        }
        let stride = 1 + maxLinks
        if !pendingUpper.isEmpty, let pending = pendingUpper[slot] {
            guard let record = pending, record.count >= layer * stride else {
                throw IndexError(.corrupted, "slot \(slot) has no links on layer \(layer)")
            }
            return try record.withUnsafeBufferPointer { p in
                let count = Int(p[(layer - 1) * stride] & NodeLayout.upperCountMask)
                return try body(UnsafeBufferPointer(rebasing: p[((layer - 1) * stride + 1)..<((layer - 1) * stride + 1 + count)]))
            }
        }
        let value = try upperRecord(slot)
        guard value.count >= layer * stride * 4, let base = value.baseAddress else {
            throw IndexError(.corrupted, "slot \(slot) has no links on layer \(layer)")
        }
        let start = (layer - 1) * stride
        let count = Int(UInt32(littleEndian: value.loadUnaligned(fromByteOffset: start * 4, as: UInt32.self)) & NodeLayout.upperCountMask)
        if Int(bitPattern: base) % 4 == 0 {
            let p = (base + (start + 1) * 4).assumingMemoryBound(to: UInt32.self)
            return try body(UnsafeBufferPointer(start: p, count: min(count, maxLinks)))
        }
        let copy = (0..<min(count, maxLinks)).map { value.loadUnaligned(fromByteOffset: (start + 1 + $0) * 4, as: UInt32.self) }
        return try copy.withUnsafeBufferPointer { try body($0) }
    }

    /// The committed upper-layer record of `slot`: one `mdb_get` per slot per transaction, then
    /// its address is kept (like block addresses; see the type's "Safety of the kept
    /// addresses") — the greedy descent revisits the same few upper nodes on every query.
    func upperRecord(_ slot: UInt32) throws -> UnsafeRawBufferPointer {
        if let cached = upperCache.find(slot) { return cached }
        let found: UnsafeRawBufferPointer? = try txn.get(FixedWidthKey(space, slot), in: dbs.upper) { $0 }
        guard let found else { throw IndexError(.corrupted, "slot \(slot) has no upper-layer record; rebuild the index") }
        upperCache.insert(slot, found)
        return found
    }

    func liveSlots() throws -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(header.liveCount)
        for s in 0..<header.slotCount where try isLive(UInt32(s)) { out.append(UInt32(s)) }
        return out
    }

    func slot(forKey key: UInt64) throws -> UInt32? {
        if let pending = pendingKeys[key] { return pending }
        return try txn.get(FixedWidthKey(space, key), in: dbs.keys) { $0.loadUnaligned(as: UInt32.self) }
    }

    // MARK: HNSWNodeStore

    func allocate(key: UInt64, vector: UnsafePointer<Float>, level: Int) throws -> UInt32 {
        var slot: UInt32?
        try txn.scan(in: dbs.free, prefix: FixedWidthKey(space)) { k, _ in
            let s = k.bigEndianUInt32(at: 4)
            if reusedSlots.contains(s) { return .continue }
            slot = s
            return .stop
        }
        if slot == nil, let freed = freedSlots.popLast() { slot = freed }
        let chosen: UInt32
        if let slot {
            chosen = slot
            reusedSlots.insert(slot)
        } else {
            guard header.slotCount < Int(UInt32.max) else { throw IndexError(.invalidParameters, "the graph is full (2³² slots)") }
            chosen = UInt32(header.slotCount)
            header.slotCount += 1
        }
        let r = try mutableRecord(chosen)
        r.storeBytes(of: UInt32(level + 1), as: UInt32.self)
        r.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        r.storeBytes(of: key, toByteOffset: 8, as: UInt64.self)
        switch header.encoding {
        case .float32: (r + layout.vectorOffset).copyMemory(from: vector, byteCount: 4 * header.dimension)
        case .float16: Distance.encodeHalves(vector, into: r + layout.vectorOffset, count: header.dimension)
        }
        pendingUpper[chosen] = level > 0 ? [UInt32](repeating: 0, count: level * (1 + maxLinks)) : .some(nil)
        pendingKeys[key] = chosen
        header.liveCount += 1
        headerDirty = true
        return chosen
    }

    func setNeighbors(of slot: UInt32, layer: Int, _ neighbors: UnsafeBufferPointer<UInt32>) throws {
        if layer == 0 {
            precondition(neighbors.count <= layout.maxLinks0, "setNeighbors: too many layer-0 links")
            if header.countsInDegrees {
                let old = try self.neighbors(of: slot, layer: 0)
                try adjustInDegrees(layer: 0, old: old, new: neighbors)
            }
            let r = try mutableRecord(slot)
            r.storeBytes(of: UInt32(neighbors.count), toByteOffset: 4, as: UInt32.self)
            if let base = neighbors.baseAddress, !neighbors.isEmpty {
                (r + NodeLayout.linksOffset).copyMemory(from: base, byteCount: 4 * neighbors.count)
            }
            return
        }
        precondition(neighbors.count <= maxLinks, "setNeighbors: too many links on layer \(layer)")
        let stride = 1 + maxLinks
        var record = try upperRecordForWriting(slot)
        guard record.count >= layer * stride else { throw IndexError(.corrupted, "slot \(slot) has no layer \(layer)") }
        let start = (layer - 1) * stride
        if header.countsInDegrees {
            let count = min(Int(record[start] & NodeLayout.upperCountMask), maxLinks)
            let old = Array(record[(start + 1)..<(start + 1 + count)])
            try adjustInDegrees(layer: layer, old: old, new: neighbors)
            record = try upperRecordForWriting(slot)  // a self link or a shared target may have changed it
        }
        record[start] = (record[start] & ~NodeLayout.upperCountMask) | UInt32(neighbors.count)
        for (i, n) in neighbors.enumerated() { record[start + 1 + i] = n }
        pendingUpper[slot] = record
    }

    /// The upper-layer record of `slot` as it will be written (pending, else committed).
    func upperRecordForWriting(_ slot: UInt32) throws -> [UInt32] {
        if let pending = pendingUpper[slot], let existing = pending { return existing }
        let level = try self.level(of: slot)
        var record = [UInt32](repeating: 0, count: level * (1 + maxLinks))
        _ = try txn.get(FixedWidthKey(space, slot), in: dbs.upper) { value in
            for i in 0..<min(record.count, value.count / 4) {
                record[i] = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            }
        }
        return record
    }

    /// Counts one more in-link on `layer` for the targets in `new` but not in `old`, one fewer
    /// for those in `old` but not in `new` (lists of at most 2M: a linear search is cheapest).
    func adjustInDegrees(layer: Int, old: [UInt32], new: UnsafeBufferPointer<UInt32>) throws {
        for n in old where !new.contains(n) { try adjustInDegree(of: n, layer: layer, by: -1) }
        for n in new where !old.contains(n) { try adjustInDegree(of: n, layer: layer, by: 1) }
    }

    /// Adds `delta` to the in-link count of `slot` on `layer`; a count at its field's limit is
    /// unknown and stays so.
    func adjustInDegree(of slot: UInt32, layer: Int, by delta: Int32) throws {
        if layer == 0 {
            let r = try mutableRecord(slot)
            let word = r.load(as: UInt32.self)
            let count = word >> 8
            guard word & NodeLayout.levelMask > 0 else {
                throw IndexError(.corrupted, "slot \(slot) is free but a link points at it; rebuild the index")
            }
            guard count < NodeLayout.inDegreeLimit0 else { return }
            let next = UInt32(clamping: Int64(count) + Int64(delta))
            r.storeBytes(of: (word & NodeLayout.levelMask) | (min(next, NodeLayout.inDegreeLimit0) << 8), as: UInt32.self)
            return
        }
        var record = try upperRecordForWriting(slot)
        let start = (layer - 1) * (1 + maxLinks)
        guard record.count > start else { throw IndexError(.corrupted, "slot \(slot) has no layer \(layer) but a link points at it there") }
        let count = record[start] >> 16
        guard count < NodeLayout.inDegreeLimitUpper else { return }
        let next = UInt32(clamping: Int64(count) + Int64(delta))
        record[start] = (record[start] & NodeLayout.upperCountMask) | (min(next, NodeLayout.inDegreeLimitUpper) << 16)
        pendingUpper[slot] = record
    }

    func inDegree(of slot: UInt32, layer: Int) throws -> Int? {
        guard header.countsInDegrees else { return nil }
        if layer == 0 {
            let count = try record(slot).load(as: UInt32.self) >> 8
            return count < NodeLayout.inDegreeLimit0 ? Int(count) : nil
        }
        let start = (layer - 1) * (1 + maxLinks)
        let word: UInt32
        if let pending = pendingUpper[slot] {
            guard let record = pending, record.count > start else { throw IndexError(.corrupted, "slot \(slot) has no layer \(layer)") }
            word = record[start]
        } else {
            let value = try upperRecord(slot)
            guard value.count >= (start + 1) * 4 else { throw IndexError(.corrupted, "slot \(slot) has no layer \(layer)") }
            word = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: start * 4, as: UInt32.self))
        }
        let count = word >> 16
        return count < NodeLayout.inDegreeLimitUpper ? Int(count) : nil
    }

    /// Turns a version-1 graph into a version-2 one: counts every node's in-links once (O(n·M),
    /// on the first write to a graph of the earlier format).
    func countInDegrees() throws {
        guard !header.countsInDegrees else { return }
        header.version = GraphHeader.version(for: header.encoding)
        headerDirty = true
        for s in try liveSlots() {
            for layer in 0...(try level(of: s)) {
                for n in try neighbors(of: s, layer: layer) { try adjustInDegree(of: n, layer: layer, by: 1) }
            }
        }
    }

    func free(_ slot: UInt32) throws {
        let key = try self.key(of: slot)
        let r = try mutableRecord(slot)
        r.storeBytes(of: UInt32(0), as: UInt32.self)
        r.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        pendingUpper[slot] = .some(nil)
        pendingKeys[key] = .some(nil)
        freedSlots.append(slot)
        header.liveCount -= 1
        headerDirty = true
    }

    var liveNodeCount: Int { header.liveCount }

    func prunedSinceWalk() throws -> Int { header.prunedSinceWalk }

    func setPrunedSinceWalk(_ count: Int) throws {
        guard count != header.prunedSinceWalk else { return }
        header.prunedSinceWalk = count
        headerDirty = true
    }

    func setEntryPoint(_ entry: (slot: UInt32, level: Int)?) throws {
        header.entrySlot = entry?.slot ?? 0
        header.entryLevel = entry?.level ?? -1
        headerDirty = true
    }

    func highestLevelNode(excluding excluded: UInt32) throws -> (slot: UInt32, level: Int)? {
        var best: (slot: UInt32, level: Int)?
        for s in try liveSlots() where s != excluded {
            let l = try level(of: s)
            if best == nil || l > best!.level { best = (s, l) }
        }
        return best
    }

    // MARK: Flushing

    /// Writes every pending change to LMDB and forgets all kept addresses.
    func flush() throws {
        guard let writer else { return }
        // Slots reused from the free list leave it; freed ones join it.
        for s in reusedSlots { try writer.delete(FixedWidthKey(space, s), in: dbs.free) }
        for s in freedSlots { try writer.put([UInt8](), forKey: FixedWidthKey(space, s), in: dbs.free) }
        // In key order: each put then lands next to the previous one in the B-tree.
        let written = Set(dirtyBlocks.keys)
        for (block, p) in dirtyBlocks.sorted(by: { $0.key < $1.key }) {
            try writer.putReserved(forKey: blockKey(block), count: blockBytes, in: dbs.blocks) { target in
                target.baseAddress!.copyMemory(from: p, byteCount: blockBytes)  // safe: blockBytes > 0
            }
            p.deallocate()
        }
        dirtyBlocks.removeAll()
        for (slot, record) in pendingUpper {
            if let record {
                try writer.put(record.withUnsafeBytes { Array($0) }, forKey: FixedWidthKey(space, slot), in: dbs.upper)
            } else {
                try writer.delete(FixedWidthKey(space, slot), in: dbs.upper)
            }
        }
        for (key, slot) in pendingKeys {
            if let slot {
                try writer.put(withUnsafeBytes(of: slot) { Array($0) }, forKey: FixedWidthKey(space, key), in: dbs.keys)
            } else {
                try writer.delete(FixedWidthKey(space, key), in: dbs.keys)
            }
        }
        if headerDirty { try writer.put(header.encoded(), forKey: FixedWidthKey(space), in: dbs.meta) }
        pendingUpper.removeAll()
        pendingKeys.removeAll()
        reusedSlots.removeAll()
        freedSlots.removeAll()
        headerDirty = false
        forgetAddresses(written: written)
    }

    /// Forgets the addresses a write may move: every block written in this transaction (this
    /// store's private copies are freed; a block read back after an earlier flush lies in a page
    /// LMDB dirtied in memory) and every upper-layer record (small values live in leaf pages,
    /// which writes copy). A carrying writer keeps the other block addresses: each block has an
    /// overflow page of its own, which LMDB never changes in place and frees only when the
    /// block's key is written or deleted. Otherwise every address is forgotten.
    func forgetAddresses(written: Set<Int>) {
        writtenInTransaction.formUnion(written)
        for b in touchedBlocks where b < tableCount {
            if !carriesAddresses || writtenInTransaction.contains(b) { table[b] = nil }
        }
        touchedBlocks.removeAll(keepingCapacity: true)
        upperCache.removeAll()
        if !carriesAddresses {
            for p in ownedCopies { p.deallocate() }
            ownedCopies.removeAll()
        }
    }

    /// Whether changes wait for ``flush()``.
    var hasPendingChanges: Bool {
        !dirtyBlocks.isEmpty || !pendingUpper.isEmpty || !pendingKeys.isEmpty || !reusedSlots.isEmpty || !freedSlots.isEmpty || headerDirty
    }
}

/// Bytes of each vector to prefetch during search (default 2 KiB, i.e. the whole vector up to
/// 512 dimensions; FUTE_PREFETCH_BYTES overrides). With the two-pass layer-0 loop, prefetching
/// the whole 1,536-byte minilm vector measured at least as fast as 1 KiB (A/B runs, noisy machine).
let prefetchLimit: Int = {
    if let s = getenv("FUTE_PREFETCH_BYTES"), let v = Int(String(cString: s)), v >= 0 { return v }
    return 2048
}()

/// Slot → committed upper-layer record address, for one transaction: open addressing with a
/// multiplicative hash in a manually allocated table (the greedy descent looks up a few upper
/// nodes per query; a `Dictionary` lookup, hashing with SipHash, cost ~10% of a small-ef query).
/// Addresses follow the rules of ``LMDBNodeStore``'s "Safety of the kept addresses".
struct SlotAddressMap {
    private static let empty = UInt32.max  // never a slot (fewer than 2³² slots)
    private var keys: UnsafeMutablePointer<UInt32>
    private var values: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private var mask = 15
    private(set) var count = 0

    init() {
        keys = UnsafeMutablePointer.allocate(capacity: 16)
        keys.initialize(repeating: SlotAddressMap.empty, count: 16)
        values = UnsafeMutablePointer.allocate(capacity: 16)
    }

    func deallocate() {
        keys.deallocate()
        values.deallocate()
    }

    @inline(__always)
    private static func bucket(_ slot: UInt32, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(slot) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    @inline(__always)
    func find(_ slot: UInt32) -> UnsafeRawBufferPointer? {
        var i = SlotAddressMap.bucket(slot, mask)
        while true {
            let k = keys[i]
            if k == slot { return values[i] }
            if k == SlotAddressMap.empty { return nil }
            i = (i &+ 1) & mask
        }
    }

    mutating func insert(_ slot: UInt32, _ value: UnsafeRawBufferPointer) {
        if 2 * (count + 1) > mask + 1 { grow() }
        var i = SlotAddressMap.bucket(slot, mask)
        while keys[i] != SlotAddressMap.empty && keys[i] != slot { i = (i &+ 1) & mask }
        if keys[i] == SlotAddressMap.empty { count += 1 }
        keys[i] = slot
        values[i] = value
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values, oldCapacity = mask + 1
        let capacity = oldCapacity * 2
        keys = UnsafeMutablePointer.allocate(capacity: capacity)
        keys.initialize(repeating: SlotAddressMap.empty, count: capacity)
        values = UnsafeMutablePointer.allocate(capacity: capacity)
        mask = capacity - 1
        count = 0
        for i in 0..<oldCapacity where oldKeys[i] != SlotAddressMap.empty { insert(oldKeys[i], oldValues[i]) }
        oldKeys.deallocate()
        oldValues.deallocate()
    }

    /// Forgets every entry (keeps the table).
    mutating func removeAll() {
        guard count > 0 else { return }
        keys.update(repeating: SlotAddressMap.empty, count: mask + 1)
        count = 0
    }
}

/// The addresses a read-only store looked up in one snapshot — block table, upper-layer
/// records, copies of misaligned blocks — left in the environment's snapshot page cache
/// (Storage's ``UnsafeSnapshotPageCache``, keyed by space) for the next reader of the same snapshot.
///
/// Why this is safe: Storage hands an entry only to a read transaction of the same environment
/// that sees the same snapshot (same `mdb_txn_id`), and empties the cache on every commit and
/// when it remaps; a snapshot's pages are neither freed nor moved while its id is the newest
/// (see `SnapshotPageCacheStorage`). The addresses are dereferenced only by a store created inside
/// ``HNSWGraph/withReadStore(in:_:)``, within that transaction.
///
/// Without this, one query per read transaction (FuteDB's `nearest`) paid one `mdb_get` per
/// block it touched, every time: most of a small-ef query on siftsmall.
final class SnapshotAddresses: SnapshotPageCacheEntry, @unchecked Sendable {  // safe: owned by one store, or by the cache under its lock
    let space: UInt32
    let blockBytes: Int
    private(set) var table: UnsafeMutablePointer<UnsafeRawPointer?>
    private(set) var tableCount: Int
    private(set) var touchedBlocks: [Int]
    private(set) var upperCache: SlotAddressMap
    private(set) var ownedCopies: [UnsafeMutableRawPointer]
    /// Blocks written in write transaction `writtenTransaction` (0: left by a reader), for the
    /// next writer of the same transaction (see ``LMDBNodeStore/writtenInTransaction``).
    let written: Set<Int>
    let writtenTransaction: Int
    private var owns = true

    init(space: UInt32, blockBytes: Int, table: UnsafeMutablePointer<UnsafeRawPointer?>, tableCount: Int,
         touchedBlocks: [Int], upperCache: SlotAddressMap, ownedCopies: [UnsafeMutableRawPointer],
         written: Set<Int> = [], writtenTransaction: Int = 0) {
        self.written = written
        self.writtenTransaction = writtenTransaction
        self.space = space
        self.blockBytes = blockBytes
        self.table = table
        self.tableCount = tableCount
        self.touchedBlocks = touchedBlocks
        self.upperCache = upperCache
        self.ownedCopies = ownedCopies
    }

    /// The memory now belongs to the store that adopted it.
    func disown() { owns = false }

    deinit {
        guard owns else { return }
        table.deallocate()
        upperCache.deallocate()
        for p in ownedCopies { p.deallocate() }
    }
}
