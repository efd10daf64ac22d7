import Foundation
import XCTest
@testable import Encoder
@testable import Readers

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
}
