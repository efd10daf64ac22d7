import Foundation
import Readers

extension TextEncoder {
    /// Per-input token hidden states (`tokens × dimension`, row-major, `[CLS]`/`[SEP]` included) that
    /// leave layer `layerCount − droppingLastLayers` — with 0, the last hidden states; with 1, the
    /// states entering the last layer (what the FUTE attention surrogate trains on). Input order;
    /// batched and threaded as ``forEachBatch(of:progress:forward:collect:)`` says.
    public func hiddenStates(_ inputs: [TextInput], droppingLastLayers dropped: Int = 0,
                             progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        precondition(dropped >= 0 && dropped <= model.layers.count, "cannot drop \(dropped) of \(model.layers.count) layers")
        var lower = model
        lower.layers.removeLast(dropped)
        let tokenized = inputs.map(tokenize)
        let h = dimension
        var result = [[Float]](repeating: [], count: tokenized.count)
        forEachBatch(of: tokenized, progress: progress, forward: { [lower] in lower.lastHiddenStates($0) }) { indices, states in
            var row = 0
            for index in indices {
                let t = tokenized[index].count
                result[index] = Array(states[row * h ..< (row + t) * h])
                row += t
            }
        }
        return result
    }
}
