/// One search result: the row (or node) identifier and its distance to the query
/// (lower is nearer; see ``Metric``).
public struct Neighbor: Sendable, Equatable, Hashable {
    /// Row number in the searched base (exact search) or the caller's identifier.
    public var id: Int
    /// Engine distance to the query, lower is nearer.
    public var distance: Float

    /// Creates a neighbour.
    @inlinable
    public init(id: Int, distance: Float) {
        self.id = id
        self.distance = distance
    }

    /// Result order: ascending distance, ties broken by lower id.
    @inlinable
    public static func precedes(_ a: Neighbor, _ b: Neighbor) -> Bool {
        a.distance < b.distance || (a.distance == b.distance && a.id < b.id)
    }
}

/// Keeps the `k` best neighbours seen so far (ascending distance, ties by lower id) in a
/// bounded max-heap: O(log k) per accepted candidate, O(1) for a rejected one.
public struct TopK: Sendable {
    /// The number of neighbours kept.
    public let k: Int
    @usableFromInline var heap: [Neighbor] = []  // max-heap under `precedes` (worst at index 0)

    /// Creates an empty selection of capacity `k` (`k` ≥ 0).
    public init(k: Int) {
        precondition(k >= 0, "TopK needs k >= 0, got \(k)")
        self.k = k
        heap.reserveCapacity(k)
    }

    /// Number of neighbours currently kept.
    @inlinable public var count: Int { heap.count }

    /// The distance a candidate must beat to enter once full (`+infinity` while not full).
    @inlinable
    public var threshold: Float { heap.count < k ? .infinity : heap[0].distance }

    /// Offers a candidate; keeps it if it is among the `k` best so far.
    @inlinable
    public mutating func offer(id: Int, distance: Float) {
        let candidate = Neighbor(id: id, distance: distance)
        if heap.count < k {
            heap.append(candidate)
            siftUp(heap.count - 1)
        } else if k > 0, Neighbor.precedes(candidate, heap[0]) {
            heap[0] = candidate
            siftDown(0)
        }
    }

    @inlinable
    mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            if Neighbor.precedes(heap[parent], heap[child]) {
                heap.swapAt(parent, child)
                child = parent
            } else { return }
        }
    }

    @inlinable
    mutating func siftDown(_ index: Int) {
        var parent = index
        let n = heap.count
        while true {
            let left = 2 * parent + 1
            if left >= n { return }
            var worst = left
            let right = left + 1
            if right < n, Neighbor.precedes(heap[left], heap[right]) { worst = right }
            if Neighbor.precedes(heap[parent], heap[worst]) {
                heap.swapAt(parent, worst)
                parent = worst
            } else { return }
        }
    }

    /// The kept neighbours, ascending distance, ties by lower id.
    public func sorted() -> [Neighbor] {
        heap.sorted(by: Neighbor.precedes)
    }
}
