import Foundation
import Kernels
import XCTest
@testable import Encoder
@testable import Readers

/// The SIMD attention against a plain triple loop of the textbook definition, softmax(q·kᵀ/√d)·v per
/// sequence and head, on packed sequences of awkward lengths (1, partial and whole SIMD blocks, more
/// than one 32-key group) and head widths that are and are not multiples of 8.
final class EncoderAttentionTests: XCTestCase {
    func naiveAttention(qkv: [Float], lengths: [Int], hiddenSize h: Int, heads: Int) -> [Float] {
        let dh = h / heads, stride = 3 * h
        var out = [Float](repeating: 0, count: lengths.reduce(0, +) * h)
        var row = 0
        for t in lengths {
            for head in 0..<heads {
                for i in 0..<t {
                    var scores = [Double](repeating: 0, count: t)
                    for j in 0..<t {
                        var dot = 0.0
                        for d in 0..<dh { dot += Double(qkv[(row + i) * stride + head * dh + d]) * Double(qkv[(row + j) * stride + h + head * dh + d]) }
                        scores[j] = dot / Double(dh).squareRoot()
                    }
                    let m = scores.max() ?? 0
                    let e = scores.map { Foundation.exp($0 - m) }
                    let sum = e.reduce(0, +)
                    for d in 0..<dh {
                        var v = 0.0
                        for j in 0..<t { v += e[j] / sum * Double(qkv[(row + j) * stride + 2 * h + head * dh + d]) }
                        out[(row + i) * h + head * dh + d] = Float(v)
                    }
                }
            }
            row += t
        }
        return out
    }

    func check(hiddenSize h: Int, heads: Int, lengths: [Int], workers: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let n = lengths.reduce(0, +)
        let qkv = (0..<(n * 3 * h)).map { _ in Float(Double(rng.next() % 2_000_001) / 1_000_000 - 1) * 2 }
        let plan = BertModel.AttentionPlan(lengths: lengths, hiddenSize: h, headCount: heads, workers: workers)
        var scratch = [SIMD8<Float>](repeating: .zero, count: plan.scratchPerWorker * plan.workerRanges.count)
        var context = [Float](repeating: .nan, count: n * h)
        BertModel.attention(qkv: qkv, plan: plan, scratch: &scratch, into: &context)
        let expected = naiveAttention(qkv: qkv, lengths: lengths, hiddenSize: h, heads: heads)
        let worst = Self.largestError(context, expected)
        XCTAssertFalse(worst.isNaN, "an output is NaN or infinite (left unwritten?), hidden \(h), \(heads) heads, lengths \(lengths), \(workers) workers")
        XCTAssertLessThan(worst, 1e-5, "max |error|, hidden \(h), \(heads) heads, lengths \(lengths), \(workers) workers")
    }

    /// The largest |a − b|, or NaN when any difference is NaN or infinite. `max` alone would not
    /// do: `max(worst, .nan)` returns `worst`, so an output left at its NaN fill would pass.
    static func largestError(_ actual: [Float], _ expected: [Float]) -> Float {
        guard actual.count == expected.count else { return .nan }
        var worst: Float = 0
        for (a, b) in zip(actual, expected) {
            let difference = abs(a - b)
            guard difference.isFinite else { return .nan }
            worst = max(worst, difference)
        }
        return worst
    }

    /// Regression (issue 13): the comparison used `max`, which drops NaN, so unwritten outputs passed.
    func testComparisonFailsOnNaNOrInfiniteOutputs() {
        XCTAssertEqual(Self.largestError([1, 2], [1, 2.5]), 0.5)
        XCTAssertTrue(Self.largestError([1, .nan, 2], [1, 0, 2]).isNaN)
        XCTAssertTrue(Self.largestError([.infinity], [0]).isNaN)
        XCTAssertTrue(Self.largestError([1], [1, 2]).isNaN)
    }

    func testMatchesTheDefinitionForMiniLMHeadWidth() {
        // 384 / 12 = 32: four SIMD8 blocks per head, the specialised path.
        check(hiddenSize: 384, heads: 12, lengths: [1, 7, 8, 9, 33, 70], workers: 1, seed: 1)
    }

