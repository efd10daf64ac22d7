import XCTest
final class FuteCLIPlaceholderTests: XCTestCase { func testBuilds() { XCTAssertEqual(1 + 1, 2) } }
