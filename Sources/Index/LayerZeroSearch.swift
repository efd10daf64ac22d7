import Kernels

// The read path's hot loop: layer-0 beam search of an LMDB graph, unfiltered.
//
// Same algorithm and same results as ``HNSWAlgorithm/searchLayer`` with no filter (hnswlib's
// `searchBaseLayerST`), written against raw pointers so a hop costs what it costs in C: the
// block table, visited marks and both heaps are manually allocated buffers read through locals
// (no array bounds/uniqueness checks, no exclusivity checks on class properties, no protocol or
// closure dispatch), and the distance kernel is inlined and specialised per metric.
//
// Why an inlined kernel is fine here (Kernels keeps its pointer kernels non-inlinable): the
// concern is FMA code inlined into a module built *without* `-mfma` (FuteDB), where
// `addingProduct` becomes a libm call per lane. These kernels are internal to Index and only
// inlined into Index, which is built with the same flags as Kernels (FUTE_NATIVE gives both
// `-mfma` and `FUTE_FMA`; without it both use multiply + add).

/// A distance between a prepared query and a stored vector, for the specialised loop.
protocol StoredKernel {
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float
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

/// Squared L2, the same operation order as ``Distance/l2Squared(_:_:count:)`` (same bits).
enum InlineL2: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
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

/// Dot product, the same operation order as ``Distance/dot(_:_:count:)``.
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
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        -inlineDot(a, b, count: count)
    }
}

