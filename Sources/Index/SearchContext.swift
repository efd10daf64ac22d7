/// A binary min-heap of `(distance, slot)` pairs. A max-heap is this heap over negated
/// distances (see ``SearchContext``).
struct PairHeap {
    var distances: [Float] = []
    var slots: [UInt32] = []

    var count: Int { distances.count }
    var isEmpty: Bool { distances.isEmpty }
    var topDistance: Float { distances[0] }
    var topSlot: UInt32 { slots[0] }

    mutating func removeAll() {
        distances.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
    }

    mutating func push(_ d: Float, _ s: UInt32) {
        distances.append(d)
        slots.append(s)
        var child = distances.count - 1
        while child > 0 {
            let parent = (child - 1) >> 1
            if distances[child] < distances[parent] {
                distances.swapAt(child, parent)
                slots.swapAt(child, parent)
                child = parent
            } else { break }
        }
    }

    @discardableResult
    mutating func pop() -> (distance: Float, slot: UInt32) {
        let top = (distances[0], slots[0])
        let lastD = distances.removeLast()
        let lastS = slots.removeLast()
        let n = distances.count
        if n > 0 {
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= n { break }
                var best = left
                if left + 1 < n, distances[left + 1] < distances[left] { best = left + 1 }
                if distances[best] < lastD {
                    distances[parent] = distances[best]
                    slots[parent] = slots[best]
                    parent = best
                } else { break }
            }
            distances[parent] = lastD
            slots[parent] = lastS
        }
        return top
    }
}

/// Scratch memory for searches: a visited set by generation counter (never cleared between
/// searches, only when the counter wraps) and the two heaps. Reuse one per thread across many
/// searches; not thread-safe.
public struct SearchContext {
    var marks: [UInt16] = []
    var generation: UInt16 = 0
    var candidates = PairHeap()  // min-heap by distance
    var results = PairHeap()     // max-heap: stores −distance

    /// Creates an empty context; it grows to the graph's slot capacity on first use.
    public init() {}

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

    /// Marks `slot` visited; returns false if it already was.
    @inline(__always)
    mutating func visit(_ slot: UInt32) -> Bool {
        let i = Int(slot)
        if i >= marks.count {
            marks.append(contentsOf: repeatElement(0, count: i - marks.count + 1 + marks.count / 2))
        }
        if marks[i] == generation { return false }
        marks[i] = generation
        return true
    }
}
