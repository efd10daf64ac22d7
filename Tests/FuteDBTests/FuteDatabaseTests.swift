import Foundation
import FuteDB
import XCTest

final class FuteDatabaseTests: XCTestCase {
    func testOpeningCreatesAStoreThatReopens() throws {
        let path = makeStorePath(self)
        do {
            let db = try FuteDatabase(path: path)
            try db.write { try $0.createSpace(Space(name: "s", dimension: 2)) }
        }
        let reopened = try FuteDatabase(path: path)
        XCTAssertEqual(try reopened.read { try $0.spaces().map(\.name) }, ["s"])
        XCTAssertEqual(try reopened.read { try $0.stats().schemaVersion }, FuteDatabase.schemaVersion)
    }

    /// Mirrors the usage example in the README (notes/store.md): keep them in step.
    func testSwiftUsageExample() throws {
        let path = makeStorePath(self)
        // --- README example begins
        let db = try FuteDatabase(path: path)   // a directory; created when missing

        try db.write { db in                     // one transaction: commits on return, rolls back on throw
            try db.ensureSpace(Space(name: "minilm-textemb", dimension: 3, metric: .cosine,
                                     provenance: Provenance(method: "textemb", encoder: "all-MiniLM-L6-v2")))
            try db.upsertSubject(Subject(name: "sst2", kind: .dataset, metadata: ["family": "sentiment"]))
            try db.upsertSubject(Subject(name: "yelp", kind: .dataset, metadata: ["family": "sentiment"]))
            try db.upsertSubject(Subject(name: "trec", kind: .dataset, metadata: ["family": "question"]))
            try db.putEmbedding(space: "minilm-textemb", subject: "sst2", vector: [0.9, 0.1, 0.0], kind: .textemb)
            try db.putEmbedding(space: "minilm-textemb", subject: "yelp", vector: [0.8, 0.2, 0.1], kind: .textemb)
            try db.putEmbedding(space: "minilm-textemb", subject: "trec", vector: [0.0, 0.3, 0.9], kind: .textemb)
            try db.addObservation(TransferObservation(source: "yelp", target: "sst2", metric: "accuracy", score: 0.91))
        }

        let similar = try db.read { db in        // a consistent snapshot; readers never block
            try db.nearest(space: "minilm-textemb", to: "sst2", k: 2)
        }
        for result in similar { print(result.name, result.score) }   // yelp 0.98…, then trec
        // --- README example ends

        XCTAssertEqual(similar.map(\.name), ["yelp", "trec"])
        let expected = (0.9 * 0.8 + 0.1 * 0.2) / ((0.9 * 0.9 + 0.1 * 0.1).squareRoot() * (0.8 * 0.8 + 0.2 * 0.2 + 0.1 * 0.1).squareRoot())
        XCTAssertEqual(similar[0].score, expected, accuracy: 1e-6)
        XCTAssertEqual(try db.read { try $0.observations(target: "sst2") },
                       [TransferObservation(source: "yelp", target: "sst2", metric: "accuracy", score: 0.91)])
    }

