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

/// What a write transaction carries over to the snapshot its commit creates.
final class CommitPageCacheTests: XCTestCase {
    private func openEnvironment() throws -> (Environment, Database) {
        let env = try Environment(directory: try makeTemporaryDirectory(self))
        return (env, try env.openDatabase(named: "items"))
    }

    private func carry(_ entry: Entry, in env: Environment, items: Database, key: UInt64 = 1) throws {
        try env.write { txn in
            try txn.put([9], forKey: "w", in: items)
            try txn.withUnsafeCommitPageCache { $0.keepAfterCommit(entry, key: key) }
        }
    }

    private func takeInWrite(_ env: Environment, items: Database, key: UInt64 = 1) throws -> String? {
        try env.write { txn in
            try txn.put([8], forKey: "x", in: items)
            return try txn.withUnsafeCommitPageCache { $0.take(Entry.self, key: key)?.label }
        }
    }

    func testACommitHandsItsEntryToTheNextWriterAndToReadersOfItsSnapshot() throws {
        let (env, items) = try openEnvironment()
        let log = ReleaseLog()
        try carry(Entry("carried", log), in: env, items: items)
        XCTAssertEqual(env.snapshotPageCache.count, 1, "installed for the committed snapshot")
        // A reader of that snapshot takes it and gives it back.
        let seen = try env.read { txn in
            txn.withUnsafeSnapshotPageCache { cache -> String? in
                let e = cache.take(Entry.self, key: 1)
                if let e { cache.keep(e, key: 1) }
                return e?.label
            }
        }
        XCTAssertEqual(seen, "carried")
        XCTAssertEqual(try takeInWrite(env, items: items), "carried", "the next writer starts from it")
        XCTAssertEqual(log.all, ["carried"], "not kept again: released when that writer finished")
        XCTAssertEqual(env.snapshotPageCache.count, 0)
    }

    func testAnAbortedWriteCarriesNothing() throws {
        let (env, items) = try openEnvironment()
        let log = ReleaseLog()
        struct Stop: Error {}
        XCTAssertThrowsError(try env.write { txn in
            try txn.withUnsafeCommitPageCache { $0.keepAfterCommit(Entry("aborted", log), key: 1) }
            throw Stop()
        })
        XCTAssertEqual(log.all, ["aborted"])
        XCTAssertEqual(env.snapshotPageCache.count, 0)
        XCTAssertNil(try takeInWrite(env, items: items))
    }

    func testACommitInBetweenDropsTheEntry() throws {
        let (env, items) = try openEnvironment()
        let log = ReleaseLog()
        try carry(Entry("old", log), in: env, items: items)
        try env.write { try $0.put([7], forKey: "other", in: items) }  // carries nothing
        XCTAssertEqual(log.all, ["old"], "a later commit's snapshot may have freed its pages")
        XCTAssertNil(try takeInWrite(env, items: items))
    }

    func testEachTransactionTakesAnEntryOnceAndDiscardHidesIt() throws {
        let (env, items) = try openEnvironment()
        let log = ReleaseLog()
        try carry(Entry("first", log), in: env, items: items)
        try env.write { txn in
            try txn.withUnsafeCommitPageCache { cache in
                XCTAssertFalse(cache.isLost(Entry.self, key: 1))
                let e = cache.take(Entry.self, key: 1)
                XCTAssertEqual(e?.label, "first")
                XCTAssertTrue(cache.isLost(Entry.self, key: 1), "taken and not kept back")
                XCTAssertNil(cache.take(Entry.self, key: 1), "taken: a second user in this transaction starts empty")
                if let e { cache.keepAfterCommit(e, key: 1) }
                XCTAssertFalse(cache.isLost(Entry.self, key: 1))
                XCTAssertEqual(cache.take(Entry.self, key: 1)?.label, "first", "kept again: the next user gets it")
                cache.keepAfterCommit(Entry("second", log), key: 1)
                cache.discard(Entry.self, key: 1)
                XCTAssertTrue(cache.isLost(Entry.self, key: 1))
                XCTAssertNil(cache.take(Entry.self, key: 1), "discarded for the rest of the transaction")
            }
        }
        XCTAssertEqual(env.snapshotPageCache.count, 0, "and not carried")
        XCTAssertEqual(Set(log.all), ["first", "second"])
    }
}
