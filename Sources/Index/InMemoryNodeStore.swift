import Kernels

/// An ``HNSWNodeStore`` in process memory: vectors and layer-0 links in flat arrays, upper
/// layers in small arrays. For tests, benchmarks and as the reference the LMDB store is
/// checked against.
///
/// Not `Sendable`: a reference type mutated without locks; use it from one thread at a time.
package final class InMemoryNodeStore: HNSWNodeStore {
    /// Vector length.
    package let dimension: Int
    /// Distance used between vectors.
    package let metric: Metric
    let maxLinks0: Int
    let maxLinks: Int
    var vectors: [Float] = []
    var levels: [Int32] = []          // −1 marks a free slot
    var keys: [UInt64] = []
    var links0: [UInt32] = []          // per slot: count, then maxLinks0 ids
    var upper: [[[UInt32]]] = []       // per slot, per layer 1…level
    var inDegrees: [[UInt32]] = []     // per slot, per layer 0…level: links pointing at it
    var keyToSlot: [UInt64: UInt32] = [:]
    var freeSlots: [UInt32] = []
    var entry: (slot: UInt32, level: Int)?
    var pruned = 0

    /// Creates an empty store.
    package init(dimension: Int, metric: Metric, parameters: HNSWParameters) {
        precondition(dimension > 0, "InMemoryNodeStore: dimension must be positive")
        self.dimension = dimension
        self.metric = metric
        self.maxLinks0 = parameters.maxLinksLayer0
        self.maxLinks = parameters.m
    }

    /// One past the highest slot in use.
    package var slotCapacity: Int { levels.count }
    /// Number of live nodes.
    package var count: Int { keyToSlot.count }
    package var liveNodeCount: Int { keyToSlot.count }
    package func prunedSinceWalk() throws -> Int { pruned }
    package func setPrunedSinceWalk(_ count: Int) throws { pruned = count }

    package func entryPoint() throws -> (slot: UInt32, level: Int)? { entry }
    package func setEntryPoint(_ entry: (slot: UInt32, level: Int)?) throws { self.entry = entry }

    package func level(of slot: UInt32) throws -> Int {
        let l = Int(levels[Int(slot)])
        guard l >= 0 else { throw IndexError(.corrupted, "slot \(slot) is free but was read as a node") }
        return l
    }

    package func key(of slot: UInt32) throws -> UInt64 { keys[Int(slot)] }

    @inline(__always)
    package func distance(_ query: UnsafePointer<Float>, to slot: UInt32) throws -> Float {
        vectors.withUnsafeBufferPointer { v in
            // Safe: slot < slotCapacity, so the row lies inside the buffer.
            storedDistance(metric, query, v.baseAddress! + Int(slot) * dimension, count: dimension)
        }
    }

    @inline(__always)
    package func prefetch(_ slot: UInt32) {
        vectors.withUnsafeBufferPointer { v in
            Prefetch.read(UnsafeRawPointer(v.baseAddress! + Int(slot) * dimension), bytes: min(1024, 4 * dimension))
        }
    }

    package func withVector<R>(of slot: UInt32, _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        try vectors.withUnsafeBufferPointer { v in try body(v.baseAddress! + Int(slot) * dimension) }
    }

    @inline(__always)
    package func withNeighbors<R>(of slot: UInt32, layer: Int, _ body: (UnsafeBufferPointer<UInt32>) throws -> R) throws -> R {
        if layer == 0 {
            let base = Int(slot) * (maxLinks0 + 1)
            return try links0.withUnsafeBufferPointer { l in
                let count = Int(l[base])
                return try body(UnsafeBufferPointer(rebasing: l[(base + 1)..<(base + 1 + count)]))
            }
        }
        let lists = upper[Int(slot)]
        guard layer - 1 < lists.count else {
            throw IndexError(.corrupted, "slot \(slot) has no layer \(layer)")
        }
        return try lists[layer - 1].withUnsafeBufferPointer { try body($0) }
    }

    package func liveSlots() throws -> [UInt32] {
        levels.indices.compactMap { levels[$0] >= 0 ? UInt32($0) : nil }
    }

    package func slot(forKey key: UInt64) throws -> UInt32? { keyToSlot[key] }

    package func inDegree(of slot: UInt32, layer: Int) throws -> Int? {
        let counts = inDegrees[Int(slot)]
        guard layer < counts.count else { throw IndexError(.corrupted, "slot \(slot) has no layer \(layer)") }
        return Int(counts[layer])
    }

    package func allocate(key: UInt64, vector: UnsafePointer<Float>, level: Int) throws -> UInt32 {
        // Cosine vectors arrive normalised (see `storedDistance`).
        let slot: UInt32
        if let reused = freeSlots.popLast() {
            slot = reused
            let s = Int(slot)
            for j in 0..<dimension { vectors[s * dimension + j] = vector[j] }
            levels[s] = Int32(level)
            keys[s] = key
            links0[s * (maxLinks0 + 1)] = 0
            upper[s] = Array(repeating: [], count: level)
            inDegrees[s] = Array(repeating: 0, count: level + 1)
        } else {
            slot = UInt32(levels.count)
            vectors.append(contentsOf: UnsafeBufferPointer(start: vector, count: dimension))
            levels.append(Int32(level))
            keys.append(key)
            links0.append(contentsOf: repeatElement(0, count: maxLinks0 + 1))
            upper.append(Array(repeating: [], count: level))
            inDegrees.append(Array(repeating: 0, count: level + 1))
        }
        keyToSlot[key] = slot
        return slot
    }

    package func setNeighbors(of slot: UInt32, layer: Int, _ neighbors: UnsafeBufferPointer<UInt32>) throws {
        let capacity = layer == 0 ? maxLinks0 : maxLinks
        precondition(neighbors.count <= capacity, "setNeighbors: \(neighbors.count) links exceed capacity \(capacity)")
        let old = try self.neighbors(of: slot, layer: layer)
        for n in old where !neighbors.contains(n) { inDegrees[Int(n)][layer] -= 1 }
        for n in neighbors where !old.contains(n) { inDegrees[Int(n)][layer] += 1 }
        if layer == 0 {
            let base = Int(slot) * (maxLinks0 + 1)
            links0[base] = UInt32(neighbors.count)
            for (i, n) in neighbors.enumerated() { links0[base + 1 + i] = n }
        } else {
            upper[Int(slot)][layer - 1] = Array(neighbors)
        }
    }

    package func free(_ slot: UInt32) throws {
        let s = Int(slot)
        keyToSlot[keys[s]] = nil
        levels[s] = -1
        links0[s * (maxLinks0 + 1)] = 0
        upper[s] = []
        inDegrees[s] = []
        freeSlots.append(slot)
    }

    package func highestLevelNode(excluding excluded: UInt32) throws -> (slot: UInt32, level: Int)? {
        var best: (slot: UInt32, level: Int)?
        for (i, l) in levels.enumerated() where l >= 0 && UInt32(i) != excluded {
            if best == nil || Int(l) > best!.level { best = (UInt32(i), Int(l)) }
        }
        return best
    }
}
