import Foundation

extension TextEncoder {
    /// Per-input token hidden states (`tokens × dimension`, row-major, `[CLS]`/`[SEP]` included) that
    /// leave layer `layerCount − droppingLastLayers` — with 0, the last hidden states; with 1, the
    /// states entering the last layer (what the FUTE attention surrogate trains on). Input order.
    public func hiddenStates(_ inputs: [TextInput], droppingLastLayers dropped: Int = 0,
                             progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        precondition(dropped >= 0 && dropped <= model.layers.count, "cannot drop \(dropped) of \(model.layers.count) layers")
        var lower = model
        lower.layers.removeLast(dropped)
        let tokenized = inputs.map(tokenize)
        let h = dimension
        let order = tokenized.indices.sorted { tokenized[$0].count < tokenized[$1].count || (tokenized[$0].count == tokenized[$1].count && $0 < $1) }
        var result = [[Float]](repeating: [], count: tokenized.count)
        var start = 0
        while start < order.count {
            var end = start
            var tokens = 0
            while end < order.count && (end == start || tokens + tokenized[order[end]].count <= batchTokens) {
                tokens += tokenized[order[end]].count
                end += 1
            }
            let states = lower.lastHiddenStates(order[start..<end].map { tokenized[$0] })
            var row = 0
            for index in order[start..<end] {
                let t = tokenized[index].count
                result[index] = Array(states[row * h ..< (row + t) * h])
                row += t
            }
            start = end
            progress?(start, order.count)
        }
        return result
    }
}
