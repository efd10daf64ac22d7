import Foundation
import TestSupport
import XCTest

/// Everything observable about a store, for "unchanged" assertions: `stats --json` and, when the
/// store is an LMDB environment, `mdb_dump -a` (every named database, keys and values in hex);
/// otherwise the bytes of every file in the directory.
func storeFingerprint(_ fute: FuteProcess, db: String) throws -> String {
    let stats = try fute.run(["stats", "--db", db, "--json"])
    var fingerprint = "status \(stats.status)\n\(stats.stdout)\n"
    let dataFile = (db as NSString).appendingPathComponent("data.mdb")
    if FileManager.default.fileExists(atPath: dataFile) {
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_dump")
        dump.arguments = ["-a", db]
        let out = Pipe()
        dump.standardOutput = out
        dump.standardError = Pipe()
        try dump.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        dump.waitUntilExit()
        XCTAssertEqual(dump.terminationStatus, 0, "mdb_dump -a \(db) failed")
        fingerprint += String(decoding: data, as: UTF8.self)
    } else {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: db))?.sorted() ?? []
        for name in names {
            let data = FileManager.default.contents(atPath: (db as NSString).appendingPathComponent(name)) ?? Data()
            // FNV-1a over the whole file (Data's own hash looks at a prefix only).
            let digest = data.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
            fingerprint += "\(name) \(data.count) \(String(digest, radix: 16))\n"
        }
    }
    return fingerprint
}

/// Asserts the run failed the way issue 6 asks: non-zero exit, no signal (trap), exactly one
/// stderr line starting `fute-db: error: `, containing every fragment.
func assertCleanFailure(_ result: FuteProcess.Result, expectedStatus: Int32? = nil, contains fragments: [String],
                        _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(result.signalled, "\(label): killed by a signal (a trap?): \(result.stderr)", file: file, line: line)
    XCTAssertNotEqual(result.status, 0, "\(label): exit 0", file: file, line: line)
    if let expectedStatus { XCTAssertEqual(result.status, expectedStatus, "\(label): \(result.stderr)", file: file, line: line) }
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: "), "\(label): \(result.stderr)", file: file, line: line)
    // Usage errors add a second `usage: see …` line by design; anything else must be one line.
    let extra = lines.dropFirst().filter { !$0.hasPrefix("usage: see ") }
    XCTAssertTrue(extra.isEmpty, "\(label): more than one line: \(result.stderr)", file: file, line: line)
    XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump") || result.stderr.contains("💣"),
                   "\(label): runtime trap: \(result.stderr)", file: file, line: line)
    for fragment in fragments {
        XCTAssertTrue(result.stderr.contains(fragment), "\(label): expected '\(fragment)' in: \(result.stderr)", file: file, line: line)
    }
}
