import Kernels

/// HNSW as hnswlib implements it (Malkov & Yashunin), over any ``HNSWNodeStore``:
/// random level with `mult = 1/ln(M)`, greedy descent through the upper layers, beam search of
/// width `ef` on the lower ones, neighbour selection by the heuristic (keep a candidate only if
/// it is closer to the base than to every neighbour kept so far), `M` links on upper layers and
/// `2M` on layer 0, overflowing lists re-selected by the same heuristic.
///
/// Deletion repairs the graph instead of leaving a tombstone: every node that linked to the
/// deleted one re-selects its links, by the heuristic, from its remaining links plus the deleted
/// node's links; the entry point moves to a node of the highest remaining level.
///
/// Repairs stay local where the store counts in-links (``HNSWNodeReader/inDegree(of:layer:)``):
/// a deleted node's in-neighbours are found among the nodes near it (checked against its
/// count), pruning never takes a node's last in-link, and a node left with one is checked to be
/// reachable by a search for it. Work per insert or delete then does not grow with the graph;
/// only what these local checks cannot settle falls back to a walk of layer 0.
package struct HNSWAlgorithm<Store: HNSWNodeReader> {
    /// The node store.
    package let store: Store
    /// Graph parameters.
    package let parameters: HNSWParameters

    /// Creates the algorithm over `store`.
    package init(store: Store, parameters: HNSWParameters) {
        self.store = store
        self.parameters = parameters
    }

    /// Link capacity of `layer`.
    @inline(__always)
    func maxLinks(_ layer: Int) -> Int { layer == 0 ? parameters.maxLinksLayer0 : parameters.m }

    // MARK: - Search

    /// Greedy descent on one layer: move to any closer neighbour until none is closer.
    func greedy(_ query: UnsafePointer<Float>, from start: UInt32, distance startDistance: Float, layer: Int) throws -> (UInt32, Float) {
        var current = start, currentDistance = startDistance
        var changed = true
        while changed {
            changed = false
            try store.withNeighbors(of: current, layer: layer) { links in
                for n in links {
                    let d = try store.distance(query, to: n)
                    if d < currentDistance {
                        currentDistance = d
                        current = n
                        changed = true
                    }
                }
            }
        }
        return (current, currentDistance)
    }

    /// Greedy descent from `entry` (at `distance` from `query`) through layers `top` down to
    /// `layer + 1`: the node where the beam search on `layer` starts, and its distance. Nothing
    /// to do when `top <= layer`.
    func descend(_ query: UnsafePointer<Float>, from entry: UInt32, distance: Float, top: Int, to layer: Int) throws -> (UInt32, Float) {
        var current = entry, currentDistance = distance
        var l = top
        while l > layer {
            (current, currentDistance) = try greedy(query, from: current, distance: currentDistance, layer: l)
            l -= 1
        }
        return (current, currentDistance)
    }

    /// Beam search on one layer. On return `context.results` holds up to `ef` nearest nodes
    /// (as a max-heap) that pass `isAllowed`; all nodes are traversed.
    func searchLayer(_ query: UnsafePointer<Float>, entry: UInt32, entryDistance: Float, ef: Int, layer: Int,
                     context: inout SearchContext, isAllowed: ((UInt32) throws -> Bool)? = nil) throws {
        context.beginVisit(capacity: store.slotCapacity)
        context.candidates.removeAll()
        context.results.removeAll()
        _ = context.visit(entry)
        var lowerBound: Float = .infinity
        if try isAllowed?(entry) ?? true {
            context.results.push(entryDistance, entry)
            lowerBound = entryDistance
        }
        context.candidates.push(entryDistance, entry)
        while !context.candidates.isEmpty {
            let current = context.candidates.topDistance
            if current > lowerBound && (context.results.count == ef || isAllowed == nil) { break }
            let node = context.candidates.pop().slot
            try store.withNeighbors(of: node, layer: layer) { links in
                // Start the memory loads of every unvisited neighbour before computing any
                // distance: the vectors of a large graph are cache misses.
                for n in links where !context.isVisited(n) { store.prefetch(n) }
                for n in links {
                    guard context.visit(n) else { continue }
                    let d = try store.distance(query, to: n)
                    if context.results.count < ef || d < lowerBound {
                        context.candidates.push(d, n)
                        if try isAllowed?(n) ?? true {
                            context.results.push(d, n)
                            if context.results.count > ef { context.results.pop() }
                            lowerBound = context.results.topDistance
                        }
                    }
                }
            }
        }
    }

    /// Drains `context.results` into an ascending array of (slot, distance).
    func drainResults(_ context: inout SearchContext) -> [(slot: UInt32, distance: Float)] {
        var out: [(slot: UInt32, distance: Float)] = []
        out.reserveCapacity(context.results.count)
        while !context.results.isEmpty {
            let (d, s) = context.results.pop()
            out.append((s, d))
        }
        out.reverse()
        return out
    }

    /// The up to `ef` nodes a beam search of `layer` from `entry` finds for `query` (every node
    /// allowed), ascending: the store's specialised loop when it has one (same results).
    func beamSearch(_ query: UnsafePointer<Float>, from entry: UInt32, ef: Int, layer: Int,
                    context: inout SearchContext) throws -> [(slot: UInt32, distance: Float)] {
        let entryDistance = try store.distance(query, to: entry)
        if let fast = store as? any SpecialisedLayerSearch {
            return try fast.searchLayer(query, entry: entry, entryDistance: entryDistance, ef: ef, layer: layer,
                                        excluding: UInt32.max, scratch: context.scratch())
        }
        try searchLayer(query, entry: entry, entryDistance: entryDistance, ef: ef, layer: layer, context: &context)
        return drainResults(&context)
    }

    /// The `k` nearest live nodes to `query` passing `isAllowed`, ascending distance (ties by
    /// lower slot not guaranteed: graph search). `ef` is raised to `k` when smaller.
    package func search(_ query: UnsafePointer<Float>, k: Int, ef: Int, context: inout SearchContext,
                       isAllowed: ((UInt32) throws -> Bool)? = nil) throws -> [(slot: UInt32, distance: Float)] {
        try withPrepared(query, dimension: store.dimension, metric: store.metric) { q in
            try searchPrepared(q, k: k, ef: ef, context: &context, isAllowed: isAllowed)
        }
    }

    func searchPrepared(_ query: UnsafePointer<Float>, k: Int, ef: Int, context: inout SearchContext,
                        isAllowed: ((UInt32) throws -> Bool)?) throws -> [(slot: UInt32, distance: Float)] {
        guard k > 0, let (entry, top) = try store.entryPoint() else { return [] }
        let (current, currentDistance) = try descend(query, from: entry, distance: try store.distance(query, to: entry), top: top, to: 0)
        try searchLayer(query, entry: current, entryDistance: currentDistance, ef: max(ef, k), layer: 0,
                        context: &context, isAllowed: isAllowed)
        var results = drainResults(&context)
        if results.count > k { results.removeLast(results.count - k) }
        return results
    }

    /// hnswlib's `getNeighborsByHeuristic2`: from `candidates` sorted ascending by distance to
    /// the base, keep a candidate only if it is closer to the base than to every kept one; at
    /// most `m`.
    ///
    /// One departure, for duplicate vectors: a candidate at distance 0 from a kept neighbour (an
    /// exact duplicate of it) is set aside instead of kept, and the set-aside duplicates fill the
    /// remaining places at the end. Without this, a point with more than `m` duplicates links
    /// only to them and the graph falls apart into islands of equal vectors. On data without
    /// exact duplicates the result is hnswlib's.
    func selectByHeuristic(_ candidates: [(slot: UInt32, distance: Float)], m: Int) throws -> [(slot: UInt32, distance: Float)] {
        if candidates.count <= m { return candidates }
        var kept: [(slot: UInt32, distance: Float)] = []
        var duplicates: [(slot: UInt32, distance: Float)] = []
        kept.reserveCapacity(m)
        for c in candidates {
            if kept.count >= m { break }
            var good = true
            var duplicate = false
            try store.withVector(of: c.slot) { v in
                for k in kept {
                    let d = try store.distance(v, to: k.slot)
                    if d == 0 { duplicate = true; good = false; break }
                    if d < c.distance { good = false; break }
                }
            }
            if good { kept.append(c) } else if duplicate { duplicates.append(c) }
        }
        for d in duplicates where kept.count < m { kept.append(d) }
        return kept
    }
}

