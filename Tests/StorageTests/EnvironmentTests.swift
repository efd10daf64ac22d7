import Foundation
import Storage
import XCTest

final class EnvironmentTests: XCTestCase {
    private func openEnvironment(_ configuration: EnvironmentConfiguration = .init()) throws -> (Environment, Database) {
        let env = try Environment(directory: try makeTemporaryDirectory(self), configuration: configuration)
        return (env, try env.openDatabase(named: "items"))
    }

    func testCommittedWriteIsVisibleToLaterReads() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in
            try txn.put([1, 2, 3], forKey: "a", in: items)
            try txn.put([4], forKey: "b", in: items)
        }
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "a", in: items) }, [1, 2, 3])
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "b", in: items) }, [4])
        XCTAssertNil(try env.read { try $0.bytes(forKey: "c", in: items) })
        XCTAssertEqual(try env.read { try $0.count(in: items) }, 2)
    }

    func testWriteThatThrowsLeavesNothingBehind() throws {
        struct Boom: Error {}
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([9], forKey: "kept", in: items) }
        XCTAssertThrowsError(try env.write { txn in
            try txn.put([1], forKey: "lost", in: items)
            try txn.put([2], forKey: "kept", in: items)
            throw Boom()
        }) { XCTAssertTrue($0 is Boom, "the body's own error is rethrown") }
        try env.read { txn in
            XCTAssertNil(try txn.bytes(forKey: "lost", in: items))
            XCTAssertEqual(try txn.bytes(forKey: "kept", in: items), [9])
        }
    }

    func testWriteSeesItsOwnUncommittedChangesButNestedReadDoesNot() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in
            try txn.put([1], forKey: "k", in: items)
            XCTAssertEqual(try txn.bytes(forKey: "k", in: items), [1])
            try env.read { XCTAssertNil(try $0.bytes(forKey: "k", in: items)) }
        }
    }

    func testNestedReadsSeeTheSameData() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([7], forKey: "k", in: items) }
        let values = try env.read { outer in
            try env.read { inner in
                [try outer.bytes(forKey: "k", in: items), try inner.bytes(forKey: "k", in: items)]
            }
        }
        XCTAssertEqual(values, [[7], [7]])
    }

    func testTransactionIDsIncreaseWithCommits() throws {
        let (env, items) = try openEnvironment()
        let before = try env.read { $0.id }
        let writing = try env.write { txn in
            try txn.put([1], forKey: "k", in: items)
            return txn.id
        }
        let after = try env.read { $0.id }
        XCTAssertEqual(writing, before + 1)
        XCTAssertEqual(after, writing)
    }

    func testConcurrentReadersKeepTheirSnapshotWhileAWriterCommits() throws {
        let (env, items) = try openEnvironment()
        let key = FixedWidthKey(UInt64(1))
        try env.write { try $0.put(BigEndian.bytes(UInt64(0)), forKey: key, in: items) }

        let readerCount = 4
        let readersHaveSnapshot = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        let results = ResultBox(count: readerCount)
        // Real threads, not concurrentPerform: it runs only as many bodies at once as there are cores.
        let threads = (0...readerCount).map { index in
            Thread {
                if index == readerCount {
                    for _ in 0..<readerCount { readersHaveSnapshot.wait() }
                    do {
                        try env.write { try $0.put(BigEndian.bytes(UInt64(42)), forKey: key, in: items) }
                    } catch { results.fail("writer: \(error)") }
                    for _ in 0..<readerCount { writerDone.signal() }
                    results.finish()
                    return
                }
                do {
                    try env.read { txn in
                        let first = try txn.get(key, in: items) { $0.bigEndianUInt64() }
                        readersHaveSnapshot.signal()
                        writerDone.wait()
                        let second = try txn.get(key, in: items) { $0.bigEndianUInt64() }
                        results.set(index, [first, second])
                    }
                    let fresh = try env.read { try $0.get(key, in: items) { $0.bigEndianUInt64() } }
                    results.append(index, fresh)
                } catch { results.fail("reader \(index): \(error)") }
                results.finish()
            }
        }
        threads.forEach { $0.start() }
        XCTAssertTrue(results.waitForFinish(count: readerCount + 1, seconds: 20), "threads finished")
        XCTAssertEqual(results.failures, [])
        for index in 0..<readerCount {
            XCTAssertEqual(results.values[index], [0, 0, 42], "reader \(index) keeps its snapshot, a new read sees the commit")
        }
    }

    func testWritersOnManyThreadsAreSerialised() throws {
        let (env, items) = try openEnvironment()
        let key = FixedWidthKey(UInt64(1))
        try env.write { try $0.put(BigEndian.bytes(UInt64(0)), forKey: key, in: items) }
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<25 {
                try? env.write { txn in
                    let value = try txn.get(key, in: items) { $0.bigEndianUInt64() } ?? 0
                    try txn.put(BigEndian.bytes(value + 1), forKey: key, in: items)
                }
            }
        }
        XCTAssertEqual(try env.read { try $0.get(key, in: items) { $0.bigEndianUInt64() } }, 200)
    }

    func testNonLMDBFileInDirectoryIsRejectedWithInvalidFile() throws {
        let path = try makeTemporaryDirectory(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data(repeating: 0x41, count: 16384).write(to: URL(fileURLWithPath: path + "/data.mdb"))
        XCTAssertThrowsError(try Environment(directory: path)) { error in
            let lmdb = error as? LMDBError
            XCTAssertEqual(lmdb?.kind, .invalidFile)
            XCTAssertTrue(lmdb?.message.contains("not an LMDB environment") ?? false, "\(error)")
        }
    }

    func testPlainFileInsteadOfDirectoryIsRejected() throws {
        let path = try makeTemporaryDirectory(self)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Environment(directory: path)) { error in
            XCTAssertEqual((error as? LMDBError)?.kind, .notADirectory)
        }
    }

    func testMissingDirectoryOpenedReadOnlyIsRejected() throws {
        var configuration = EnvironmentConfiguration()
        configuration.readOnly = true
        let path = try makeTemporaryDirectory(self)
        XCTAssertThrowsError(try Environment(directory: path, configuration: configuration)) { error in
            XCTAssertEqual((error as? LMDBError)?.kind, .noSuchFile)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "read-only open creates nothing")
    }

    func testReadOnlyEnvironmentRefusesWrites() throws {
        let path = try makeTemporaryDirectory(self)
        do {
            let env = try Environment(directory: path)
            let items = try env.openDatabase(named: "items")
            try env.write { try $0.put([1], forKey: "k", in: items) }
        }
        var configuration = EnvironmentConfiguration()
        configuration.readOnly = true
        let env = try Environment(directory: path, configuration: configuration)
        let items = try env.openDatabase(named: "items", create: false)
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "k", in: items) }, [1])
        XCTAssertThrowsError(try env.write { _ in }) { XCTAssertEqual(($0 as? LMDBError)?.kind, .permissionDenied) }
        XCTAssertThrowsError(try env.openDatabase(named: "absent", create: false)) { XCTAssertEqual(($0 as? LMDBError)?.kind, .notFound) }
    }

    func testMapFullIsReportedAndTheTransactionIsLost() throws {
        var configuration = EnvironmentConfiguration()
        configuration.mapSize = 256 * 1024
        let (env, items) = try openEnvironment(configuration)
        try env.write { try $0.put([1], forKey: "before", in: items) }
        let chunk = [UInt8](repeating: 7, count: 8192)
        XCTAssertThrowsError(try env.write { txn in
            for i in 0..<1000 { try txn.put(chunk, forKey: FixedWidthKey(UInt64(i)), in: items) }
        }) { error in
            XCTAssertEqual((error as? LMDBError)?.kind, .mapFull)
            XCTAssertTrue((error as? LMDBError)?.message.contains("mapSize") ?? false)
        }
        XCTAssertEqual(try env.read { try $0.count(in: items) }, 1)
    }

    func testDatabaseCreatedInAbortedTransactionDoesNotExist() throws {
        struct Boom: Error {}
        let (env, _) = try openEnvironment()
        XCTAssertThrowsError(try env.write { txn in
            _ = try txn.openDatabase(named: "ephemeral", create: true)
            throw Boom()
        })
        try env.write { txn in
            XCTAssertThrowsError(try txn.openDatabase(named: "ephemeral", create: false)) {
                XCTAssertEqual(($0 as? LMDBError)?.kind, .notFound)
            }
        }
        let created = try env.write { txn in
            let db = try txn.openDatabase(named: "ephemeral", create: true)
            try txn.put([5], forKey: "k", in: db)
            return db
        }
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "k", in: created) }, [5])
        XCTAssertEqual(try env.openDatabase(named: "ephemeral"), created)
    }

    func testStatisticsAndInfo() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in for i in 0..<10 { try txn.put([UInt8(i)], forKey: FixedWidthKey(UInt32(i)), in: items) } }
        XCTAssertEqual(try env.read { try $0.statistics(of: items).entries }, 10)
        XCTAssertEqual(try env.stat().pageSize, 4096)
        let info = try env.info()
        XCTAssertEqual(info.mapSize, 1 << 40)
        XCTAssertGreaterThan(info.lastTransactionID, 0)
        XCTAssertGreaterThan(env.fileSize ?? 0, 0)
        XCTAssertEqual(try env.checkStaleReaders(), 0)
    }
}

