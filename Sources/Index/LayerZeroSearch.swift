import CFuteKernels
import Kernels

// The read path's hot loop: layer-0 beam search of an LMDB graph, unfiltered.
//
// Same algorithm and same results as ``HNSWAlgorithm/searchLayer`` with no filter (hnswlib's
// `searchBaseLayerST`), written against raw pointers so a hop costs what it costs in C: the
// block table, visited marks and both heaps are manually allocated buffers read through locals
// (no array bounds/uniqueness checks, no exclusivity checks on class properties, no protocol or
// closure dispatch), and the distance kernel is inlined and specialised per metric.
//
// Which kernels: the loops are generic over a ``StoredKernel`` and specialised for each metric
// twice, once with kernels inlined from the portable Swift source below and once calling the
// AVX2+FMA build of the Kernels module's Swift kernels (CFuteKernels, checked-in assembly). The
// entry points pick one per search from ``KernelVariant/active`` (``StoredKernelChoice``), so a
// hop makes no dispatch decision; the AVX2 path computes a node's fresh neighbours in one call
// (`distances`), which keeps the call cost per expansion, not per distance. A float16 graph
// (``VectorEncoding``) has its own kernels in both variants: the AVX2 build converts with F16C;
// the portable one calls Kernels' half kernels (not inlined: the fallback for CPUs without F16C).
//
// Why the portable copies are inlined here (Kernels keeps its pointer kernels non-inlinable): the
// concern is FMA code inlined into a module built *without* `-mfma` (FuteDB), where
// `addingProduct` becomes a libm call per lane. These kernels are internal to Index and only
// inlined into Index, which is built with the same flags as Kernels (FUTE_NATIVE gives both
// `-mfma` and `FUTE_FMA`; without it both use multiply + add).

/// A distance between a prepared query and a stored vector (at `b`, in the graph's
/// ``VectorEncoding``), for the specialised loop.
protocol StoredKernel {
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float
    /// `out[j] = distance(query, vectors[j])` for j in 0..<n.
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>)
}

extension StoredKernel {
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<n {
            out[j] = distance(query, vectors[j], count: count)
        }
    }
}

/// One piece of work generic over the kernel: ``StoredKernelChoice/run(_:)`` calls it with the
/// kernel type it chose, so each entry point below names its work once, not once per kernel.
protocol KernelTask {
    associatedtype Result
    func run<K: StoredKernel>(_ kernel: K.Type) throws -> Result
}

/// The kernels one search runs with: the metric, the graph's vector encoding, and the variant
/// ``KernelVariant/active`` names.
enum StoredKernelChoice {
    case l2, ip, cosine
    case avx2L2, avx2IP, avx2Cosine
    case halfL2, halfIP, halfCosine
    case avx2HalfL2, avx2HalfIP, avx2HalfCosine

    @inline(__always)
    init(_ header: GraphHeader) {
        let half = header.encoding == .float16
        #if !FUTE_FMA
        if fute_kernels_use_avx2() != 0 {
            switch header.metric {
            case .l2: self = half ? .avx2HalfL2 : .avx2L2
            case .ip: self = half ? .avx2HalfIP : .avx2IP
            case .cosine: self = half ? .avx2HalfCosine : .avx2Cosine
            }
            return
        }
        #endif
        switch header.metric {
        case .l2: self = half ? .halfL2 : .l2
        case .ip: self = half ? .halfIP : .ip
        case .cosine: self = half ? .halfCosine : .cosine
        }
    }

    /// Runs `task` specialised for this choice's kernel.
    @inline(__always)
    func run<T: KernelTask>(_ task: T) throws -> T.Result {
        switch self {
        case .l2: return try task.run(InlineL2.self)
        case .ip: return try task.run(InlineIP.self)
        case .cosine: return try task.run(InlineCosine.self)
        case .avx2L2: return try task.run(AVX2L2.self)
        case .avx2IP: return try task.run(AVX2IP.self)
        case .avx2Cosine: return try task.run(AVX2Cosine.self)
        case .halfL2: return try task.run(HalfL2.self)
        case .halfIP: return try task.run(HalfIP.self)
        case .halfCosine: return try task.run(HalfCosine.self)
        case .avx2HalfL2: return try task.run(AVX2HalfL2.self)
        case .avx2HalfIP: return try task.run(AVX2HalfIP.self)
        case .avx2HalfCosine: return try task.run(AVX2HalfCosine.self)
        }
    }
}

