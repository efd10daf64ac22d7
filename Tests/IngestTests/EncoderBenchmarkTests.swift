import Foundation
import XCTest
@testable import Ingest

final class EncoderBenchmarkTests: XCTestCase {
    /// Not a timed test: checks the benchmark runs and counts what it encoded; prints the figure.
    func testBenchmarkCountsSentencesAndTokens() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let inputs = [TextInput("a first sentence ."), TextInput("and a second one , a little longer .")]
        let result = EncoderBenchmark.run(encoder: encoder, inputs: inputs, threads: 1, repetitions: 1)
        XCTAssertEqual(result.sentences, 2)
        XCTAssertEqual(result.tokens, inputs.map { encoder.tokenize($0).count }.reduce(0, +))
        XCTAssertGreaterThan(result.seconds, 0)
        print(result)
    }

    func testDebugThroughputOnSST2() throws {
        guard ProcessInfo.processInfo.environment["FUTE_BENCH"] != nil else { throw XCTSkip("set FUTE_BENCH=1 to measure") }
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let data = try TaskDataset.read(path: try TestResources.shared("data/tasks/sst2.jsonl"), requireTargets: false)
        let inputs = data.examples.prefix(500).map(\.input)
        print(EncoderBenchmark.run(encoder: encoder, inputs: Array(inputs), threads: 1, repetitions: 1))
        print(EncoderBenchmark.run(encoder: encoder, inputs: Array(inputs), threads: 2, repetitions: 1))
    }
}
