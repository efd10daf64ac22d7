import Foundation
@testable import FuteDB
@testable import Storage
import XCTest

/// How storage failures become ``FuteError``s (issue 13, findings 1 and 5).
final class StorageErrorTranslationTests: XCTestCase {
    func testDiskFullSaysTheDiskIsFullAndNothingWasStored() {
        let lmdb = LMDBError.commitFailure(ENOSPC, directory: "/data/store", operation: "committing", freeBytes: 0)
        let error = FuteError.storage(lmdb, path: "/data/store")
        XCTAssertEqual(error.code, .diskFull)
        XCTAssertTrue(error.message.contains("disk holding the store at /data/store is full"), error.message)
        XCTAssertTrue(error.message.contains("nothing of the transaction (the whole batch) was stored"), error.message)
        XCTAssertFalse(error.message.contains("Input/output error") || error.message.contains("LMDB's documentation"), error.message)
    }

    /// Regression: the read-only cases were found by matching "read-only" in LMDB's message, so
    /// a permission failure under a directory named `read-only` was reported as a read-only store.
    func testPermissionFailureUnderADirectoryNamedReadOnlyIsNotAReadOnlyStore() {
        let lmdb = LMDBError(code: EACCES, message: "opening /srv/read-only/store failed: permission denied; check file permissions")
        XCTAssertEqual(FuteError.storage(lmdb, path: "/srv/read-only/store").code, .storage)
        let alreadyOpen = LMDBError(code: EACCES, message: "refused", readOnlyConflict: .alreadyOpenReadOnly)
        XCTAssertTrue(FuteError.storage(alreadyOpen, path: "/s").message.contains("already open read-only in this process"))
        XCTAssertEqual(FuteError.storage(alreadyOpen, path: "/s").code, .readOnly)
        let readOnly = LMDBError(code: EACCES, message: "refused", readOnlyConflict: .environmentIsReadOnly)
        XCTAssertTrue(FuteError.storage(readOnly, path: "/s").message.contains("was opened read-only"))
    }

    /// A real full disk: a 2 MiB tmpfs (needs root to mount; skipped visibly otherwise).
    func testBatchOnAFullDiskThrowsDiskFullAndKeepsEarlierCommits() throws {
        let mountPoint = NSTemporaryDirectory() + "fute-tmpfs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("cannot mount a 2 MiB tmpfs (needs root); the mapping is covered by testDiskFullSaysTheDiskIsFullAndNothingWasStored")
        }
        defer { _ = run("/bin/umount", ["-l", mountPoint]) }
        let path = mountPoint + "/store"
        do {
            var configuration = Configuration()
            configuration.mapSize = 64 << 20
            let db = try FuteDatabase(path: path, configuration: configuration)
            try db.write { db in
                try db.createSpace(Space(name: "s", dimension: 256))
                try db.upsertSubject(Subject(name: "kept", kind: .dataset))
                try db.putEmbedding(space: "s", subject: "kept", vector: Array(repeating: 1, count: 256))
            }
            assertFuteError(.diskFull, try db.write { db in
                for i in 0..<4_000 {  // about 4 MiB of vectors
                    try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                    try db.putEmbedding(space: "s", subject: "t\(i)", vector: Array(repeating: Float(i), count: 256))
                }
            })
            XCTAssertEqual(try db.read { try $0.count(in: "s") }, 1)
            XCTAssertEqual(try db.read { try $0.subjects().map(\.name) }, ["kept"])
        }
    }

    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
