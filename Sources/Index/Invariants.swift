/// One broken structural invariant of an HNSW graph, found by
/// ``HNSWNodeReader/checkInvariants(parameters:expectedKeys:limit:)`` or
/// ``HNSWGraph/checkInvariants(expectedKeys:in:)``. Match on the case to react to a kind of
/// problem; ``description`` is the sentence shown to people.
public enum IndexProblem: Sendable, Hashable, CustomStringConvertible {
    /// One key is stored in two slots.
    case keyInTwoSlots(key: UInt64)
    /// The key map does not send `key` to the slot that stores it.
    case keyMapMismatch(key: UInt64, slot: UInt32)
    /// The stored key set differs from the expected one.
    case keySetMismatch(extra: Int, missing: Int)
    /// The graph has live nodes but no entry point.
    case noEntryPoint(liveNodes: Int)
    /// The entry point is not a live node.
    case entryPointNotLive(slot: UInt32)
    /// The header's entry level differs from the entry node's level (`nodeLevel` -1: unknown).
    case entryPointLevelMismatch(headerLevel: Int, nodeLevel: Int)
    /// A node has a higher level than the entry point.
    case entryPointNotHighest(entryLevel: Int, highestLevel: Int)
    /// A node has more links on a layer than the layer allows.
    case tooManyLinks(slot: UInt32, layer: Int, count: Int, capacity: Int)
    /// A node links to the same neighbour twice on a layer.
    case duplicateLinks(slot: UInt32, layer: Int)
    /// A node links to itself.
    case selfLink(slot: UInt32, layer: Int)
    /// A node links to a free or missing slot.
    case linkToMissingSlot(slot: UInt32, layer: Int, target: UInt32)
    /// A node links on `layer` to a node whose level is below that layer.
    case linkAboveTargetLevel(slot: UInt32, layer: Int, target: UInt32, targetLevel: Int)
    /// `count` of the `of` nodes on `layer` cannot be reached from the entry point. Searches
    /// miss them; with the `ip` metric this is expected (see ``isUnreachable``).
    case unreachable(count: Int, of: Int, layer: Int, example: UInt32)
    /// The header's live count differs from the live nodes in the blocks.
    case liveCountMismatch(header: Int, blocks: Int)
    /// The key map has a different number of entries than there are live nodes.
    case keyMapCountMismatch(entries: Int, liveNodes: Int)
    /// A node's stored count of in-links on `layer` differs from the links that point at it.
    case inDegreeMismatch(slot: UInt32, layer: Int, stored: Int, counted: Int)

    /// Whether this is a reachability problem: nodes that searches cannot reach, though the
    /// graph is otherwise consistent (exact search still finds them).
    public var isUnreachable: Bool {
        if case .unreachable = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case let .keyInTwoSlots(key): return "key \(key) is stored in two slots"
        case let .keyMapMismatch(key, slot): return "key map for \(key) does not point to slot \(slot)"
        case let .keySetMismatch(extra, missing): return "stored keys differ from expected: \(extra) extra, \(missing) missing"
        case let .noEntryPoint(liveNodes): return "no entry point but \(liveNodes) live nodes"
        case let .entryPointNotLive(slot): return "entry point \(slot) is not a live node"
        case let .entryPointLevelMismatch(headerLevel, nodeLevel): return "entry point level \(headerLevel) differs from the node's level \(nodeLevel)"
        case let .entryPointNotHighest(entryLevel, highestLevel): return "entry point level \(entryLevel) is not the highest level \(highestLevel)"
        case let .tooManyLinks(slot, layer, count, capacity): return "slot \(slot) has \(count) links on layer \(layer), capacity \(capacity)"
        case let .duplicateLinks(slot, layer): return "slot \(slot) has duplicate links on layer \(layer)"
        case let .selfLink(slot, layer): return "slot \(slot) links to itself on layer \(layer)"
        case let .linkToMissingSlot(slot, layer, target): return "slot \(slot) links to free/missing slot \(target) on layer \(layer)"
        case let .linkAboveTargetLevel(slot, layer, target, targetLevel): return "slot \(slot) links on layer \(layer) to slot \(target) of level \(targetLevel)"
        case let .unreachable(count, total, layer, example): return "\(count) of \(total) nodes unreachable from the entry point on layer \(layer), e.g. slot \(example)"
        case let .liveCountMismatch(header, blocks): return "header counts \(header) live nodes, blocks hold \(blocks)"
        case let .keyMapCountMismatch(entries, liveNodes): return "key map has \(entries) entries for \(liveNodes) live nodes"
        case let .inDegreeMismatch(slot, layer, stored, counted):
            return "slot \(slot) records \(stored) in-links on layer \(layer) but \(counted) links point at it"
        }
    }
}

