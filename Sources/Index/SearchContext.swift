/// A binary heap of `(distance, slot)` pairs packed into one `UInt64` each: the distance's
/// bits mapped to an unsigned integer of the same order, then the slot. One integer compare per
/// step, ties broken by slot, and one array. `isMax` flips every bit so the same min-heap code
/// serves as a max-heap.
struct PairHeap {
    private var storage: [UInt64] = []
    private let mask: UInt64

    init(isMax: Bool) { mask = isMax ? ~0 : 0 }

    @inline(__always) static func orderKey(_ d: Float) -> UInt64 {
        let b = d.bitPattern
        return UInt64(b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000)
    }

    @inline(__always) static func distance(fromKey k: UInt64) -> Float {
        let b = UInt32(truncatingIfNeeded: k)
        return Float(bitPattern: b & 0x8000_0000 != 0 ? b & 0x7FFF_FFFF : ~b)
    }

    @inline(__always) func encode(_ d: Float, _ s: UInt32) -> UInt64 {
        ((PairHeap.orderKey(d) << 32) | UInt64(s)) ^ mask
    }

    var count: Int { storage.count }
    var isEmpty: Bool { storage.isEmpty }
    var topDistance: Float { PairHeap.distance(fromKey: (storage[0] ^ mask) >> 32) }
    var topSlot: UInt32 { UInt32(truncatingIfNeeded: storage[0] ^ mask) }

    mutating func removeAll() { storage.removeAll(keepingCapacity: true) }

    mutating func push(_ d: Float, _ s: UInt32) {
        let item = encode(d, s)
        storage.append(item)
        storage.withUnsafeMutableBufferPointer { h in
            var child = h.count - 1
            while child > 0 {
                let parent = (child - 1) >> 1
                let p = h[parent]
                if item < p {
                    h[child] = p
                    child = parent
                } else { break }
            }
            h[child] = item
        }
    }

    @discardableResult
    mutating func pop() -> (distance: Float, slot: UInt32) {
        let top = storage[0] ^ mask
        let last = storage.removeLast()
        storage.withUnsafeMutableBufferPointer { h in
            let n = h.count
            guard n > 0 else { return }
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var best = left
                if left + 1 < n, h[left + 1] < h[left] { best = left + 1 }
                if h[best] < last {
                    h[parent] = h[best]
                    parent = best
                } else { break }
            }
            h[parent] = last
        }
        return (PairHeap.distance(fromKey: top >> 32), UInt32(truncatingIfNeeded: top))
    }
}

/// Scratch memory for searches: a visited set by generation counter (never cleared between
/// searches, only when the counter wraps) and the two heaps. Reuse one per thread across many
/// searches; not thread-safe.
package struct SearchContext {
    var marks: [UInt16] = []
    var generation: UInt16 = 0
    var candidates = PairHeap(isMax: false)
    var results = PairHeap(isMax: true)
    /// Nodes inserts of this batch left with few layer-0 in-links, and entry points they
    /// replaced: the batch ends by checking each is still reachable
    /// (``HNSWAlgorithm/restoreReachability(context:)``).
    var reachabilitySuspects: [UInt32] = []
    /// Set when an insert pruned a link and the store does not count in-links: the batch ends
    /// with a walk of layer 0.
    var needsReachabilityWalk = false
    /// Layer-0 links the inserts of this batch pruned.
    var prunedLinks = 0
    /// Buffers of the specialised layer search (``SpecialisedLayerSearch``), made on first use.
    var layerScratch: LayerZeroScratch?

    /// The specialised search's buffers, created on first use.
    mutating func scratch() -> LayerZeroScratch {
        if let s = layerScratch { return s }
        let s = LayerZeroScratch()
        layerScratch = s
        return s
    }

    /// Creates an empty context; it grows to the graph's slot capacity on first use.
    package init() {}

    /// Starts a new visit generation covering `capacity` slots.
    mutating func beginVisit(capacity: Int) {
        if marks.count < capacity {
            marks.append(contentsOf: repeatElement(0, count: capacity - marks.count + capacity / 4))
        }
        if generation == UInt16.max {
            for i in marks.indices { marks[i] = 0 }
            generation = 0
        }
        generation &+= 1
    }

    /// Whether `slot` was visited in this generation.
    @inline(__always)
    func isVisited(_ slot: UInt32) -> Bool {
        let i = Int(slot)
        return i < marks.count && marks[i] == generation
    }

    /// Marks `slot` visited; returns false if it already was.
    @inline(__always)
    mutating func visit(_ slot: UInt32) -> Bool {
        let i = Int(slot)
        // `beginVisit` sized the marks to the graph's slot count, so a larger slot is a damaged
        // link: treat it as visited (never follow it) rather than grow memory by its value.
        guard i < marks.count else { return false }
        if marks[i] == generation { return false }
        marks[i] = generation
        return true
    }
}