/// Orders (slot, distance) pairs ascending by distance, ties by lower slot (deterministic).
@inline(__always)
func ascending(_ a: (slot: UInt32, distance: Float), _ b: (slot: UInt32, distance: Float)) -> Bool {
    a.distance < b.distance || (a.distance == b.distance && a.slot < b.slot)
}

/// Sorts neighbour candidates of `base` ascending by distance, breaking exact ties by a hash of
/// (slot, base): with duplicate vectors a fixed tie order (lowest slot first) makes every node
/// keep the same few neighbours and starves the rest of incoming links.
func sortCandidates(_ candidates: inout [(slot: UInt32, distance: Float)], base: UInt32) {
    @inline(__always) func mix(_ x: UInt32) -> UInt32 {
        var z = x &* 0x9E37_79B1
        z ^= z >> 15
        z = z &* 0x85EB_CA77
        return z ^ (z >> 13)
    }
    let salt = mix(base)
    candidates.sort { a, b in
        a.distance < b.distance || (a.distance == b.distance && mix(a.slot ^ salt) < mix(b.slot ^ salt))
    }
}

extension HNSWAlgorithm where Store: HNSWNodeStore {
    /// Inserts a node for `key` (which must not be present) and links it into the graph.
    @discardableResult
    package func insert(key: UInt64, vector: UnsafePointer<Float>, context: inout SearchContext) throws -> UInt32 {
        try withPrepared(vector, dimension: store.dimension, metric: store.metric) { v in
            try insertPrepared(key: key, vector: v, context: &context)
        }
    }

