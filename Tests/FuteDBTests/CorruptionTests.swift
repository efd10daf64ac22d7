import Foundation
import FuteDB
import XCTest

/// A damaged store throws `.corrupted` (or is reported), never traps. Records are damaged with
/// `mdb_load` (Debian lmdb-utils), independently of the library.
final class CorruptionTests: XCTestCase {
    private func makeDamagedStore(database: String, key: [UInt8], value: [UInt8]) throws -> FuteDatabase {
        let path = makeStorePath(self)
        do {
            let db = try FuteDatabase(path: path)
            try db.write { db in
                try db.createSpace(Space(name: "s", dimension: 2))
                try db.upsertSubject(Subject(name: "a", kind: .dataset))
                try db.upsertSubject(Subject(name: "b", kind: .model))
                try db.putEmbedding(space: "s", subject: "a", vector: [1, 0])
                try db.addObservation(TransferObservation(source: "a", target: "b", score: 1))
            }
        }
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        let input = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n \(hex(key))\n \(hex(value))\nDATA=END\n"
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mdb_load") else {
            throw XCTSkip("mdb_load (Debian lmdb-utils) not installed: cannot damage a store independently")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_load")
        process.arguments = ["-s", database, path]
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "mdb_load")
        return try FuteDatabase(path: path)
    }

    func testShortEmbeddingKeyThrowsCorrupted() throws {
        // Space id 1 followed by a 3-byte subject id: inside the space's prefix, but too short.
        let db = try makeDamagedStore(database: "embeddings", key: [0, 0, 0, 1, 9, 9, 9], value: [1, 0, 0, 0])
        assertFuteError(.corrupted, try db.read { try $0.embeddings(in: "s") })
        assertFuteError(.corrupted, try db.read { try $0.nearest(space: "s", vector: [1, 0], k: 1, exact: true) })
        assertFuteError(.corrupted, try db.read { try $0.stats() })
    }

    func testTruncatedEmbeddingValueThrowsCorrupted() throws {
        let db = try makeDamagedStore(database: "embeddings", key: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], value: [1, 0, 0])
        assertFuteError(.corrupted, try db.read { try $0.embedding(space: "s", subject: "a") })
        assertFuteError(.corrupted, try db.read { try $0.nearest(space: "s", vector: [1, 0], k: 1, exact: true) })
    }

    func testBadNameMapValueThrowsCorrupted() throws {
        let db = try makeDamagedStore(database: "subject_ids", key: Array("a".utf8), value: [1, 2, 3])
        assertFuteError(.corrupted, try db.read { try $0.subject(named: "a") })
        assertFuteError(.corrupted, try db.read { try $0.subjects() })
    }

    func testShortObservationKeyThrowsCorrupted() throws {
        let db = try makeDamagedStore(database: "observations", key: [0, 0, 0, 1], value: [1, 0, 0, 0, 0, 0, 0, 0, 0])
        assertFuteError(.corrupted, try db.read { try $0.observations() })
        assertFuteError(.corrupted, try db.write { try $0.deleteSubject(named: "b") })
    }

    func testUnreadableSpaceRecordThrowsCorrupted() throws {
        let db = try makeDamagedStore(database: "spaces", key: Array("s".utf8), value: [1, 0, 0, 0, 1] + Array("{oops".utf8))
        assertFuteError(.corrupted, try db.read { try $0.space(named: "s") })
        assertFuteError(.corrupted, try db.read { try $0.nearest(space: "s", vector: [1, 0], k: 1) })
    }

    func testTruncatedDataFileIsRefusedAsCorrupted() throws {
        let path = makeStorePath(self)
        do {
            let db = try FuteDatabase(path: path)
            try db.write { db in
                try db.createSpace(Space(name: "s", dimension: 64))
                for i in 0..<100 {
                    try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                    try db.putEmbedding(space: "s", subject: "t\(i)", vector: Array(repeating: Float(i), count: 64))
                }
            }
        }
        let file = URL(fileURLWithPath: path + "/data.mdb")
        let data = try Data(contentsOf: file)
        try data.prefix(8192).write(to: file)
        assertFuteError(.corrupted, try FuteDatabase(path: path))
    }

    func testEmptyDataFileIsANewStoreWhenWritableAndAnErrorWhenReadOnly() throws {
        let path = makeStorePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path + "/data.mdb", contents: Data())
        var readOnly = Configuration()
        readOnly.readOnly = true
        XCTAssertThrowsError(try FuteDatabase(path: path, configuration: readOnly)) { error in
            XCTAssertTrue(error is FuteError, "\(error)")
        }
        let db = try FuteDatabase(path: path)
        XCTAssertEqual(try db.read { try $0.spaces() }, [])
    }
}