/// Structural checks of a stored graph, run by tests after random operation sequences.
extension HNSWNodeReader {
    /// Returns every broken invariant (empty = sound):
    /// every live node reachable from the entry point on layer 0, no link to a free or missing slot, no self link or duplicate, degrees within
    /// `M`/`2M`, links only between nodes that live on that layer, entry point at the highest
    /// level, in-link counts (where the store keeps them) equal to the links pointing at each
    /// node, and — when `expectedKeys` is given — the stored key set equal to it.
    package func checkInvariants(parameters: HNSWParameters, expectedKeys: Set<UInt64>? = nil, limit: Int = 50) throws -> [IndexProblem] {
        var problems: [IndexProblem] = []
        func report(_ problem: IndexProblem) { if problems.count < limit { problems.append(problem) } }
        let live = try liveSlots()
        let liveSet = Set(live)
        var levelOf: [UInt32: Int] = [:]
        var keys = Set<UInt64>()
        for s in live {
            levelOf[s] = try level(of: s)
            let k = try key(of: s)
            if !keys.insert(k).inserted { report(.keyInTwoSlots(key: k)) }
            if try slot(forKey: k) != s { report(.keyMapMismatch(key: k, slot: s)) }
        }
        if let expectedKeys, expectedKeys != keys {
            report(.keySetMismatch(extra: keys.subtracting(expectedKeys).count, missing: expectedKeys.subtracting(keys).count))
        }
        guard let (entry, top) = try entryPoint() else {
            if !live.isEmpty { report(.noEntryPoint(liveNodes: live.count)) }
            return problems
        }
        guard liveSet.contains(entry) else { report(.entryPointNotLive(slot: entry)); return problems }
        if levelOf[entry] != top { report(.entryPointLevelMismatch(headerLevel: top, nodeLevel: levelOf[entry] ?? -1)) }
        if let maxLevel = levelOf.values.max(), maxLevel != top { report(.entryPointNotHighest(entryLevel: top, highestLevel: maxLevel)) }

        var pointing: [[UInt32: Int]] = []
        for s in live {
            let l = levelOf[s] ?? 0
            for layer in 0...l {
                let links = try neighbors(of: s, layer: layer)
                while pointing.count <= layer { pointing.append([:]) }
                for n in links { pointing[layer][n, default: 0] += 1 }
                let capacity = layer == 0 ? parameters.maxLinksLayer0 : parameters.m
                if links.count > capacity { report(.tooManyLinks(slot: s, layer: layer, count: links.count, capacity: capacity)) }
                if Set(links).count != links.count { report(.duplicateLinks(slot: s, layer: layer)) }
                for n in links {
                    if n == s { report(.selfLink(slot: s, layer: layer)) }
                    guard let nl = levelOf[n] else { report(.linkToMissingSlot(slot: s, layer: layer, target: n)); continue }
                    if nl < layer { report(.linkAboveTargetLevel(slot: s, layer: layer, target: n, targetLevel: nl)) }
                }
            }
        }
        for s in live {
            for layer in 0...(levelOf[s] ?? 0) {
                guard let stored = try inDegree(of: s, layer: layer) else { continue }
                let counted = layer < pointing.count ? pointing[layer][s] ?? 0 : 0
                if stored != counted { report(.inDegreeMismatch(slot: s, layer: layer, stored: stored, counted: counted)) }
            }
        }
        // Reachability on layer 0, where every search ends: a node cut off on an upper layer
        // is still found through layer 0 (it only stops serving as a shortcut).
        for layer in 0...0 {
            let members = live.filter { (levelOf[$0] ?? 0) >= layer }
            var seen: Set<UInt32> = [entry]
            var stack = [entry]
            while let s = stack.popLast() {
                for n in try neighbors(of: s, layer: layer) where levelOf[n] != nil && seen.insert(n).inserted {
                    stack.append(n)
                }
            }
            let unreachable = members.filter { !seen.contains($0) }
            if !unreachable.isEmpty {
                report(.unreachable(count: unreachable.count, of: members.count, layer: layer, example: unreachable[0]))
            }
        }
        return problems
    }
}