    func insertPrepared(key: UInt64, vector: UnsafePointer<Float>, context: inout SearchContext) throws -> UInt32 {
        let level = parameters.level(forKey: key)
        let slot = try store.allocate(key: key, vector: vector, level: level)
        guard let (entry, top) = try store.entryPoint() else {
            try store.setEntryPoint((slot, level))
            return slot
        }
        var current = entry
        var currentDistance = try store.distance(vector, to: entry)
        // The LMDB store's specialised loop (same results; inlined kernel, raw buffers).
        let fast = store as? any SpecialisedLayerSearch
        if let fast {
            if top > level { (current, currentDistance) = try fast.descend(vector, from: current, distance: currentDistance, top: top, to: level) }
        } else {
            (current, currentDistance) = try descend(vector, from: current, distance: currentDistance, top: top, to: level)
        }
        var layer = min(level, top)
        while layer >= 0 {
            var found: [(slot: UInt32, distance: Float)]
            if let fast {
                found = try fast.searchLayer(vector, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction,
                                             layer: layer, excluding: slot, scratch: context.scratch())
            } else {
                try searchLayer(vector, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction,
                                layer: layer, context: &context, isAllowed: { $0 != slot })
                found = drainResults(&context)
            }
            sortCandidates(&found, base: slot)
            let selected = try selectByHeuristic(found, m: parameters.m)
            try store.setNeighbors(of: slot, layer: layer, selected.map(\.slot))
            var linkedBack = false
            var dropped: [UInt32] = []
            for neighbor in selected {
                if try addLink(from: neighbor.slot, to: slot, distance: neighbor.distance, layer: layer, dropped: &dropped) { linkedBack = true }
            }
            // Every neighbour pruned the new node (duplicates, ties): force one incoming link so
            // it stays reachable.
            if !linkedBack, let nearest = selected.first {
                if let replaced = try forceLink(from: nearest.slot, to: slot, layer: layer, reachableThrough: Set(selected.map(\.slot))) {
                    dropped.append(replaced)
                }
            }
            if layer == 0 { try noteDropped(dropped, context: &context) }
            if let closest = selected.first {
                current = closest.slot
                currentDistance = closest.distance
            }
            layer -= 1
        }
        if level > top {
            try store.setEntryPoint((slot, level))
            // The rest of layer 0 must be reachable from the new entry: it is if the old one is.
            context.reachabilitySuspects.append(entry)
        }
        return slot
    }

    /// A node left with at most this many layer-0 in-links by a pruned link is checked to be
    /// reachable at the end of the batch (pruning never takes the last one).
    static var suspectInDegree: Int { 1 }

    /// Records, for the end of the batch, the layer-0 targets pruned links left with few in-links
    /// (or, when the store does not count them, that a walk is needed).
    func noteDropped(_ dropped: [UInt32], context: inout SearchContext) throws {
        context.prunedLinks += dropped.count
        for z in dropped {
            guard let degree = try store.inDegree(of: z, layer: 0) else {
                context.needsReachabilityWalk = true
                continue
            }
            if degree <= Self.suspectInDegree { context.reachabilitySuspects.append(z) }
        }
    }

    /// The beams of the local searches that stand in for a whole-graph walk or scan: the
    /// construction beam, then, when that falls short, two wider ones (×4, ×16) — each costs a
    /// small multiple of an insert's search, where a walk or scan of a 1M-node graph costs
    /// hundreds of inserts' worth.
    var widening: [Int] {
        let base = max(parameters.efConstruction, maxLinks(0))
        return [base, 4 * base, 16 * base]
    }

