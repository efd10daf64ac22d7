import XCTest
final class StoragePlaceholderTests: XCTestCase { func testBuilds() { XCTAssertEqual(1 + 1, 2) } }