    func testMatchesTheDefinitionForHeadWidthsNotMultipleOf8() {
        check(hiddenSize: 36, heads: 3, lengths: [5, 1, 40, 16], workers: 1, seed: 2)   // 12 per head
        check(hiddenSize: 20, heads: 4, lengths: [3, 31, 32], workers: 1, seed: 3)      // 5 per head
    }

    func testSharingSequencesAmongWorkersGivesTheSameContext() {
        check(hiddenSize: 384, heads: 12, lengths: [2, 3, 50, 9, 9, 64, 1], workers: 2, seed: 4)
        check(hiddenSize: 384, heads: 12, lengths: [12], workers: 2, seed: 5)   // fewer sequences than workers
    }

    func testPlanCoversEverySequenceOnceInOrder() {
        for workers in 1...4 {
            let lengths = [1, 100, 3, 3, 3, 250, 7, 7]
            let plan = BertModel.AttentionPlan(lengths: lengths, hiddenSize: 384, headCount: 12, workers: workers)
            XCTAssertEqual(plan.workerRanges.flatMap { Array($0) }, Array(lengths.indices), "\(workers) workers")
            XCTAssertLessThanOrEqual(plan.workerRanges.count, workers)
        }
    }
}

final class EncoderThreadsTests: XCTestCase {
    /// `run` at one thread (no progress), then at two with a progress recorder; checks that the BLAS
    /// thread count is back at two afterwards and that progress always reports `total`, and restores
    /// the caller's thread count.
    func oneThenTwoThreads<T>(total: Int, _ run: (((Int, Int) -> Void)?) -> T) -> (one: T, two: T, progress: [Int]) {
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        TextEncoder.setThreads(1)
        let one = run(nil)
        TextEncoder.setThreads(2)
        var reported: [Int] = []
        let two = run { done, all in
            XCTAssertEqual(all, total)
            reported.append(done)
        }
        XCTAssertEqual(BLAS.threads, 2, "the BLAS thread count is restored after a parallel pass")
        return (one, two, reported)
    }

    /// Two threads share batches among two workers (single-threaded BLAS each): the embeddings must be
    /// those of one thread, in input order, and OpenBLAS's thread count must be back afterwards.
    func testTwoThreadsGiveTheEmbeddingsOfOneThread() throws {
        var encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        encoder.batchTokens = 16   // several batches from a few inputs
        let inputs = (0..<12).map { i in
            i % 3 == 2 ? TextInput("premise number \(i) is here", pair: "and a hypothesis \(i)")
                       : TextInput(String(repeating: "word \(i) ", count: 1 + i % 5))
        }
        let (one, two, reported) = oneThenTwoThreads(total: inputs.count) { encoder.encode(inputs, progress: $0) }
        XCTAssertEqual(reported.last, inputs.count)
        XCTAssertEqual(reported, reported.sorted())
        XCTAssertEqual(one.count, two.count)
        for (i, (a, b)) in zip(one, two).enumerated() {
            XCTAssertEqual(a.count, encoder.dimension)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6, "input \(i)") }
        }
    }

    /// `hiddenStates` shares `encode`'s batching and workers: with two threads each input's token states
    /// (shape and values) are those of one thread, in input order, and progress reaches the total.
    func testTwoThreadsGiveTheHiddenStatesOfOneThread() throws {
        var encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        encoder.batchTokens = 16
        let inputs = (0..<10).map { i in
            i % 4 == 3 ? TextInput("a premise \(i)", pair: "a hypothesis \(i) that runs longer")
                       : TextInput(String(repeating: "token \(i) ", count: 1 + i % 4))
        }
        let (one, two, reported) = oneThenTwoThreads(total: inputs.count) { encoder.hiddenStates(inputs, droppingLastLayers: 1, progress: $0) }
        XCTAssertEqual(reported.last, inputs.count)
        XCTAssertEqual(one.count, inputs.count)
        for (i, (a, b)) in zip(one, two).enumerated() {
            XCTAssertEqual(a.count, encoder.tokenize(inputs[i]).count * encoder.dimension, "input \(i)")
            XCTAssertEqual(a.count, b.count, "input \(i)")
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5, "input \(i)") }
        }
    }
}
