import Foundation
import FuteDB
import XCTest

final class JSONValueTests: XCTestCase {
    func testDecodesEveryKindAndRoundTrips() throws {
        let text = #"{"a": null, "b": true, "c": 1.5, "d": "x", "e": [1, false, "y"], "f": {"g": {}}, "h": 0, "i": 1}"#
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        let expected: JSONValue = ["a": nil, "b": true, "c": 1.5, "d": "x", "e": [1, false, "y"], "f": ["g": [:]], "h": 0, "i": 1]
        XCTAssertEqual(value, expected)
        XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value)), value)
        XCTAssertEqual(value["d"]?.stringValue, "x")
        XCTAssertEqual(value["i"]?.numberValue, 1, "0 and 1 stay numbers, not Booleans")
        XCTAssertEqual(value["b"]?.boolValue, true)
        XCTAssertNil(value["missing"])
    }
}
