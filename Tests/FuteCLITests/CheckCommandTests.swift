import Foundation
import TestSupport
import XCTest

/// `fute-db check` where there is no store (issue 13): it says so and how to make one, rather
/// than advising a restore from a backup.
final class CheckCommandTests: XCTestCase {
    func testCheckOnAnEmptyOrMissingDirectorySaysThereIsNoStore() throws {
        let fute = try FuteProcess.locate()
        let scratch = try ScratchDirectory()
        let empty = scratch.path("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        for (path, reason) in [(empty, "the directory is empty"), (scratch.path("missing"), "the directory does not exist")] {
            let result = try fute.run(["check", "--db", path])
            XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
            XCTAssertEqual(result.stdout, "")
            XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: no store at \(path) (\(reason)), so there is nothing to check"), result.stderr)
            XCTAssertTrue(result.stderr.contains("`fute-db ingest --db \(path) --space NAME FILE`"), result.stderr)
            XCTAssertFalse(result.stderr.contains("backup"), result.stderr)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: empty), [], "check wrote into the empty directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("missing")), "check created a store")
    }
}