    /// Whether a search for `node`'s own vector from the entry point finds it on layer 0 (with
    /// the widening beams of ``widening``): then it is reachable, and so is everything reachable
    /// from it.
    func isFoundBySearch(_ node: UInt32, context: inout SearchContext) throws -> Bool {
        guard let (entry, top) = try store.entryPoint() else { return false }
        if node == entry { return true }
        return try store.withVector(of: node) { v in
            let entryDistance = try store.distance(v, to: entry)
            let (current, _) = try (store as? any SpecialisedLayerSearch)?.descend(v, from: entry, distance: entryDistance, top: top, to: 0)
                ?? descend(v, from: entry, distance: entryDistance, top: top, to: 0)
            for ef in widening {
                if try beamSearch(v, from: current, ef: ef, layer: 0, context: &context).contains(where: { $0.slot == node }) { return true }
                if ef >= store.slotCapacity { break }
            }
            return false
        }
    }

    /// Whether every suspect that is still a node is found by a search for it.
    func suspectsAreReachable(_ suspects: [UInt32], context: inout SearchContext) throws -> Bool {
        var checked = Set<UInt32>()
        for z in suspects where checked.insert(z).inserted {
            guard (try? store.level(of: z)) != nil else { continue }  // deleted since
            if try !isFoundBySearch(z, context: &context) { return false }
        }
        return true
    }

    /// Makes every live node reachable from the entry point on layer 0 again after inserts.
    ///
    /// Re-selecting a full neighbour list prunes a link. Pruning never takes a node's last
    /// in-link (``keepNodesAtRisk``), but a group of nodes that link among themselves can lose
    /// its one way in, and a new entry point of a higher level can start where the rest of
    /// layer 0 is not reachable. Two defences, neither of which grows with the graph:
    /// - each node a pruned link left with one in-link, and each entry point a new one
    ///   replaced, is searched for; if a search misses one, layer 0 is walked at once;
    /// - the walk (from the entry point, O(n·M); each cut-off group is then linked from its
    ///   nearest reachable node, ``reconnectLayerZero``) is otherwise paid for by pruning: it
    ///   runs when the links pruned since the last one, times ``walkBudget``, reach the live
    ///   count — so its cost per pruned link is a constant — and after every batch that pruned
    ///   anything while the graph holds at most ``walkEveryBatchUpTo`` nodes.
    /// A group cut off in between (its nodes had two or more in-links, all from inside) stays
    /// out of searches until that walk; at the default M = 16 none was seen in the benchmarks.
    ///
    /// The LMDB store first counts what the walk reaches with its raw-pointer loop and visited
    /// marks, and only when that falls short of the live count runs the general repair.
    func restoreReachability(context: inout SearchContext) throws {
        let suspects = context.reachabilitySuspects
        let walk = context.needsReachabilityWalk
        let pruned = context.prunedLinks
        context.reachabilitySuspects = []
        context.needsReachabilityWalk = false
        context.prunedLinks = 0
        try settleReachability(suspects: suspects, pruned: pruned, walk: walk, excluding: UInt32.max, context: &context)
    }

    /// The walk is due when the links pruned since the last one, times this, reach the live count.
    static var walkBudget: Int { 32 }
    /// Up to this many live nodes, every batch that prunes a link ends with a walk (≤ ~1 ms).
    static var walkEveryBatchUpTo: Int { 4096 }

    /// The end of ``restoreReachability(context:)`` and ``remove(key:)``: checks `suspects`
    /// and walks layer 0 when one is missed, when `walk` is asked, or when the pruning budget
    /// is spent; otherwise adds `pruned` to the graph's count.
    func settleReachability(suspects: [UInt32], pruned: Int, walk: Bool, excluding deleted: UInt32, context: inout SearchContext) throws {
        guard walk || pruned > 0 || !suspects.isEmpty, let (entry, _) = try store.entryPoint() else { return }
        let total = try store.prunedSinceWalk() + pruned
        let live = store.liveNodeCount - (deleted == UInt32.max ? 0 : 1)
        let due = total > 0 && (live <= Self.walkEveryBatchUpTo || total * Self.walkBudget >= live)
        if !walk && !due, try suspectsAreReachable(suspects, context: &context) {
            try store.setPrunedSinceWalk(total)
            return
        }
        try store.setPrunedSinceWalk(0)
        if deleted == UInt32.max, let fast = store as? any SpecialisedLayerSearch,
           try fast.everyNodeReachable(from: entry, scratch: context.scratch()) { return }
        try reconnectLayerZero(from: entry, live: try store.liveSlots(), excluding: deleted)
    }

