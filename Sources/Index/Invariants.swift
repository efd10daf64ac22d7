/// Structural checks of a stored graph, run by tests after random operation sequences.
extension HNSWNodeReader {
    /// Returns a description of every broken invariant (empty = sound):
    /// every live node reachable from the entry point on layer 0, no link to a free or missing slot, no self link or duplicate, degrees within
    /// `M`/`2M`, links only between nodes that live on that layer, entry point at the highest
    /// level, and — when `expectedKeys` is given — the stored key set equal to it.
    public func checkInvariants(parameters: HNSWParameters, expectedKeys: Set<UInt64>? = nil, limit: Int = 50) throws -> [String] {
        var problems: [String] = []
        func report(_ s: String) { if problems.count < limit { problems.append(s) } }
        let live = try liveSlots()
        let liveSet = Set(live)
        var levelOf: [UInt32: Int] = [:]
        var keys = Set<UInt64>()
        for s in live {
            levelOf[s] = try level(of: s)
            let k = try key(of: s)
            if !keys.insert(k).inserted { report("key \(k) is stored in two slots") }
            if try slot(forKey: k) != s { report("key map for \(k) does not point to slot \(s)") }
        }
        if let expectedKeys, expectedKeys != keys {
            report("stored keys differ from expected: \(keys.subtracting(expectedKeys).count) extra, \(expectedKeys.subtracting(keys).count) missing")
        }
        guard let (entry, top) = try entryPoint() else {
            if !live.isEmpty { report("no entry point but \(live.count) live nodes") }
            return problems
        }
        guard liveSet.contains(entry) else { report("entry point \(entry) is not a live node"); return problems }
        if levelOf[entry] != top { report("entry point level \(top) differs from the node's level \(levelOf[entry] ?? -1)") }
        if let maxLevel = levelOf.values.max(), maxLevel != top { report("entry point level \(top) is not the highest level \(maxLevel)") }

        for s in live {
            let l = levelOf[s] ?? 0
            for layer in 0...l {
                let links = try neighbors(of: s, layer: layer)
                let capacity = layer == 0 ? parameters.maxLinksLayer0 : parameters.m
                if links.count > capacity { report("slot \(s) has \(links.count) links on layer \(layer), capacity \(capacity)") }
                if Set(links).count != links.count { report("slot \(s) has duplicate links on layer \(layer)") }
                for n in links {
                    if n == s { report("slot \(s) links to itself on layer \(layer)") }
                    guard let nl = levelOf[n] else { report("slot \(s) links to free/missing slot \(n) on layer \(layer)"); continue }
                    if nl < layer { report("slot \(s) links on layer \(layer) to slot \(n) of level \(nl)") }
                }
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
                report("\(unreachable.count) of \(members.count) nodes unreachable from the entry point on layer \(layer), e.g. slot \(unreachable[0])")
            }
        }
        return problems
    }
}
