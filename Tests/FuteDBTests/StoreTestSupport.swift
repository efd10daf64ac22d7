import Foundation
import FuteDB
import XCTest

/// A fresh store path per test (not yet created), removed when the test ends.
func makeStorePath(_ test: XCTestCase, function: String = #function) -> String {
    let path = NSTemporaryDirectory() + "fute-db-\(function.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}

/// Asserts that `body` throws a ``FuteError`` with `code` (and `field`, when given).
func assertFuteError<T>(_ code: FuteError.Code, field: String? = nil, _ body: @autoclosure () throws -> T,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? FuteError else { return XCTFail("expected FuteError, got \(error)", file: file, line: line) }
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        if let field { XCTAssertEqual(error.field, field, "\(error)", file: file, line: line) }
        XCTAssertFalse(error.message.isEmpty, file: file, line: line)
    }
}