    /// Adds `target` to `source`'s links on `layer`, re-selecting by the heuristic when full.
    /// Returns whether `target` is among the links afterwards.
    @discardableResult
    func addLink(from source: UInt32, to target: UInt32, distance: Float, layer: Int) throws -> Bool {
        var dropped: [UInt32] = []
        return try addLink(from: source, to: target, distance: distance, layer: layer, dropped: &dropped)
    }

    /// ``addLink(from:to:distance:layer:)``, appending to `dropped` the targets `source` no
    /// longer links to (the only way an insert can cut a node off).
    func addLink(from source: UInt32, to target: UInt32, distance: Float, layer: Int, dropped: inout [UInt32]) throws -> Bool {
        var links = try store.neighbors(of: source, layer: layer)
        if links.contains(target) { return true }
        let capacity = maxLinks(layer)
        if links.count < capacity {
            links.append(target)
            try store.setNeighbors(of: source, layer: layer, links)
            return true
        }

        var candidates: [(slot: UInt32, distance: Float)] = [(target, distance)]
        try store.withVector(of: source) { v in
            for l in links { candidates.append((l, try store.distance(v, to: l))) }
        }
        sortCandidates(&candidates, base: source)
        var selected = try selectByHeuristic(candidates, m: capacity).map(\.slot)
        try keepNodesAtRisk(&selected, dropped: candidates.map(\.slot), source: source, target: target, layer: layer)
        try store.setNeighbors(of: source, layer: layer, selected)
        for l in links where !selected.contains(l) { dropped.append(l) }
        return selected.contains(target)
    }

    /// Whether `node` may lose its last incoming link on `layer` if `source` (which links to it)
    /// drops it: exactly, from the store's in-link count; without one, a local test that errs
    /// towards keeping links (none of its out-neighbours other than `source` links back).
    func isAtRisk(_ node: UInt32, droppedBy source: UInt32, layer: Int) throws -> Bool {
        if let degree = try store.inDegree(of: node, layer: layer) { return degree <= 1 }
        let outs = try store.neighbors(of: node, layer: layer)
        for y in outs where y != source {
            if try store.withNeighbors(of: y, layer: layer, { $0.contains(node) }) { return false }
        }
        return true
    }

    /// After re-selection, keeps (or swaps back in) nodes the pruning would leave unreachable:
    /// appended while there is room, else swapped for a kept node that is not at risk itself.
    func keepNodesAtRisk(_ selected: inout [UInt32], dropped candidates: [UInt32], source: UInt32, target: UInt32, layer: Int) throws {
        let capacity = maxLinks(layer)
        let kept = Set(selected)
        for z in candidates where !kept.contains(z) && z != target {
            guard try isAtRisk(z, droppedBy: source, layer: layer) else { continue }
            if selected.count < capacity {
                selected.append(z)
                continue
            }
            // Swap out the farthest kept node (never the new target) that has another way in.
            var swapped = false
            for i in selected.indices.reversed() where selected[i] != target {
                if try !isAtRisk(selected[i], droppedBy: source, layer: layer) {
                    selected[i] = z
                    swapped = true
                    break
                }
            }
            if !swapped { break }
        }
    }

    /// Puts `target` into `source`'s links regardless of the heuristic: appended when there is
    /// room, else replacing a link to a node in `reachableThrough` (still reachable through
    /// `target`), else the farthest link. Returns the target of the replaced link, if any.
    @discardableResult
    func forceLink(from source: UInt32, to target: UInt32, layer: Int, reachableThrough: Set<UInt32>) throws -> UInt32? {
        var links = try store.neighbors(of: source, layer: layer)
        if links.contains(target) { return nil }
        var replaced: UInt32?
        if links.count < maxLinks(layer) {
            links.append(target)
        } else if let i = links.lastIndex(where: { reachableThrough.contains($0) }) {
            replaced = links[i]
            links[i] = target
        } else if let i = try links.indices.reversed().first(where: { try !isAtRisk(links[$0], droppedBy: source, layer: layer) }) {
            replaced = links[i]
            links[i] = target
        } else {
            let distances = try store.withVector(of: source) { v in try links.map { try store.distance(v, to: $0) } }
            guard let farthest = distances.indices.max(by: { distances[$0] < distances[$1] }) else { return nil }
            replaced = links[farthest]
            links[farthest] = target
        }
        try store.setNeighbors(of: source, layer: layer, links)
        return replaced
    }