@inline(__always)
private func load8(_ p: UnsafePointer<Float>, _ index: Int) -> SIMD8<Float> {
    // Callers guarantee index + 8 <= count floats are readable.
    UnsafeRawPointer(p).loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self)
}

@inline(__always)
private func madd8(_ acc: SIMD8<Float>, _ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
    #if FUTE_FMA
    return acc.addingProduct(x, y)
    #else
    return acc + x * y
    #endif
}

@inline(__always)
private func reduce8(_ a: SIMD8<Float>) -> Float {
    let h = a.lowHalf + a.highHalf
    let q = h.lowHalf + h.highHalf
    return q[0] + q[1]
}

/// Squared L2, the same operation order as `SIMDKernels.l2Squared` (the bits of the portable ``Distance``).
enum InlineL2: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ stored: UnsafeRawPointer, count: Int) -> Float {
        let b = stored.assumingMemoryBound(to: Float.self)
        var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
        var i = 0
        while i &+ 32 <= count {
            let d0 = load8(a, i) - load8(b, i)
            let d1 = load8(a, i &+ 8) - load8(b, i &+ 8)
            let d2 = load8(a, i &+ 16) - load8(b, i &+ 16)
            let d3 = load8(a, i &+ 24) - load8(b, i &+ 24)
            s0 = madd8(s0, d0, d0); s1 = madd8(s1, d1, d1)
            s2 = madd8(s2, d2, d2); s3 = madd8(s3, d3, d3)
            i &+= 32
        }
        while i &+ 8 <= count {
            let d = load8(a, i) - load8(b, i)
            s0 = madd8(s0, d, d)
            i &+= 8
        }
        var sum = reduce8((s0 + s1) + (s2 + s3))
        while i < count {
            let d = a[i] - b[i]
            sum += d * d
            i &+= 1
        }
        return sum
    }
}

/// Dot product, the same operation order as `SIMDKernels.dot` (the bits of the portable ``Distance``).
@inline(__always)
private func inlineDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    var i = 0
    while i &+ 32 <= count {
        s0 = madd8(s0, load8(a, i), load8(b, i))
        s1 = madd8(s1, load8(a, i &+ 8), load8(b, i &+ 8))
        s2 = madd8(s2, load8(a, i &+ 16), load8(b, i &+ 16))
        s3 = madd8(s3, load8(a, i &+ 24), load8(b, i &+ 24))
        i &+= 32
    }
    while i &+ 8 <= count {
        s0 = madd8(s0, load8(a, i), load8(b, i))
        i &+= 8
    }
    var sum = reduce8((s0 + s1) + (s2 + s3))
    while i < count {
        sum += a[i] * b[i]
        i &+= 1
    }
    return sum
}

/// `−a·b` (metric ip).
enum InlineIP: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        -inlineDot(a, b.assumingMemoryBound(to: Float.self), count: count)
    }
}

/// `1 − a·b` clamped to [0, 2] on unit vectors (metric cosine; see ``storedDistance``).
enum InlineCosine: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        min(max(1 - inlineDot(a, b.assumingMemoryBound(to: Float.self), count: count), 0), 2)
    }
}

/// The AVX2+FMA kernels (CFuteKernels), the same Swift source as ``Distance``'s compiled ahead of
/// time: call only when ``StoredKernelChoice`` picked them (the CPU has AVX2 and FMA).
private func vectorList(_ p: UnsafeMutablePointer<UnsafeRawPointer>) -> UnsafePointer<UnsafeRawPointer?> {
    // Safe because UnsafeRawPointer? has UnsafeRawPointer's layout (nil is the zero address).
    UnsafeRawPointer(p).assumingMemoryBound(to: UnsafeRawPointer?.self)
}

/// Squared L2 (AVX2+FMA), bit-for-bit ``Distance/l2Squared(_:_:count:)`` when that runs AVX2.
enum AVX2L2: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        fute_avx2_l2sq(a, b.assumingMemoryBound(to: Float.self), count)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_l2sq_batch(query, vectorList(vectors), n, count, out)
    }
}

/// `−a·b` (AVX2+FMA).
enum AVX2IP: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        -fute_avx2_dot(a, b.assumingMemoryBound(to: Float.self), count)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_negated_dot_batch(query, vectorList(vectors), n, count, out)
    }
}

