import Foundation
import Storage
import XCTest

/// What a reader leaves in the cache; records its own release so tests can see entries dropped.
private final class Entry: SnapshotPageCacheEntry, @unchecked Sendable {  // safe: immutable after init
    let label: String
    let released: ReleaseLog
    init(_ label: String, _ released: ReleaseLog) { self.label = label; self.released = released }
    deinit { released.add(label) }
}

private final class ReleaseLog: @unchecked Sendable {  // safe: `labels` is only touched under `lock`
    private let lock = NSLock()
    private var labels: [String] = []
    func add(_ label: String) { lock.lock(); labels.append(label); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return labels }
}

final class SnapshotPageCacheTests: XCTestCase {
    private func openEnvironment() throws -> (Environment, Database) {
        let env = try Environment(directory: try makeTemporaryDirectory(self))
        return (env, try env.openDatabase(named: "items"))
    }

    private func take(_ env: Environment, key: UInt64 = 1) throws -> Entry? {
        try env.read { txn in txn.withUnsafeSnapshotPageCache { $0.take(Entry.self, key: key) } }
    }

    private func keep(_ entry: Entry, in env: Environment, key: UInt64 = 1) throws {
        try env.read { txn in txn.withUnsafeSnapshotPageCache { $0.keep(entry, key: key) } }
    }

    func testLaterReaderOfTheSameSnapshotTakesWhatAnEarlierOneKept() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([1], forKey: "a", in: items) }
        let log = ReleaseLog()
        XCTAssertNil(try take(env), "a new environment's cache is empty")
        try keep(Entry("first", log), in: env)
        let taken = try take(env)
        XCTAssertEqual(taken?.label, "first")
        XCTAssertNil(try take(env), "an entry is lent to one reader at a time")
        XCTAssertEqual(env.snapshotPageCache.adoptionCount, 1)
        XCTAssertNil(try take(env, key: 2), "entries are found by key")
    }

    func testCommitEmptiesTheCacheAndANewSnapshotStartsEmpty() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([1], forKey: "a", in: items) }
        let log = ReleaseLog()
        let before = try env.read { $0.id }
        try keep(Entry("old snapshot", log), in: env)
        XCTAssertEqual(env.snapshotPageCache.count, 1)

        try env.write { try $0.put([2], forKey: "a", in: items) }

        XCTAssertEqual(env.snapshotPageCache.count, 0, "the commit emptied the cache")
        XCTAssertEqual(log.all, ["old snapshot"], "the dropped entry was released")
        let after = try env.read { $0.id }
        XCTAssertGreaterThan(after, before)
        XCTAssertNil(try take(env), "the new snapshot's cache is empty")
    }

    func testReaderOfAnOlderSnapshotCannotLeaveEntriesAfterACommit() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([1], forKey: "a", in: items) }
        let log = ReleaseLog()
        try env.read { old in
            // A commit while this reader still sees the previous snapshot.
            try env.write { try $0.put([2], forKey: "a", in: items) }
            old.withUnsafeSnapshotPageCache { $0.keep(Entry("stale", log), key: 1) }
        }
        XCTAssertEqual(log.all, ["stale"], "an entry of a superseded snapshot is dropped at once")
        XCTAssertNil(try take(env))
    }

    func testEachEnvironmentHasItsOwnCache() throws {
        let (first, firstItems) = try openEnvironment()
        let (second, secondItems) = try openEnvironment()
        try first.write { try $0.put([1], forKey: "a", in: firstItems) }
        try second.write { try $0.put([1], forKey: "a", in: secondItems) }
        XCTAssertEqual(try first.read { $0.id }, try second.read { $0.id }, "both at the same snapshot id")
        let log = ReleaseLog()
        try keep(Entry("first environment", log), in: first)
        XCTAssertNil(try take(second), "another environment at the same snapshot id sees nothing")
        XCTAssertEqual(try take(first)?.label, "first environment")
    }

    func testReadNestedInAWriteUsesTheCommittedSnapshotsCache() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([1], forKey: "a", in: items) }
        let log = ReleaseLog()
        try keep(Entry("committed", log), in: env)
        let seen = try env.write { _ in try self.take(env)?.label }
        XCTAssertEqual(seen, "committed", "a read inside a write sees the last committed snapshot")
    }
}
