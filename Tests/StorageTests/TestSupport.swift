import Foundation
import XCTest

/// A fresh temporary directory per test, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase, function: String = #function) throws -> String {
    let path = NSTemporaryDirectory() + "fute-storage-\(function.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString)"
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
}