/// `1 − a·b` clamped to [0, 2] on unit vectors (AVX2+FMA).
enum AVX2Cosine: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        min(max(1 - fute_avx2_dot(a, b.assumingMemoryBound(to: Float.self), count), 0), 2)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_unit_cosine_batch(query, vectorList(vectors), n, count, out)
    }
}

/// Half-precision stored vectors, portable build: one call per distance into Kernels (not
/// inlined; the AVX2 build below is the fast path, this one serves CPUs without AVX2+FMA+F16C).
enum HalfL2: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        Distance.halfL2Squared(a, b, count: count)
    }
}

/// `−a·b`, halves stored (portable).
enum HalfIP: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        -Distance.halfDot(a, b, count: count)
    }
}

/// `1 − a·b` clamped to [0, 2], halves stored (portable).
enum HalfCosine: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        min(max(1 - Distance.halfDot(a, b, count: count), 0), 2)
    }
}

/// Squared L2, halves stored (AVX2+FMA+F16C).
enum AVX2HalfL2: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        fute_avx2_half_l2sq(a, b, count)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_half_l2sq_batch(query, vectorList(vectors), n, count, out)
    }
}

/// `−a·b`, halves stored (AVX2+FMA+F16C).
enum AVX2HalfIP: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        -fute_avx2_half_dot(a, b, count)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_half_negated_dot_batch(query, vectorList(vectors), n, count, out)
    }
}

/// `1 − a·b` clamped to [0, 2], halves stored (AVX2+FMA+F16C).
enum AVX2HalfCosine: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafeRawPointer, count: Int) -> Float {
        min(max(1 - fute_avx2_half_dot(a, b, count), 0), 2)
    }
    @inline(__always)
    static func distances(_ query: UnsafePointer<Float>, _ vectors: UnsafeMutablePointer<UnsafeRawPointer>, _ n: Int,
                          count: Int, into out: UnsafeMutablePointer<Float>) {
        fute_avx2_half_unit_cosine_batch(query, vectorList(vectors), n, count, out)
    }
}

/// A binary min-heap of packed `(distance, slot)` keys (see ``PairHeap``) in a manually
/// allocated buffer. Max-heaps store the keys with every bit flipped.
struct RawHeap {
    var base: UnsafeMutablePointer<UInt64>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        base = UnsafeMutablePointer.allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    @inline(never)
    mutating func grow() {
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * 2)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }

    @inline(__always)
    mutating func push(_ item: UInt64) {
        if count == capacity { grow() }
        var child = count
        count &+= 1
        while child > 0 {
            let parent = (child &- 1) >> 1
            let p = base[parent]
            if item < p {
                base[child] = p
                child = parent
            } else { break }
        }
        base[child] = item
    }

    /// Removes and returns the smallest key (count must be > 0).
    @inline(__always)
    mutating func pop() -> UInt64 {
        let top = base[0]
        count &-= 1
        let n = count
        guard n > 0 else { return top }
        let last = base[n]
        // A sentinel in the freed place: a right child at n never wins, so the choice between
        // the children needs no bounds test and compiles to a select instead of a branch that
        // mispredicts half the time.
        base[n] = UInt64.max
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1
            if left >= n { break }
            let l = base[left], r = base[left &+ 1]
            let rightWins = r < l
            let best = left &+ (rightWins ? 1 : 0)
            let b = rightWins ? r : l
            if b < last {
                base[parent] = b
                parent = best
            } else { break }
        }
        base[parent] = last
        return top
    }
}

/// Scratch buffers for ``LMDBNodeStore/searchLayer0(_:entry:entryDistance:ef:scratch:)``:
/// visited marks by generation counter and the two heaps, reused across the queries of one
/// searcher. Not thread-safe (one per ``HNSWSearcher``; ``SearchScratchPool`` lends them out).
final class LayerZeroScratch {
    var marks: UnsafeMutablePointer<UInt16> = UnsafeMutablePointer.allocate(capacity: 1)
    var markCount = 0
    var generation: UInt16 = 0
    var candidates = RawHeap(capacity: 256)
    var results = RawHeap(capacity: 256)
    /// The unvisited neighbours of the node being expanded, and their vectors.
    var freshSlots: UnsafeMutablePointer<UInt32> = UnsafeMutablePointer.allocate(capacity: 1)
    var freshVectors: UnsafeMutablePointer<UnsafeRawPointer> = UnsafeMutablePointer.allocate(capacity: 1)
    var freshDistances: UnsafeMutablePointer<Float> = UnsafeMutablePointer.allocate(capacity: 1)
    var freshCapacity = 0

