import Foundation

/// Draws the unsupervised inputs U for model task embeddings: a broad, seeded, stratified sample
/// of several corpora (JSONL with `text` and optional `text_pair`), leaving evaluation datasets out.
public enum UnsupervisedSampler {
    /// One sampled input and the corpus it came from.
    public struct Item: Sendable, Equatable {
        /// The input.
        public var input: TextInput
        /// The corpus name (file name without extension).
        public var source: String
    }

    /// Samples `count` inputs round-robin over the corpora (each corpus shuffled with `seed`), so every
    /// corpus contributes equally until it runs out; `exclude` names corpora (file stems) to leave out.
    /// Duplicate inputs are dropped. Labels in the corpora are ignored.
    public static func sample(from paths: [String], count: Int, exclude: Set<String> = [], seed: UInt64 = 0) throws -> [Item] {
        var pools: [[Item]] = []
        var rng = SplitMix64(seed: seed ^ 0x0055_4E53_5550_0001)
        for path in paths {
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            if exclude.contains(name) { continue }
            let dataset = try TaskDataset.read(path: path, requireTargets: false)
            var items = dataset.examples.map { Item(input: $0.input, source: name) }
            rng.shuffle(&items)
            pools.append(items)
        }
        guard !pools.isEmpty else {
            throw DatasetError(path: paths.joined(separator: ", "), line: nil, message: "no corpora left after --exclude; give more --from files")
        }
        var out: [Item] = []
        var seen = Set<TextInput>()
        var cursors = [Int](repeating: 0, count: pools.count)
        var progressed = true
        while out.count < count && progressed {
            progressed = false
            for p in pools.indices where out.count < count {
                while cursors[p] < pools[p].count {
                    let item = pools[p][cursors[p]]
                    cursors[p] += 1
                    if seen.insert(item.input).inserted {
                        out.append(item)
                        progressed = true
                        break
                    }
                }
            }
        }
        return out
    }

    /// One JSON line per item: `{"text": …, "text_pair"?: …, "source": …}`.
    public static func jsonLines(_ items: [Item]) throws -> String {
        struct Line: Encodable { var text: String; var text_pair: String?; var source: String }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var s = ""
        for item in items {
            let data = try encoder.encode(Line(text: item.input.text, text_pair: item.input.pair, source: item.source))
            s += String(decoding: data, as: UTF8.self) + "\n"
        }
        return s
    }
}
