import Foundation
@testable import Storage
import XCTest

/// How a failed commit is reported (issue 13): a full disk says so, and that nothing was stored.
final class CommitFailureTests: XCTestCase {
    func testENOSPCIsDiskFullAndSaysNothingWasStored() {
        let error = LMDBError.commitFailure(ENOSPC, directory: "/data/store", operation: "committing to /data/store", freeBytes: 0)
        XCTAssertEqual(error.kind, .diskFull)
        XCTAssertEqual(error.code, ENOSPC)
        XCTAssertTrue(error.message.contains("disk holding /data/store is full"), error.message)
        XCTAssertTrue(error.message.contains("nothing of it was stored"), error.message)
        XCTAssertFalse(error.message.contains("LMDB's documentation"), error.message)
    }

    func testEIOOnANearlyFullDiskIsDiskFull() {
        let error = LMDBError.commitFailure(EIO, directory: "/data/store", operation: "committing", freeBytes: 4096)
        XCTAssertEqual(error.kind, .diskFull)
        XCTAssertEqual(error.code, EIO)
        XCTAssertTrue(error.message.contains("is full (4096 bytes free)"), error.message)
    }

    func testEIOWithFreeSpaceOrUnknownSpaceStaysAnIOError() {
        for free in [LMDBError.nearlyFullDiskBytes, 1 << 40, nil] as [UInt64?] {
            let error = LMDBError.commitFailure(EIO, directory: "/data/store", operation: "committing", freeBytes: free)
            XCTAssertEqual(error.kind, .other, "\(String(describing: free))")
            XCTAssertFalse(error.message.contains("full"), error.message)
        }
    }

    func testOtherCommitFailuresKeepTheirKind() {
        XCTAssertEqual(LMDBError.commitFailure(-30792 /* MDB_MAP_FULL */, directory: "/d", operation: "committing", freeBytes: 0).kind, .mapFull)
        XCTAssertEqual(LMDBError.commitFailure(EACCES, directory: "/d", operation: "committing", freeBytes: 0).kind, .permissionDenied)
    }

    func testFreeSpaceOfTheTemporaryDirectoryIsMeasured() throws {
        XCTAssertNotNil(LMDBError.availableBytes(at: NSTemporaryDirectory()))
        XCTAssertNil(LMDBError.availableBytes(at: NSTemporaryDirectory() + "no-such-\(UUID().uuidString)"))
    }

    func testReadOnlyRefusalsCarryATypedCondition() throws {
        let path = try makeTemporaryDirectory(self)
        do { _ = try Environment(directory: path) }  // creates it, then closes
        var readOnly = EnvironmentConfiguration()
        readOnly.readOnly = true
        let reader = try Environment.shared(directory: path, configuration: readOnly)
        XCTAssertThrowsError(try reader.write { _ in }) {
            XCTAssertEqual(($0 as? LMDBError)?.readOnlyConflict, .environmentIsReadOnly, "\($0)")
        }
        XCTAssertThrowsError(try Environment.shared(directory: path)) {
            XCTAssertEqual(($0 as? LMDBError)?.readOnlyConflict, .alreadyOpenReadOnly, "\($0)")
        }
        XCTAssertNil(LMDBError(code: EACCES, message: "opening /srv/read-only/x failed: permission denied").readOnlyConflict)
    }
}
