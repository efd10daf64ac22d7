import Foundation
import XCTest
@testable import Readers

/// A temporary directory per test, removed afterwards.
final class ReaderScratch {
    let directory: URL
    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fute-reader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ text: String) throws -> String {
        try file(name, bytes: Array(text.utf8))
    }
    func file(_ name: String, bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// The package's Tests/Fixtures directory.
let readerFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Runs `body`, expects a `ReaderError`, and returns it.
func expectReaderError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> ReaderError? {
    do {
        _ = try body()
        XCTFail("expected a ReaderError", file: file, line: line)
    } catch let error as ReaderError {
        return error
    } catch {
        XCTFail("expected a ReaderError, got \(error)", file: file, line: line)
    }
    return nil
}

func littleEndian(_ values: [Int32]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}

func fvecs(_ rows: [[Float]]) -> [UInt8] {
    rows.flatMap { row in littleEndian([Int32(row.count)]) + littleEndian(row.map { Int32(bitPattern: $0.bitPattern) }) }
}
