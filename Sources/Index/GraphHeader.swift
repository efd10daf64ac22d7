import Kernels

/// The fixed-size record describing one space's graph, stored in `hnsw_meta` under the space id.
///
/// Layout (little-endian, 64 bytes): magic "HNSW", format version, metric (from version 3 the
/// vector encoding in its second byte: 0 float32, 1 float16), dimension, m,
/// efConstruction, efSearch, seed, nodes per block, node stride, slot high-water mark, entry
/// slot, entry level (−1 = empty graph), live count (UInt64 in version 1; UInt32 followed by
/// the layer-0 links pruned since the last reachability walk in version 2).
///
/// Format versions: 1 stores links only; 2 also counts each node's in-links per layer (see
/// ``NodeLayout``), which deletion and reachability repair use to stay local; 3 adds the vector
/// encoding. A version-1 graph is read as it is and counted once, on its first write
/// (``LMDBNodeStore/countInDegrees()``). A float32 graph is written as version 2, so builds that
/// predate version 3 still open it; a float16 graph is version 3, which they refuse.
struct GraphHeader: Equatable {
    static let magic: UInt32 = 0x5753_4E48  // "HNSW" read little-endian
    /// The newest version this build reads and writes.
    static let formatVersion: UInt32 = 3
    /// The version a graph with in-link counts and `encoding` is written in.
    static func version(for encoding: VectorEncoding) -> UInt32 { encoding == .float32 ? 2 : 3 }
    static let byteCount = 64

    /// This graph's format version (1 to 3).
    var version: UInt32
    /// Whether nodes carry their in-link counts (version 2 and later).
    var countsInDegrees: Bool { version >= 2 }
    /// How nodes store their vectors (float32 before version 3).
    var encoding: VectorEncoding

    var metric: Metric
    var dimension: Int
    var parameters: HNSWParameters
    var nodesPerBlock: Int
    var stride: Int
    var slotCount: Int
    var entrySlot: UInt32
    var entryLevel: Int
    var liveCount: Int
    /// Layer-0 links pruned since layer 0 was last walked (version 2; see
    /// ``HNSWAlgorithm/restoreReachability(context:)``).
    var prunedSinceWalk: Int = 0

    /// Fresh header for an empty graph; chooses the node layout for LMDB pages of `pageSize` bytes.
    init(metric: Metric, dimension: Int, parameters: HNSWParameters, pageSize: Int = 4096) {
        self.metric = metric
        self.dimension = dimension
        self.encoding = parameters.encoding ?? .preferred(for: metric)
        self.version = GraphHeader.version(for: encoding)
        self.parameters = parameters
        self.parameters.encoding = encoding
        let layout = NodeLayout(dimension: dimension, maxLinks0: parameters.maxLinksLayer0, bytesPerComponent: encoding.bytesPerComponent)
        self.stride = layout.stride
        self.nodesPerBlock = NodeLayout.nodesPerBlock(stride: layout.stride, pageSize: pageSize)
        self.slotCount = 0
        self.entrySlot = 0
        self.entryLevel = -1
        self.liveCount = 0
    }

    var layout: NodeLayout {
        NodeLayout(dimension: dimension, maxLinks0: parameters.maxLinksLayer0, bytesPerComponent: encoding.bytesPerComponent)
    }