    func testWriteThatThrowsLeavesTheStoreUnchanged() throws {
        struct Interrupted: Error {}
        let db = try FuteDatabase(path: makeStorePath(self))
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 2))
            try db.upsertSubject(Subject(name: "a", kind: .dataset))
            try db.putEmbedding(space: "s", subject: "a", vector: [1, 0])
        }
        let before = try db.read { try $0.stats() }
        XCTAssertThrowsError(try db.write { db in
            try db.upsertSubject(Subject(name: "b", kind: .model))
            try db.putEmbedding(space: "s", subject: "b", vector: [0, 1])
            try db.putEmbedding(space: "s", subject: "a", vector: [5, 5])
            try db.createSpace(Space(name: "t", dimension: 4))
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted, "the closure's error is rethrown as is") }
        try db.read { db in
            XCTAssertEqual(try db.stats().spaces, before.spaces)
            XCTAssertEqual(try db.stats().subjects, before.subjects)
            XCTAssertNil(try db.subject(named: "b"))
            XCTAssertEqual(try db.embedding(space: "s", subject: "a")?.vector, [1, 0])
            XCTAssertNil(try db.space(named: "t"))
        }
    }

    func testFullStoreThrowsStoreFullAndKeepsEarlierCommits() throws {
        var configuration = Configuration()
        configuration.mapSize = 1 << 20
        let db = try FuteDatabase(path: makeStorePath(self), configuration: configuration)
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 256))
            try db.upsertSubject(Subject(name: "kept", kind: .dataset))
            try db.putEmbedding(space: "s", subject: "kept", vector: Array(repeating: 1, count: 256))
        }
        assertFuteError(.storeFull, try db.write { db in
            for i in 0..<2_000 {
                try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                try db.putEmbedding(space: "s", subject: "t\(i)", vector: Array(repeating: Float(i), count: 256))
            }
        })
        XCTAssertEqual(try db.read { try $0.count(in: "s") }, 1)
        XCTAssertEqual(try db.read { try $0.subjects().map(\.name) }, ["kept"])
        try db.write { try $0.upsertSubject(Subject(name: "after", kind: .model)) }  // still writable
    }

    func testBackupIsACompleteStoreAndRefusesANonEmptyDestination() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 2))
            for i in 0..<50 {
                try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset, metadata: ["i": .number(Double(i))]))
                try db.putEmbedding(space: "s", subject: "t\(i)", vector: [Float(i), 1])
            }
            try db.addObservation(TransferObservation(source: "t1", target: "t2", score: 0.5))
        }
        let copyPath = makeStorePath(self)
        try db.backup(to: copyPath)
        try db.write { try $0.deleteSubject(named: "t3") }  // later changes stay out of the copy
        let copy = try FuteDatabase(path: copyPath)
        try copy.read { copy in
            XCTAssertEqual(try copy.count(in: "s"), 50)
            XCTAssertEqual(try copy.embedding(space: "s", subject: "t3")?.vector, [3, 1])
            XCTAssertEqual(try copy.observations().count, 1)
            XCTAssertEqual(try copy.nearest(space: "s", vector: [49, 1], k: 1).first?.name, "t49")
        }
        assertFuteError(.invalidArgument, field: "path", try db.backup(to: copyPath))
    }

    func testNewerSchemaVersionIsRefused() throws {
        let path = makeStorePath(self)
        _ = try FuteDatabase(path: path)
        try rewriteMeta(path: path, key: "schema_version", value: [0, 0, 0, 99])
        assertFuteError(.incompatibleSchema, try FuteDatabase(path: path))
        XCTAssertThrowsError(try FuteDatabase(path: path)) { error in
            XCTAssertTrue("\(error)".contains("99") && "\(error)".contains("upgrade"), "\(error)")
        }
    }

    /// A new store is made in a sibling staging directory and renamed into place, so a crash during
    /// creation never leaves an environment without the schema; nothing of the staging remains.
    func testCreationRenamesAStagedStoreIntoPlace() throws {
        for existingEmptyDirectory in [false, true] {
            let path = makeStorePath(self)
            if existingEmptyDirectory { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
            let parent = (path as NSString).deletingLastPathComponent, name = (path as NSString).lastPathComponent
            // Left by a crashed creator with our pid (removed) and by another process (left alone).
            let ours = "\(parent)/.\(name).fute-db-creating.\(getpid())", theirs = "\(parent)/.\(name).fute-db-creating.1"
            for leftover in [ours, theirs] {
                try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
                try Data("junk".utf8).write(to: URL(fileURLWithPath: leftover + "/data.mdb"))
            }
            addTeardownBlock { try? FileManager.default.removeItem(atPath: theirs) }
            do {
                let db = try FuteDatabase(path: path)
                try db.write { try $0.createSpace(Space(name: "s", dimension: 2)) }
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: ours), "staging directory left behind")
            XCTAssertTrue(FileManager.default.fileExists(atPath: theirs + "/data.mdb"), "another process's staging directory was touched")
            XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/data.mdb"))
            var readOnly = Configuration()
            readOnly.readOnly = true
            XCTAssertEqual(try FuteDatabase(path: path, configuration: readOnly).read { try $0.spaces().map(\.name) }, ["s"])
        }
    }

    func testForeignMetaMagicIsRefused() throws {
        let path = makeStorePath(self)
        _ = try FuteDatabase(path: path)
        try rewriteMeta(path: path, key: "magic", value: Array("other-app".utf8))
        assertFuteError(.notAFuteDatabase, try FuteDatabase(path: path))
    }

    func testForeignLMDBEnvironmentIsRefused() throws {
        let path = makeStorePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // An LMDB environment of "another application": mdb_load is independent of this library.
        try runTool("mdb_load", ["-T", "-s", "settings", path], input: "theme\ndark\n")
        assertFuteError(.notAFuteDatabase, field: "path", try FuteDatabase(path: path))
        var readOnly = Configuration()
        readOnly.readOnly = true
        assertFuteError(.notAFuteDatabase, try FuteDatabase(path: path, configuration: readOnly))
    }

    func testGarbageDataFileIsRefused() throws {
        let path = makeStorePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path + "/data.mdb"))
        assertFuteError(.notAFuteDatabase, try FuteDatabase(path: path))
    }

    func testPlainFileAndUnrelatedDirectoryAreRefused() throws {
        let file = makeStorePath(self)
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        assertFuteError(.notAFuteDatabase, field: "path", try FuteDatabase(path: file))

        let directory = makeStorePath(self)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: directory + "/notes.txt"))
        assertFuteError(.notAFuteDatabase, try FuteDatabase(path: directory))
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/data.mdb"), "nothing written into a foreign directory")
    }

    func testReadOnlyStore() throws {
        let path = makeStorePath(self)
        var readOnly = Configuration()
        readOnly.readOnly = true
        assertFuteError(.notFound, field: "path", try FuteDatabase(path: path, configuration: readOnly))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))

        let writable = try FuteDatabase(path: path)
        try writable.write { try $0.createSpace(Space(name: "s", dimension: 1)) }
        let db = try FuteDatabase(path: path, configuration: readOnly)
        XCTAssertEqual(try db.read { try $0.space(named: "s")?.dimension }, 1)
        assertFuteError(.readOnly, try db.write { _ in })
    }

    func testLMDBCommandLineToolsReadTheStore() throws {
        let path = makeStorePath(self)
        let db = try FuteDatabase(path: path)
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 2))
            for name in ["a", "b", "c"] {
                try db.upsertSubject(Subject(name: name, kind: .dataset))
                try db.putEmbedding(space: "s", subject: name, vector: [1, 2])
            }
        }
        let stat = try runTool("mdb_stat", ["-s", "embeddings", path])  // skips visibly when lmdb-utils is missing
        XCTAssertTrue(stat.contains("Entries: 3"), stat)
        let all = try runTool("mdb_stat", ["-a", path])
        for name in ["meta", "spaces", "subject_ids", "subjects", "embeddings", "observations"] {
            XCTAssertTrue(all.contains("Status of \(name)"), "mdb_stat lists \(name)")
        }
        let dump = try runTool("mdb_dump", ["-p", "-s", "subject_ids", path])
        XCTAssertTrue(dump.contains(" a\n") && dump.contains(" c\n"), dump)
        let meta = try runTool("mdb_dump", ["-p", "-s", "meta", path])
        XCTAssertTrue(meta.contains(" fute-db"), meta)
    }

    // MARK: Helpers

    /// Overwrites a key of the `meta` database with the LMDB tools, independently of this library.
    private func rewriteMeta(path: String, key: String, value: [UInt8]) throws {
        let hex = value.map { String(format: "%02x", $0) }.joined()
        let keyHex = Array(key.utf8).map { String(format: "%02x", $0) }.joined()
        let input = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n \(keyHex)\n \(hex)\nDATA=END\n"
        do {
            try runTool("mdb_load", ["-s", "meta", path], input: input)
        } catch {
            throw XCTSkip("mdb_load (Debian lmdb-utils) unavailable: \(error)")
        }
    }

    @discardableResult
    private func runTool(_ tool: String, _ arguments: [String], input: String? = nil) throws -> String {
        let candidates = ["/usr/bin/\(tool)", "/usr/local/bin/\(tool)"]
        guard let executable = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("\(tool) (Debian lmdb-utils) not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NSError(domain: tool, code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: text])
        }
        return text
    }
}

final class FuteDatabaseSharingTests: XCTestCase {
    func testTwoInstancesOnOnePathShareTheStore() throws {
        let path = makeStorePath(self)
        let first = try FuteDatabase(path: path)
        let second = try FuteDatabase(path: path)
        try first.write { try $0.createSpace(Space(name: "s", dimension: 1)) }
        XCTAssertNotNil(try second.read { try $0.space(named: "s") })
        try second.write { try $0.upsertSubject(Subject(name: "a", kind: .dataset)) }
        XCTAssertNotNil(try first.read { try $0.subject(named: "a") })
    }

    func testWritableOpenWhileOpenReadOnlyInThisProcessIsRefusedClearly() throws {
        let path = makeStorePath(self)
        do { _ = try FuteDatabase(path: path) }
        var readOnly = Configuration()
        readOnly.readOnly = true
        let reader = try FuteDatabase(path: path, configuration: readOnly)
        assertFuteError(.readOnly, try FuteDatabase(path: path))
        XCTAssertThrowsError(try FuteDatabase(path: path)) { XCTAssertTrue("\($0)".contains("already open read-only"), "\($0)") }
        _ = reader
    }
}
