import Foundation
import Readers
import Kernels

/// Measures encoder throughput (sentences/s) the way `Tools/compare-encoder-torch.sh` measures
/// PyTorch: same sentences, same thread count, tokenization included, one warm-up pass, the median
/// of timed passes. Run from a release build; a debug build is an order of magnitude slower.
public enum EncoderBenchmark {
    /// One measurement.
    public struct Result: Sendable, CustomStringConvertible {
        /// Sentences encoded per pass.
        public var sentences: Int
        /// Tokens per pass (with special tokens).
        public var tokens: Int
        /// OpenBLAS threads.
        public var threads: Int
        /// Median seconds per pass.
        public var seconds: Double
        /// Seconds spent tokenizing in the median pass's run (tokenization is part of `seconds`).
        public var tokenizeSeconds: Double
        /// Sentences per second.
        public var sentencesPerSecond: Double { Double(sentences) / seconds }

        public var description: String {
            String(format: "encoder: %d sentences (%d tokens), %d thread(s): %.3f s/pass, %.1f sentences/s (tokenize %.3f s)",
                   sentences, tokens, threads, seconds, sentencesPerSecond, tokenizeSeconds)
        }
    }

    /// Encodes `inputs` `repetitions` times after one warm-up pass and reports the median.
    public static func run(encoder: TextEncoder, inputs: [TextInput], threads: Int, repetitions: Int = 3) -> Result {
        BLAS.setThreads(threads)
        _ = encoder.encode(inputs)
        var times: [Double] = [], tokenizeTimes: [Double] = []
        var tokens = 0
        for _ in 0..<max(1, repetitions) {
            let start = DispatchTime.now().uptimeNanoseconds
            let tokenized = inputs.map(encoder.tokenize)
            let mid = DispatchTime.now().uptimeNanoseconds
            _ = encoder.encode(tokenized: tokenized)
            let end = DispatchTime.now().uptimeNanoseconds
            tokens = tokenized.reduce(0) { $0 + $1.count }
            times.append(Double(end - start) / 1e9)
            tokenizeTimes.append(Double(mid - start) / 1e9)
        }
        let order = times.indices.sorted { times[$0] < times[$1] }
        let median = order[order.count / 2]
        return Result(sentences: inputs.count, tokens: tokens, threads: threads, seconds: times[median], tokenizeSeconds: tokenizeTimes[median])
    }
}