    /// Removes the node for `key` and repairs the graph. Returns false if the key is absent.
    ///
    /// Every node linking to the deleted one re-selects its links from its remaining ones and
    /// the deleted node's (new links made mutual, as insertion makes them); a node the repair
    /// leaves without in-links is linked from a near node; one left with a single in-link is
    /// checked to be reachable by a search for it. With in-link counts this is local work
    /// (``findInNeighbors``); a walk of layer 0 runs only when a check fails, the entry point
    /// was deleted, or the store does not count in-links.
    @discardableResult
    package func remove(key: UInt64) throws -> Bool {
        guard let slot = try store.slot(forKey: key) else { return false }
        let level = try store.level(of: slot)
        var deletedLinks: [[UInt32]] = []
        for layer in 0...level { deletedLinks.append(try store.neighbors(of: slot, layer: layer)) }
        let inNeighbors = try findInNeighbors(of: slot, level: level, links: deletedLinks)
        // Its own links go first: its out-neighbours' counts then hold only the links that stay.
        for layer in 0...level { try store.setNeighbors(of: slot, layer: layer, []) }

        var walk = false
        // Per layer, the nodes that lost an in-link: to re-attach if left with none.
        var lostLinks: [[UInt32]] = deletedLinks
        for layer in 0...level {
            for u in inNeighbors[layer] {
                let old = try store.neighbors(of: u, layer: layer)
                var pool = Set(old)
                pool.remove(slot)
                for n in deletedLinks[layer] where n != u { pool.insert(n) }
                var candidates: [(slot: UInt32, distance: Float)] = []
                try store.withVector(of: u) { v in
                    for c in pool { candidates.append((c, try store.distance(v, to: c))) }
                }
                sortCandidates(&candidates, base: u)
                let chosen = try selectByHeuristic(candidates, m: maxLinks(layer))
                let selected = chosen.map(\.slot)
                try store.setNeighbors(of: u, layer: layer, selected)
                for n in old where n != slot && !selected.contains(n) { lostLinks[layer].append(n) }
                // New links are made mutual, as insertion makes them (keeps in-degree up).
                let oldSet = Set(old)
                for n in chosen where !oldSet.contains(n.slot) {
                    try addLink(from: n.slot, to: u, distance: n.distance, layer: layer, dropped: &lostLinks[layer])
                }
            }
        }

        // The entry point moves before orphans are re-attached, so searches start from a live
        // node; what the old entry reached must then be reached from the new one (a walk: the
        // new entry is found by a scan anyway).
        if let (entry, _) = try store.entryPoint(), entry == slot {
            try store.setEntryPoint(try store.highestLevelNode(excluding: slot))
            walk = true
        }
        guard let (entry, _) = try store.entryPoint() else {
            try store.free(slot)
            return true
        }
        // Re-attach nodes left without any in-link on a layer: link them from the nearest node
        // on that layer that has room (or, failing that, the nearest node).
        var suspects: [UInt32] = []
        for layer in 0...level {
            for orphan in Set(lostLinks[layer]).sorted() where orphan != entry && orphan != slot {
                let degree: Int
                if let counted = try store.inDegree(of: orphan, layer: layer) {
                    degree = counted
                } else {
                    degree = try countInLinks(to: orphan, layer: layer, excluding: slot)
                    if layer == 0 { walk = true }
                }
                if degree == 0 { try reattach(orphan, layer: layer, excluding: slot) }
                if layer == 0 && degree <= Self.suspectInDegree { suspects.append(orphan) }
            }
        }
        var context = SearchContext()
        try settleReachability(suspects: suspects, pruned: lostLinks[0].count, walk: walk, excluding: slot, context: &context)
        try store.free(slot)
        return true
    }

    /// The nodes linking to `slot` on each of its layers 0...`level`, in ascending slot order.
    ///
    /// In-links come from near nodes: where the store counts them, the node's own neighbours and
    /// their neighbours are checked first (most links are mutual or one hop from mutual; no
    /// distance is computed), then the nodes a beam search from the node itself finds on the
    /// layer (beam `efConstruction`, as when it was inserted; no descent from the entry point),
    /// then those of wider beams (``widening``), until the count is met. A layer where they all
    /// fall short (or without a count) is scanned: O(n·M).
    func findInNeighbors(of slot: UInt32, level: Int, links: [[UInt32]]) throws -> [[UInt32]] {
        var found: [[UInt32]] = Array(repeating: [], count: level + 1)
        var unresolved: [Int] = []
        var context = SearchContext()
        for layer in 0...level {
            guard let expected = try store.inDegree(of: slot, layer: layer) else {
                unresolved.append(layer)
                continue
            }
            var checked: Set<UInt32> = [slot]
            var linking: [UInt32] = []
            func check(_ candidates: some Sequence<UInt32>) throws {
                for c in candidates where linking.count < expected && checked.insert(c).inserted {
                    if try store.withNeighbors(of: c, layer: layer, { $0.contains(slot) }) { linking.append(c) }
                }
            }
            try check(links[layer])
            for n in links[layer] where linking.count < expected {
                try check(try store.neighbors(of: n, layer: layer))
            }
            // Far in-links (a hub's, or ones made while the graph was small): beams from the node.
            if linking.count < expected {
                try store.withVector(of: slot) { v in
                    for ef in widening where linking.count < expected {
                        try check(try beamSearch(v, from: slot, ef: ef, layer: layer, context: &context).lazy.map(\.slot))
                        if ef >= store.slotCapacity { break }
                    }
                }
            }
            if linking.count == expected {
                found[layer] = linking.sorted()
            } else {
                unresolved.append(layer)
            }
        }
        guard !unresolved.isEmpty else { return found }
        for layer in unresolved { found[layer] = [] }
        for s in try store.liveSlots() where s != slot {
            let top = try store.level(of: s)
            for layer in unresolved where layer <= top {
                if try store.withNeighbors(of: s, layer: layer, { $0.contains(slot) }) { found[layer].append(s) }
            }
        }
        return found
    }

