import Foundation
import TestSupport
import XCTest

/// `fute-db backup`: a compacted copy answers exactly like the original and is never written over.
final class BackupCommandTests: XCTestCase {
    func testCompactedCopyAnswersLikeTheOriginalAndIsSmaller() throws {
        let fute = try FuteProcess.locate()
        let scratch = try ScratchDirectory()
        let db = scratch.path("store.db"), copy = scratch.path("copy.db")
        var generator = SplitMixValues(seed: 7)
        // Three rewrites of the same names in small batches leave free pages behind.
        for round in 0..<3 {
            let file = try scratch.write("round\(round).jsonl", vectorLines(generator.vectors(count: 400, dimension: 24)))
            let result = try fute.run(["ingest", "--db", db, "--space", "s", "--batch-size", "20", file])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let backup = try fute.run(["backup", "--db", db, copy])
        XCTAssertEqual(backup.status, 0, backup.stderr)

        func fileSize(_ directory: String) throws -> Int {
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")
            return try XCTUnwrap(attributes[.size] as? Int)
        }
        XCTAssertLessThan(try fileSize(copy), try fileSize(db), "compaction leaves the free pages out")
        XCTAssertEqual(try fute.run(["check", "--db", copy]).status, 0)
        for name in ["v0", "v123", "v399"] {
            let query = ["query", "--space", "s", "--name", name, "-k", "5", "--json"]
            let original = try fute.run(query + ["--db", db]), copied = try fute.run(query + ["--db", copy])
            XCTAssertEqual(original.status, 0, original.stderr)
            XCTAssertEqual(copied.stdout, original.stdout, "query \(name) on the copy")
        }

        // A second backup into the now non-empty directory is refused and leaves it as it was.
        let sizeBefore = try fileSize(copy)
        let again = try fute.run(["backup", "--db", db, copy])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.hasPrefix("fute-db: error: "), again.stderr)
        XCTAssertTrue(again.stderr.contains("non-empty directory"), again.stderr)
        XCTAssertEqual(try fileSize(copy), sizeBefore)
    }
}