    deinit {
        freshSlots.deallocate()
        freshVectors.deallocate()
        freshDistances.deallocate()
        marks.deallocate()
        candidates.deallocate()
        results.deallocate()
    }

    /// Makes room for `count` neighbours in `freshSlots` / `freshVectors`.
    func reserveNeighbors(_ count: Int) {
        guard count > freshCapacity else { return }
        freshSlots.deallocate()
        freshVectors.deallocate()
        freshDistances.deallocate()
        freshSlots = UnsafeMutablePointer.allocate(capacity: count)
        freshVectors = UnsafeMutablePointer.allocate(capacity: count)
        freshDistances = UnsafeMutablePointer.allocate(capacity: count)
        freshCapacity = count
    }

    /// Starts a new visit generation covering `capacity` slots; returns the generation.
    func beginVisit(capacity: Int) -> UInt16 {
        if markCount < capacity {
            let grown = UnsafeMutablePointer<UInt16>.allocate(capacity: capacity)
            grown.initialize(repeating: 0, count: capacity)
            marks.deallocate()
            marks = grown
            markCount = capacity
            generation = 0
        }
        if generation == UInt16.max {
            marks.update(repeating: 0, count: markCount)
            generation = 0
        }
        generation &+= 1
        return generation
    }
}

/// Pointer arithmetic from a slot to its record, through a block table the caller sized to the
/// slot count first (so a miss — ``LMDBNodeStore/lookUpBlock(_:)`` — fills an entry but never
/// reallocates the table while this copy of its address is in use).
struct RecordAddressing {
    let table: UnsafeMutablePointer<UnsafeRawPointer?>
    let nodesPerBlock: Int
    let magic: UInt64
    let stride: Int

    @inline(__always)
    func record(_ slot: UInt32, _ store: LMDBNodeStore) throws -> UnsafeRawPointer {
        let npb = nodesPerBlock
        let block = npb == 1 ? Int(slot) : Int(truncatingIfNeeded: UInt64(slot).multipliedFullWidth(by: magic).high)
        let base: UnsafeRawPointer
        if let p = table[block] { base = p } else { base = try store.lookUpBlock(block) }
        return base + (Int(slot) &- block &* npb) &* stride
    }
}

/// Which nodes a beam search may return (all are traversed), as the generic loop's `isAllowed`.
protocol SlotFilter {
    func allows(_ slot: UInt32) throws -> Bool
}

/// Every node but one: the node being inserted (`UInt32.max`, never a slot, for none).
struct AllBut: SlotFilter {
    let slot: UInt32
    @inline(__always) func allows(_ s: UInt32) -> Bool { s != slot }
}

/// The nodes whose key the caller's predicate accepts (a filtered search).
struct KeysAccepted: SlotFilter {
    let store: LMDBNodeStore
    let isIncluded: (UInt64) -> Bool
    @inline(__always) func allows(_ s: UInt32) throws -> Bool { isIncluded(try store.key(of: s)) }
}

/// A store whose layer search has a specialised fast path (used by ``HNSWAlgorithm`` for
/// inserts when the store provides one; the generic loop remains the reference).
protocol SpecialisedLayerSearch {
    /// Greedy descent from `entry` through layers `top` down to `layer + 1`.
    func descend(_ query: UnsafePointer<Float>, from entry: UInt32, distance: Float, top: Int, to layer: Int) throws -> (UInt32, Float)
    /// The same search and results as ``HNSWAlgorithm/searchLayer`` with
    /// `isAllowed = { $0 != excluding }`, drained ascending (distance, then slot).
    func searchLayer(_ query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, layer: Int,
                     excluding: UInt32, scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)]
    /// Whether a walk of layer 0 from `entry` reaches every live node.
    func everyNodeReachable(from entry: UInt32, scratch: LayerZeroScratch) throws -> Bool
}