/// Collects results from several threads.
private final class ResultBox: @unchecked Sendable {  // every access goes through `lock`
    private let lock = NSLock()
    private var storage: [[UInt64?]]
    private var failureList: [String] = []
    private let finished = DispatchSemaphore(value: 0)
    func finish() { finished.signal() }
    func waitForFinish(count: Int, seconds: Double) -> Bool {
        (0..<count).allSatisfy { _ in finished.wait(timeout: .now() + seconds) == .success }
    }
    init(count: Int) { storage = Array(repeating: [], count: count) }
    func set(_ index: Int, _ values: [UInt64?]) { lock.lock(); storage[index] = values; lock.unlock() }
    func append(_ index: Int, _ value: UInt64?) { lock.lock(); storage[index].append(value); lock.unlock() }
    func fail(_ message: String) { lock.lock(); failureList.append(message); lock.unlock() }
    var values: [[UInt64?]] { lock.lock(); defer { lock.unlock() }; return storage }
    var failures: [String] { lock.lock(); defer { lock.unlock() }; return failureList }
}

final class SharedEnvironmentTests: XCTestCase {
    func testSharedReturnsTheOpenEnvironmentOfADirectory() throws {
        let path = try makeTemporaryDirectory(self)
        let first = try Environment.shared(directory: path)
        let second = try Environment.shared(directory: path + "/.")
        XCTAssertTrue(first === second)
        var readOnly = EnvironmentConfiguration()
        readOnly.readOnly = true
        XCTAssertTrue(try Environment.shared(directory: path, configuration: readOnly) === first, "a writable environment serves readers")
    }

