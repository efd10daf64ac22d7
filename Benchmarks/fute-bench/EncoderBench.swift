import Encoder
import Foundation
import Readers

/// `fute-bench encoder`: sentences/s of the Swift MiniLM encoder, tokenization included, the same
/// measurement `Tools/compare-encoder-torch.sh` makes for PyTorch (same sentences, same threads).
/// `--batch-tokens` overrides `TextEncoder.batchTokens` (to measure its effect).
func runEncoderBenchmark(_ o: Options) throws {
    let directory = try o.require("encoder")
    let path = try o.require("input")
    let limit = try o.int("limit", default: 500)
    let threadCounts = try o.ints("threads", default: [1, 2])
    var encoder = try TextEncoder(directory: directory)
    if let batchTokens = o.string("batch-tokens") {
        guard let value = Int(batchTokens), value > 0 else { throw BenchError("--batch-tokens must be a positive integer, got '\(batchTokens)'", usage: true) }
        encoder.batchTokens = value
    }
    let dataset = try TaskDataset.read(path: path, requireTargets: false)
    let inputs = dataset.examples.prefix(limit).map(\.input)
    guard !inputs.isEmpty else { throw BenchError("\(path) has no inputs") }
    var rows: [[String: Any]] = []
    for threads in threadCounts {
        let result = EncoderBenchmark.run(encoder: encoder, inputs: Array(inputs), threads: threads,
                                          repetitions: try o.int("runs", default: 3))
        rows.append(["threads": threads, "sentences": result.sentences, "tokens": result.tokens,
                     "seconds": result.seconds, "sentences_per_second": result.sentencesPerSecond])
        if !o.flag("json") { print(result) }
    }
    if o.flag("json") { print(jsonString(["benchmark": "encoder", "input": path, "results": rows])) }
}