extension LMDBNodeStore: SpecialisedLayerSearch {
    /// Sizes the block table to the slot count and returns its addressing (valid until the
    /// next write or flush).
    @inline(__always)
    func addressing() -> RecordAddressing {
        ensureTable(header.slotCount / nodesPerBlock + 1)  // no reallocation below
        return RecordAddressing(table: table, nodesPerBlock: nodesPerBlock, magic: divisionMagic, stride: stride)
    }

    /// Unfiltered search of the whole graph: greedy descent through the upper layers, then the
    /// layer-0 beam search of width `ef`. Returns up to `ef` nearest (slot, distance),
    /// ascending. Links to slots at or beyond the slot count (damage) are never followed.
    func searchUnfiltered(_ query: UnsafePointer<Float>, ef: Int, keep: Int? = nil, scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        struct Task: KernelTask {
            let store: LMDBNodeStore, query: UnsafePointer<Float>, ef: Int, keep: Int, scratch: LayerZeroScratch
            func run<K: StoredKernel>(_ kernel: K.Type) throws -> [(slot: UInt32, distance: Float)] {
                try store.searchUnfiltered(K.self, query, ef: ef, keep: keep, scratch: scratch)
            }
        }
        return try StoredKernelChoice(header).run(Task(store: self, query: query, ef: ef, keep: keep ?? ef, scratch: scratch))
    }

    /// The same with a filter: results restricted to nodes whose key `isIncluded` accepts, the
    /// graph still traversed through the others (the generic loop's filtered semantics).
    func searchFiltered(_ query: UnsafePointer<Float>, ef: Int, keep: Int, isIncluded: @escaping (UInt64) -> Bool,
                        scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        struct Task: KernelTask {
            let store: LMDBNodeStore, query: UnsafePointer<Float>, ef: Int, keep: Int, filter: KeysAccepted, scratch: LayerZeroScratch
            func run<K: StoredKernel>(_ kernel: K.Type) throws -> [(slot: UInt32, distance: Float)] {
                try store.searchUnfiltered(K.self, query, ef: ef, keep: keep, filter: filter, scratch: scratch)
            }
        }
        let filter = KeysAccepted(store: self, isIncluded: isIncluded)
        return try StoredKernelChoice(header).run(Task(store: self, query: query, ef: ef, keep: keep, filter: filter, scratch: scratch))
    }

    func searchUnfiltered<K: StoredKernel, F: SlotFilter>(_ kernel: K.Type, _ query: UnsafePointer<Float>, ef: Int, keep: Int,
                                                          filter: F = AllBut(slot: UInt32.max),
                                                          scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        guard header.entryLevel >= 0 else { return [] }
        let entry = header.entrySlot
        guard Int(entry) < header.slotCount else {
            throw IndexError(.corrupted, "the entry point \(entry) is beyond the graph (\(header.slotCount) slots); rebuild the index")
        }
        let at = addressing()
        let entryDistance = K.distance(query, try at.record(entry, self) + layout.vectorOffset, count: header.dimension)
        let (start, startDistance) = try descend(K.self, query, from: entry, distance: entryDistance, top: header.entryLevel, to: 0, at)
        return try beamSearch(K.self, query, entry: start, entryDistance: startDistance, ef: ef, keep: keep, layer: 0,
                              filter: filter, scratch: scratch, at)
    }

    func descend(_ query: UnsafePointer<Float>, from entry: UInt32, distance: Float, top: Int, to layer: Int) throws -> (UInt32, Float) {
        struct Task: KernelTask {
            let store: LMDBNodeStore, query: UnsafePointer<Float>, entry: UInt32, distance: Float, top: Int, layer: Int, at: RecordAddressing
            func run<K: StoredKernel>(_ kernel: K.Type) throws -> (UInt32, Float) {
                try store.descend(K.self, query, from: entry, distance: distance, top: top, to: layer, at)
            }
        }
        return try StoredKernelChoice(header).run(Task(store: self, query: query, entry: entry, distance: distance, top: top, layer: layer,
                                                       at: addressing()))
    }

    func searchLayer(_ query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, layer: Int,
                     excluding: UInt32, scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        struct Task: KernelTask {
            let store: LMDBNodeStore, query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, layer: Int
            let filter: AllBut, scratch: LayerZeroScratch, at: RecordAddressing
            func run<K: StoredKernel>(_ kernel: K.Type) throws -> [(slot: UInt32, distance: Float)] {
                try store.beamSearch(K.self, query, entry: entry, entryDistance: entryDistance, ef: ef, keep: ef, layer: layer,
                                     filter: filter, scratch: scratch, at)
            }
        }
        return try StoredKernelChoice(header).run(Task(store: self, query: query, entry: entry, entryDistance: entryDistance, ef: ef,
                                                       layer: layer, filter: AllBut(slot: excluding), scratch: scratch, at: addressing()))
    }