    /// How many live nodes other than `excluded` link to `node` on `layer`, by scanning (O(n·M)).
    func countInLinks(to node: UInt32, layer: Int, excluding excluded: UInt32) throws -> Int {
        var count = 0
        for s in try store.liveSlots() where s != excluded {
            guard try store.level(of: s) >= layer else { continue }
            if try store.withNeighbors(of: s, layer: layer, { $0.contains(node) }) { count += 1 }
        }
        return count
    }

    /// Makes every live node reachable from `entry` on layer 0 again after a repair or a batch
    /// of inserts.
    ///
    /// The local repair of ``remove(key:)`` only counts in-links of the deleted node's
    /// out-neighbours, and insertion's local guard only asks whether a dropped node's
    /// neighbours link back; neither sees a small group of nodes that link only among
    /// themselves losing their one way in. So a traversal of layer 0 from the entry point finds
    /// what is cut off, and the root of each cut-off group is linked from its nearest reachable
    /// node with room (``attach``). Every round strictly grows the reachable set (``attach``
    /// verifies it when it has to replace a link), so this ends within `n` rounds.
    func reconnectLayerZero(from entry: UInt32, live allLive: [UInt32], excluding deleted: UInt32) throws {
        let live = deleted == UInt32.max ? allLive : allLive.filter { $0 != deleted }
        guard Int(entry) < store.slotCapacity else { return }
        var (seen, reached) = try reachLayerZero(from: entry, excluding: deleted)
        var rounds = 0
        while reached < live.count && rounds <= live.count {
            rounds += 1
            let cut = live.filter { !seen[Int($0)] }
            if cut.isEmpty { return }
            // In-degrees, to attach the root of a cut-off group (a node nothing links to) and to
            // replace, if a link must go, one whose target has another in-link.
            var inDegree: [UInt32: Int] = [:]
            for s in live {
                try store.withNeighbors(of: s, layer: 0) { links in
                    for n in links { inDegree[n, default: 0] += 1 }
                }
            }
            let root = cut.first(where: { (inDegree[$0] ?? 0) == 0 }) ?? cut[0]
            guard let grown = try attach(root, seen: seen, reached: reached, live: live, inDegree: inDegree, excluding: deleted) else { return }
            (seen, reached) = grown
        }
    }

    /// Layer-0 traversal from `entry` (never through `deleted`): which slots it reaches, and
    /// how many.
    func reachLayerZero(from entry: UInt32, excluding deleted: UInt32) throws -> (seen: [Bool], reached: Int) {
        let capacity = store.slotCapacity
        var seen = [Bool](repeating: false, count: capacity)
        guard Int(entry) < capacity else { return (seen, 0) }
        if Int(deleted) < capacity { seen[Int(deleted)] = true }   // never traversed
        seen[Int(entry)] = true
        var reached = 1
        var stack = [entry]
        while let s = stack.popLast() {
            try store.withNeighbors(of: s, layer: 0) { links in
                for n in links where Int(n) < capacity && !seen[Int(n)] {
                    seen[Int(n)] = true
                    reached += 1
                    stack.append(n)
                }
            }
        }
        if Int(deleted) < capacity { seen[Int(deleted)] = false }
        return (seen, reached)
    }

