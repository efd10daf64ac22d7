@testable import FuteCLI
import XCTest

/// `fute-db embed` output (issue 13): a NaN or infinite value is an error naming the input line,
/// never printed as 0.
final class FloatFormattingTests: XCTestCase {
    func testFiniteValuesRoundTrip() throws {
        XCTAssertEqual(try FloatFormatting.jsonArray([0.1, -2, 3.5e-8], file: "in.jsonl", line: 1), "[0.1,-2.0,3.5e-08]")
        XCTAssertEqual(try FloatFormatting.jsonArray([], file: "in.jsonl", line: 1), "[]")
    }

    func testNaNOrInfinityIsAnErrorNamingTheInputLine() {
        for bad: Float in [.nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try FloatFormatting.jsonArray([0.5, bad, 1], file: "texts.jsonl", line: 7)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("texts.jsonl:7: "), message)
                XCTAssertTrue(message.contains("NaN or infinite value (dimension 1 of 3)"), message)
            }
        }
    }
}