    func everyNodeReachable(from entry: UInt32, scratch: LayerZeroScratch) throws -> Bool {
        let slotCount = header.slotCount
        guard Int(entry) < slotCount else { return false }
        let at = addressing()
        let maxLinks0 = layout.maxLinks0
        let generation = scratch.beginVisit(capacity: slotCount)
        let marks = scratch.marks
        var stack: [UInt32] = [entry]
        stack.reserveCapacity(256)
        marks[Int(entry)] = generation
        var reached = 0
        while let s = stack.popLast() {
            let r = try at.record(s, self)
            guard r.load(as: UInt32.self) > 0 else { continue }  // a link to a free slot: not a node
            reached += 1
            let count = min(Int(r.load(fromByteOffset: 4, as: UInt32.self)), maxLinks0)
            let links = (r + NodeLayout.linksOffset).assumingMemoryBound(to: UInt32.self)
            for j in 0..<count {
                let n = links[j]
                let i = Int(n)
                guard i < slotCount, marks[i] != generation else { continue }
                marks[i] = generation
                stack.append(n)
            }
        }
        return reached >= header.liveCount
    }

    /// Greedy descent on layers `top` … `layer + 1`: on each, move to any closer neighbour until
    /// none is closer (``HNSWAlgorithm/greedy``).
    @inline(__always)
    func descend<K: StoredKernel>(_ kernel: K.Type, _ query: UnsafePointer<Float>, from start: UInt32, distance startDistance: Float,
                                  top: Int, to bottom: Int, _ at: RecordAddressing) throws -> (UInt32, Float) {
        let slotCount = header.slotCount
        let vectorOffset = layout.vectorOffset
        let dimension = header.dimension
        var entry = start, entryDistance = startDistance
        var layer = top
        while layer > bottom {
            var changed = true
            while changed {
                changed = false
                try withNeighbors(of: entry, layer: layer) { links in
                    for n in links where Int(n) < slotCount {
                        let d = K.distance(query, try at.record(n, self) + vectorOffset, count: dimension)
                        if d < entryDistance {
                            entryDistance = d
                            entry = n
                            changed = true
                        }
                    }
                }
            }
            layer -= 1
        }
        return (entry, entryDistance)
    }