/// `1 − a·b` clamped to [0, 2] on unit vectors (metric cosine; see ``storedDistance``).
enum InlineCosine: StoredKernel {
    @inline(__always)
    static func distance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        min(max(1 - inlineDot(a, b, count: count), 0), 2)
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
        var parent = 0
        while true {
            let left = 2 &* parent &+ 1
            if left >= n { break }
            var best = left
            let r = left &+ 1
            if r < n, base[r] < base[left] { best = r }
            let b = base[best]
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
/// searcher. Not thread-safe (one per ``HNSWSearcher``).
final class LayerZeroScratch {
    var marks: UnsafeMutablePointer<UInt16> = UnsafeMutablePointer.allocate(capacity: 1)
    var markCount = 0
    var generation: UInt16 = 0
    var candidates = RawHeap(capacity: 256)
    var results = RawHeap(capacity: 256)
    /// The unvisited neighbours of the node being expanded, and their vectors.
    var freshSlots: UnsafeMutablePointer<UInt32> = UnsafeMutablePointer.allocate(capacity: 1)
    var freshVectors: UnsafeMutablePointer<UnsafeRawPointer> = UnsafeMutablePointer.allocate(capacity: 1)
    var freshCapacity = 0

    deinit {
        freshSlots.deallocate()
        freshVectors.deallocate()
        marks.deallocate()
        candidates.deallocate()
        results.deallocate()
    }

    /// Makes room for `count` neighbours in `freshSlots` / `freshVectors`.
    func reserveNeighbors(_ count: Int) {
        guard count > freshCapacity else { return }
        freshSlots.deallocate()
        freshVectors.deallocate()
        freshSlots = UnsafeMutablePointer.allocate(capacity: count)
        freshVectors = UnsafeMutablePointer.allocate(capacity: count)
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

extension LMDBNodeStore {
    /// Unfiltered search of the whole graph: greedy descent through the upper layers, then the
    /// layer-0 beam search of width `ef`. Returns up to `ef` nearest (slot, distance),
    /// ascending. Links to slots at or beyond the slot count (damage) are never followed.
    func searchUnfiltered(_ query: UnsafePointer<Float>, ef: Int, scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        switch header.metric {
        case .l2: return try searchUnfiltered(InlineL2.self, query, ef: ef, scratch: scratch)
        case .ip: return try searchUnfiltered(InlineIP.self, query, ef: ef, scratch: scratch)
        case .cosine: return try searchUnfiltered(InlineCosine.self, query, ef: ef, scratch: scratch)
        }
    }

    func searchUnfiltered<K: StoredKernel>(_ kernel: K.Type, _ query: UnsafePointer<Float>, ef: Int,
                                           scratch: LayerZeroScratch) throws -> [(slot: UInt32, distance: Float)] {
        guard header.entryLevel >= 0 else { return [] }
        let slotCount = header.slotCount
        let npb = nodesPerBlock
        ensureTable(slotCount / npb + 1)  // no reallocation below: the table pointer stays valid
        let table = self.table
        let magic = divisionMagic
        let stride = self.stride
        let vectorOffset = layout.vectorOffset
        let maxLinks0 = layout.maxLinks0
        let dimension = header.dimension
        let prefetchBytes = self.prefetchBytes
        let generation = scratch.beginVisit(capacity: slotCount)
        let marks = scratch.marks
        scratch.reserveNeighbors(maxLinks0)
        let freshSlots = scratch.freshSlots, freshVectors = scratch.freshVectors
        var candidates = scratch.candidates
        var results = scratch.results
        candidates.count = 0
        results.count = 0
        defer {
            scratch.candidates = candidates
            scratch.results = results
        }

        @inline(__always) func record(_ slot: UInt32) throws -> UnsafeRawPointer {
            let block = npb == 1 ? Int(slot) : Int(truncatingIfNeeded: UInt64(slot).multipliedFullWidth(by: magic).high)
            let base: UnsafeRawPointer
            if let p = table[block] { base = p } else { base = try lookUpBlock(block) }
            return base + (Int(slot) &- block &* npb) &* stride
        }
        @inline(__always) func key(_ d: Float, _ s: UInt32) -> UInt64 { (PairHeap.orderKey(d) << 32) | UInt64(s) }

        @inline(__always) func distance(to slot: UInt32) throws -> Float {
            K.distance(query, (try record(slot) + vectorOffset).assumingMemoryBound(to: Float.self), count: dimension)
        }

        // Greedy descent on the upper layers: move to any closer neighbour until none is closer.
        var entry = header.entrySlot
        guard Int(entry) < slotCount else { throw IndexError(.corrupted, "the entry point \(entry) is beyond the graph (\(slotCount) slots); rebuild the index") }
        var entryDistance = try distance(to: entry)
        var layer = header.entryLevel
        while layer > 0 {
            var changed = true
            while changed {
                changed = false
                try withNeighbors(of: entry, layer: layer) { links in
                    for n in links where Int(n) < slotCount {
                        let d = try distance(to: n)
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

        marks[Int(entry)] = generation
        results.push(~key(entryDistance, entry))
        candidates.push(key(entryDistance, entry))
        var lowerBound = entryDistance
        let lowerBoundKeyMask: UInt64 = ~0
        while candidates.count > 0 {
            let top = candidates.base[0]
            if PairHeap.distance(fromKey: top >> 32) > lowerBound { break }
            _ = candidates.pop()
            let r = try record(UInt32(truncatingIfNeeded: top))
            // The next candidate's links are likely read next (hnswlib does the same).
            if prefetchBytes > 0, candidates.count > 0 {
                let next = UInt32(truncatingIfNeeded: candidates.base[0])
                if Int(next) < slotCount { Prefetch.read(try record(next), bytes: vectorOffset) }
            }
            let count = min(Int(r.load(fromByteOffset: 4, as: UInt32.self)), maxLinks0)
            let links = (r + NodeLayout.linksOffset).assumingMemoryBound(to: UInt32.self)
            // First pass: mark the unvisited neighbours and start the memory loads of their
            // vectors (cache misses on a large graph); second pass: their distances.
            var fresh = 0
            for j in 0..<count {
                let n = links[j]
                let i = Int(n)
                guard i < slotCount, marks[i] != generation else { continue }
                marks[i] = generation
                let v = try record(n) + vectorOffset
                if prefetchBytes > 0 { Prefetch.read(v, bytes: prefetchBytes) }
                freshSlots[fresh] = n
                freshVectors[fresh] = v
                fresh &+= 1
            }
            for j in 0..<fresh {
                let n = freshSlots[j]
                let d = K.distance(query, freshVectors[j].assumingMemoryBound(to: Float.self), count: dimension)
                if results.count < ef || d < lowerBound {
                    candidates.push(key(d, n))
                    results.push(~key(d, n))
                    if results.count > ef { _ = results.pop() }
                    lowerBound = PairHeap.distance(fromKey: (results.base[0] ^ lowerBoundKeyMask) >> 32)
                }
            }
        }
        var out = [(slot: UInt32, distance: Float)](repeating: (0, 0), count: results.count)
        var i = results.count
        while results.count > 0 {
            let k = ~results.pop()
            i -= 1
            out[i] = (UInt32(truncatingIfNeeded: k), PairHeap.distance(fromKey: k >> 32))
        }
        return out
    }
}