    func encoded() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: GraphHeader.byteCount)
        out.withUnsafeMutableBytes { p in
            var metricCode: UInt32 = metric == .l2 ? 0 : (metric == .ip ? 1 : 2)
            if version >= 3 { metricCode |= (encoding == .float32 ? 0 : 1) << 8 }
            p.storeBytes(of: GraphHeader.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt32.self)
            p.storeBytes(of: metricCode.littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(dimension).littleEndian, toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: UInt32(parameters.m).littleEndian, toByteOffset: 16, as: UInt32.self)
            p.storeBytes(of: UInt32(parameters.efConstruction).littleEndian, toByteOffset: 20, as: UInt32.self)
            p.storeBytes(of: UInt32(parameters.efSearch).littleEndian, toByteOffset: 24, as: UInt32.self)
            p.storeBytes(of: UInt32(nodesPerBlock).littleEndian, toByteOffset: 28, as: UInt32.self)
            p.storeBytes(of: parameters.seed.littleEndian, toByteOffset: 32, as: UInt64.self)
            p.storeBytes(of: UInt32(stride).littleEndian, toByteOffset: 40, as: UInt32.self)
            p.storeBytes(of: UInt32(slotCount).littleEndian, toByteOffset: 44, as: UInt32.self)
            p.storeBytes(of: entrySlot.littleEndian, toByteOffset: 48, as: UInt32.self)
            p.storeBytes(of: Int32(entryLevel).littleEndian, toByteOffset: 52, as: Int32.self)
            if version >= 2 {
                p.storeBytes(of: UInt32(liveCount).littleEndian, toByteOffset: 56, as: UInt32.self)
                p.storeBytes(of: UInt32(clamping: prunedSinceWalk).littleEndian, toByteOffset: 60, as: UInt32.self)
            } else {
                p.storeBytes(of: UInt64(liveCount).littleEndian, toByteOffset: 56, as: UInt64.self)
            }
        }
        return out
    }

    init(decoding p: UnsafeRawBufferPointer) throws {
        guard p.count == GraphHeader.byteCount else {
            throw IndexError(.corrupted, "the HNSW header has \(p.count) bytes, expected \(GraphHeader.byteCount); the store is damaged or from another version")
        }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        guard u32(0) == GraphHeader.magic else { throw IndexError(.corrupted, "the HNSW header lacks its magic number; the store is damaged") }
        guard (1...GraphHeader.formatVersion).contains(u32(4)) else {
            throw IndexError(.corrupted, "the HNSW graph has format version \(u32(4)), this build reads 1 to \(GraphHeader.formatVersion); rebuild the index")
        }
        version = u32(4)
        let codes = u32(8)
        switch version >= 3 ? codes & 0xFF : codes {
        case 0: metric = .l2
        case 1: metric = .ip
        case 2: metric = .cosine
        default: throw IndexError(.corrupted, "the HNSW header names unknown metric code \(codes)")
        }
        switch version >= 3 ? codes >> 8 : 0 {
        case 0: encoding = .float32
        case 1: encoding = .float16
        default: throw IndexError(.corrupted, "the HNSW header names unknown vector encoding \(codes >> 8)")
        }
        dimension = Int(u32(12))
        parameters = HNSWParameters(m: Int(u32(16)), efConstruction: Int(u32(20)), efSearch: Int(u32(24)),
                                    seed: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt64.self)),
                                    encoding: encoding)
        nodesPerBlock = Int(u32(28))
        stride = Int(u32(40))
        slotCount = Int(u32(44))
        entrySlot = u32(48)
        entryLevel = Int(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 52, as: Int32.self)))
        if version >= 2 {
            liveCount = Int(u32(56))
            prunedSinceWalk = Int(u32(60))
        } else {
            liveCount = Int(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 56, as: UInt64.self)))
        }
        guard dimension > 0, (1...255).contains(nodesPerBlock), stride == layout.stride else {
            throw IndexError(.corrupted, "the HNSW header is inconsistent (dimension \(dimension), stride \(stride)); rebuild the index")
        }
    }
}

/// Where a node's fields live inside its fixed-stride record (native little-endian):
///
/// ```
/// 0   UInt32 level + 1 (0 = free slot) in the low 8 bits; from format version 2, the number of
///     layer-0 links pointing at this node in the high 24 bits
/// 4   UInt32 number of layer-0 links
/// 8   UInt64 key
/// 16  UInt32 × 2M layer-0 links
/// …   Float or Float16 × dimension (the vector in the graph's ``VectorEncoding``, right after
///     its links: one neighbourhood visit touches one record)
/// ```
/// The stride is rounded up to 16 bytes. Upper-layer links (1/M of nodes) live elsewhere, in
/// records of `level × (1 + M)` UInt32: per layer a count word (links in the low 16 bits; from
/// version 2, in-links in the high 16 bits) and `M` links. An in-link count at its field's
/// maximum is *unknown* (never changed again; deletion then counts by scanning).
struct NodeLayout {
    /// Mask of the level field in a record's first word.
    static let levelMask: UInt32 = 0xFF
    /// Largest in-link count a layer-0 record holds (24 bits); reaching it means unknown.
    static let inDegreeLimit0: UInt32 = 0xFF_FFFF
    /// Mask of the link count in an upper-layer count word.
    static let upperCountMask: UInt32 = 0xFFFF
    /// Largest in-link count an upper-layer count word holds (16 bits); reaching it means unknown.
    static let inDegreeLimitUpper: UInt32 = 0xFFFF
    let dimension: Int
    let maxLinks0: Int
    /// 4 (float32) or 2 (float16).
    var bytesPerComponent = 4
    static let linksOffset = 16
    var vectorOffset: Int { NodeLayout.linksOffset + 4 * maxLinks0 }
    var vectorBytes: Int { bytesPerComponent * dimension }
    var stride: Int { (vectorOffset + vectorBytes + 15) & ~15 }

    /// As many nodes as fill one LMDB overflow page (`pageSize` minus LMDB's 16-byte page
    /// header); a node larger than that gets a block of its own.
    ///
    /// A block is larger than half a page, so LMDB keeps it in an overflow page (page-aligned
    /// data: one lookup per block per read transaction, then pointer arithmetic). One page, not
    /// several: a commit copies every block it touches and frees the old copy, and LMDB reuses
    /// freed pages one at a time easily but finds a free *run* of contiguous pages only when its
    /// bounded free-list search happens upon one. The first layout (~16 KiB, four pages per
    /// block) left 47 % of the file free after a 100k-vector build (31,593 of 67,005 pages;
    /// one page per block: 17,826 of 53,349), and each touched node cost a 16 KiB copy.
    static func nodesPerBlock(stride: Int, pageSize: Int) -> Int {
        let target = max(pageSize, 4096) - 16
        return min(255, max(1, target / stride))
    }
}