    /// Links `node` on layer 0 from a reachable node, preferring (1) the nearest found by a
    /// search with room for a link, then (2) the nearest reachable node with room (a scan),
    /// and only when every reachable node is full (3) replaces a link in one of the nearest,
    /// keeping the replacement only if the traversal afterwards reaches more nodes than
    /// before. Returns the new traversal, or nil when nothing could be done.
    func attach(_ node: UInt32, seen: [Bool], reached: Int, live: [UInt32], inDegree: [UInt32: Int],
                excluding deleted: UInt32) throws -> (seen: [Bool], reached: Int)? {
        guard let (entry, top) = try store.entryPoint() else { return nil }
        let capacity = maxLinks(0)
        @inline(__always) func isReached(_ s: UInt32) -> Bool { Int(s) < seen.count && seen[Int(s)] }
        var context = SearchContext()
        let found: [(slot: UInt32, distance: Float)] = try store.withVector(of: node) { v in
            let (current, currentDistance) = try descend(v, from: entry, distance: try store.distance(v, to: entry), top: top, to: 0)
            try searchLayer(v, entry: current, entryDistance: currentDistance, ef: max(parameters.efConstruction, 2 * parameters.maxLinksLayer0),
                            layer: 0, context: &context,
                            isAllowed: { $0 != node && $0 != deleted && isReached($0) })
            return drainResults(&context)
        }
        // Adding a link never cuts anything off: the traversal can only grow.
        func link(from host: UInt32, _ links: [UInt32]) throws -> (seen: [Bool], reached: Int) {
            try store.setNeighbors(of: host, layer: 0, links + [node])
            return try reachLayerZero(from: entry, excluding: deleted)
        }
        for candidate in found {
            let links = try store.neighbors(of: candidate.slot, layer: 0)
            if links.contains(node) { return nil }  // cannot be: `node` is not reached
            if links.count < capacity { return try link(from: candidate.slot, links) }
        }
        // Every node the search found is full: the nearest reachable node with room, by scan.
        var scanned: [(slot: UInt32, distance: Float)] = []
        try store.withVector(of: node) { v in
            for s in live where s != node && s != deleted && isReached(s) {
                scanned.append((s, try store.distance(v, to: s)))
            }
        }
        scanned.sort(by: ascending)
        for candidate in scanned {
            let links = try store.neighbors(of: candidate.slot, layer: 0)
            if links.count < capacity { return try link(from: candidate.slot, links) }
        }
        // Every reachable node is full: replace a link of a near node, farthest link first,
        // preferring targets with another in-link; keep the change only if it helps.
        for candidate in scanned.prefix(8) {
            let host = candidate.slot
            let links = try store.neighbors(of: host, layer: 0)
            let distances = try store.withVector(of: host) { v in try links.map { try store.distance(v, to: $0) } }
            let order = links.indices.sorted { a, b in
                let sa = (inDegree[links[a]] ?? 0) >= 2, sb = (inDegree[links[b]] ?? 0) >= 2
                return sa != sb ? sa : distances[a] > distances[b]
            }
            for victim in order {
                var replaced = links
                replaced[victim] = node
                try store.setNeighbors(of: host, layer: 0, replaced)
                let after = try reachLayerZero(from: entry, excluding: deleted)
                if after.reached > reached { return after }
                try store.setNeighbors(of: host, layer: 0, links)
            }
        }
        return nil
    }

    /// Links `orphan` from a near node on `layer` so it is reachable again.
    func reattach(_ orphan: UInt32, layer: Int, excluding deleted: UInt32) throws {
        guard let (entry, top) = try store.entryPoint() else { return }
        var context = SearchContext()
        let found: [(slot: UInt32, distance: Float)] = try store.withVector(of: orphan) { v in
            let (current, currentDistance) = try descend(v, from: entry, distance: try store.distance(v, to: entry), top: top, to: layer)
            try searchLayer(v, entry: current, entryDistance: currentDistance, ef: parameters.efConstruction,
                            layer: layer, context: &context, isAllowed: { $0 != orphan && $0 != deleted })
            return drainResults(&context)
        }
        guard let nearest = found.first else { return }
        let capacity = maxLinks(layer)
        for candidate in found {
            let links = try store.neighbors(of: candidate.slot, layer: layer)
            if links.contains(orphan) { return }
            if links.count < capacity {
                try store.setNeighbors(of: candidate.slot, layer: layer, links + [orphan])
                return
            }
        }
        // Every near node is full: replace the nearest node's farthest link.
        var links = try store.neighbors(of: nearest.slot, layer: layer)
        let distances = try store.withVector(of: nearest.slot) { v in try links.map { try store.distance(v, to: $0) } }
        if let farthest = distances.indices.max(by: { distances[$0] < distances[$1] }) {
            links[farthest] = orphan
            try store.setNeighbors(of: nearest.slot, layer: layer, links)
        }
    }
}