    func testSharedOpensAgainAfterTheLastHandleIsGone() throws {
        let path = try makeTemporaryDirectory(self)
        var identifier: ObjectIdentifier?
        do {
            let env = try Environment.shared(directory: path)
            let items = try env.openDatabase(named: "items")
            try env.write { try $0.put([1], forKey: "k", in: items) }
            identifier = ObjectIdentifier(env)
        }
        var readOnly = EnvironmentConfiguration()
        readOnly.readOnly = true
        let env = try Environment.shared(directory: path, configuration: readOnly)
        XCTAssertEqual(try env.read { txn in try txn.bytes(forKey: "k", in: try txn.openDatabase(named: "items")) }, [1], "a database first opened inside a read is usable by it")
        XCTAssertEqual(try env.read { txn in try txn.bytes(forKey: "k", in: try env.openDatabase(named: "items", create: false)) }, [1], "and by later reads")
        _ = identifier
        XCTAssertThrowsError(try Environment.shared(directory: path)) {
            XCTAssertEqual(($0 as? LMDBError)?.kind, .permissionDenied, "writable requested while open read-only")
        }
    }
}

final class TruncatedFileTests: XCTestCase {
    /// Regression: a truncated data.mdb made the first read fault with SIGBUS (found by the reliability tests).
    func testTruncatedDataFileIsRefusedInsteadOfFaulting() throws {
        let source = try makeTemporaryDirectory(self)
        do {
            let env = try Environment(directory: source)
            let items = try env.openDatabase(named: "items")
            try env.write { txn in for i: UInt64 in 0..<200 { try txn.put([UInt8](repeating: 1, count: 1000), forKey: FixedWidthKey(i), in: items) } }
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: source + "/data.mdb"))
        XCTAssertGreaterThan(data.count, 3 * 4096)
        for cut in [8192, data.count - 4096] {
            let path = try makeTemporaryDirectory(self)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try data.prefix(cut).write(to: URL(fileURLWithPath: path + "/data.mdb"))
            XCTAssertThrowsError(try Environment(directory: path), "cut at \(cut)") { error in
                XCTAssertEqual((error as? LMDBError)?.kind, .truncatedFile)
                XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
            }
        }
    }
}

final class MapResizedTests: XCTestCase {
    /// Another process (here `mdb_load`, Debian lmdb-utils) grows the map and writes past our map's end:
    /// our next `mdb_txn_begin` returns MDB_MAP_RESIZED, and Storage adopts the new size and retries.
    func testMapGrownByAnotherProcessIsAdopted() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mdb_load") else {
            throw XCTSkip("mdb_load (Debian lmdb-utils) not installed: cannot grow the map from another process")
        }
        var configuration = EnvironmentConfiguration()
        configuration.mapSize = 1 << 20
        let path = try makeTemporaryDirectory(self)
        let env = try Environment(directory: path, configuration: configuration)
        let items = try env.openDatabase(named: "items")
        try env.write { try $0.put([1], forKey: "mine", in: items) }

        // 1,000 values of 2 KB (> 1 MiB) through a child process with an 8 MiB map.
        var input = "VERSION=3\nformat=bytevalue\nmapsize=\(8 << 20)\ntype=btree\nHEADER=END\n"
        let value = String(repeating: "ab", count: 2_000)
        for i in 0..<1_000 { input += " \(String(format: "%08x", i))\n \(value)\n" }
        input += "DATA=END\n"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_load")
        process.arguments = ["-s", "items", path]
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "mdb_load")

        XCTAssertEqual(try env.read { try $0.count(in: items) }, 1_001)
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "mine", in: items) }, [1])
        XCTAssertEqual(try env.info().mapSize, 8 << 20, "the larger map was adopted")
        try env.write { try $0.put([2], forKey: "after", in: items) }
    }
}