    /// Beam search of width `ef` on `layer` from `entry`; `excluding` (the node being inserted)
    /// is traversed but never returned, exactly as the generic loop's filter. Returns the
    /// nearest `keep` (≤ `ef`) of the up to `ef` found, as (slot, distance) ascending.
    func beamSearch<K: StoredKernel, F: SlotFilter>(_ kernel: K.Type, _ query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float,
                                                    ef: Int, keep: Int, layer: Int, filter: F, scratch: LayerZeroScratch,
                                                    _ at: RecordAddressing) throws -> [(slot: UInt32, distance: Float)] {
        let slotCount = header.slotCount
        let vectorOffset = layout.vectorOffset
        let maxLinks0 = layout.maxLinks0
        let dimension = header.dimension
        let prefetchBytes = self.prefetchBytes
        let generation = scratch.beginVisit(capacity: slotCount)
        let marks = scratch.marks
        scratch.reserveNeighbors(max(maxLinks0, maxLinks))
        let freshSlots = scratch.freshSlots, freshVectors = scratch.freshVectors, freshDistances = scratch.freshDistances
        var candidates = scratch.candidates
        var results = scratch.results
        candidates.count = 0
        results.count = 0
        defer {
            scratch.candidates = candidates
            scratch.results = results
        }

        @inline(__always) func key(_ d: Float, _ s: UInt32) -> UInt64 { (PairHeap.orderKey(d) << 32) | UInt64(s) }

        // Marks the unvisited neighbours among `links` and starts the memory loads of their
        // vectors (cache misses on a large graph); returns how many were fresh.
        @inline(__always) func collect(_ links: UnsafePointer<UInt32>, _ count: Int) throws -> Int {
            // Without a branch on the visited test (it mispredicts often: most neighbours of a
            // converging search were seen already): every link is written, the count advances
            // only for unseen ones, and marking a seen node again changes nothing.
            var fresh = 0
            for j in 0..<count {
                let n = links[j]
                let i = Int(n)
                guard i < slotCount else { continue }  // a damaged link; never taken on a sound graph
                let seen = marks[i] == generation
                marks[i] = generation
                freshSlots[fresh] = n
                fresh &+= seen ? 0 : 1
            }
            for j in 0..<fresh {
                let v = try at.record(freshSlots[j], self) + vectorOffset
                if prefetchBytes > 0 { Prefetch.read(v, bytes: prefetchBytes) }
                freshVectors[j] = v
            }
            return fresh
        }

        marks[Int(entry)] = generation
        var lowerBound = Float.infinity
        if try filter.allows(entry) {
            results.push(~key(entryDistance, entry))
            lowerBound = entryDistance
        }
        candidates.push(key(entryDistance, entry))
        while candidates.count > 0 {
            let top = candidates.base[0]
            // Unfiltered, `results.count < ef` implies the top candidate is within the bound
            // (every candidate is also a result until results overflow), so this is
            // hnswlib's stop rule; with a filter it is the generic filtered rule.
            if PairHeap.distance(fromKey: top >> 32) > lowerBound && results.count >= ef { break }
            _ = candidates.pop()
            let node = UInt32(truncatingIfNeeded: top)
            let fresh: Int
            if layer == 0 {
                let r = try at.record(node, self)
                // The next candidate's links are likely read next (hnswlib does the same).
                if prefetchBytes > 0, candidates.count > 0 {
                    let next = UInt32(truncatingIfNeeded: candidates.base[0])
                    if Int(next) < slotCount { Prefetch.read(try at.record(next, self), bytes: vectorOffset) }
                }
                let count = min(Int(r.load(fromByteOffset: 4, as: UInt32.self)), maxLinks0)
                fresh = try collect((r + NodeLayout.linksOffset).assumingMemoryBound(to: UInt32.self), count)
            } else {
                fresh = try collectUpper(node, layer: layer, marks: marks, generation: generation, scratch: scratch, at)
            }
            // All the distances first: independent of each other and of the heaps, so the CPU
            // overlaps them instead of stopping at each data-dependent heap branch.
            K.distances(query, freshVectors, fresh, count: dimension, into: freshDistances)
            for j in 0..<fresh {
                let n = freshSlots[j]
                let d = freshDistances[j]
                if results.count < ef || d < lowerBound {
                    candidates.push(key(d, n))
                    if try filter.allows(n) {
                        results.push(~key(d, n))
                        if results.count > ef { _ = results.pop() }
                        lowerBound = PairHeap.distance(fromKey: ~results.base[0] >> 32)
                    }
                }
            }
        }
        while results.count > keep { _ = results.pop() }
        return [(slot: UInt32, distance: Float)](unsafeUninitializedCapacity: results.count) { buffer, initialized in
            var i = results.count
            initialized = i
            while results.count > 0 {
                let k = ~results.pop()
                i -= 1
                buffer.initializeElement(at: i, to: (UInt32(truncatingIfNeeded: k), PairHeap.distance(fromKey: k >> 32)))
            }
        }
    }

    /// The first pass of ``beamSearch`` on an upper layer (links from the upper-layer records,
    /// pending or committed): marks the unvisited neighbours, keeps them and their vector
    /// addresses in the scratch buffers. Out of line: it keeps the layer-0 loop small.
    @inline(never)
    func collectUpper(_ node: UInt32, layer: Int, marks: UnsafeMutablePointer<UInt16>, generation: UInt16,
                      scratch: LayerZeroScratch, _ at: RecordAddressing) throws -> Int {
        let slotCount = header.slotCount
        let vectorOffset = layout.vectorOffset
        let freshSlots = scratch.freshSlots, freshVectors = scratch.freshVectors
        return try withNeighbors(of: node, layer: layer) { links in
            var fresh = 0
            for n in links {
                let i = Int(n)
                guard i < slotCount, marks[i] != generation else { continue }
                marks[i] = generation
                freshSlots[fresh] = n
                freshVectors[fresh] = try at.record(n, self) + vectorOffset
                fresh &+= 1
            }
            return fresh
        }
    }
}
