import Foundation
import FuteDB
import TestSupport
import XCTest

final class ConcurrencyTests: XCTestCase {
    /// Readers on several threads search and count while a writer adds embeddings in batches:
    /// every read sees a whole number of batches, never a partial one, and counts never go back.
    func testReadersSeeWholeCommitsWhileAWriterAddsBatches() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        let batch = 10, batches = 20
        try db.write { try $0.createSpace(Space(name: "s", dimension: 4)) }
        let failures = race(readers: 3, timeout: 60, batches: batches, write: { b in
            try db.write { db in
                for i in 0..<batch {
                    let name = "t\(b * batch + i)"
                    try db.upsertSubject(Subject(name: name, kind: .dataset))
                    try db.putEmbedding(space: "s", subject: name, vector: [Float(b), Float(i), 1, 0])
                }
            }
        }, read: { last in
            try db.read { db in
                let count = try db.count(in: "s")
                let subjects = try db.subjects().count
                let found = try db.nearest(space: "s", vector: [1, 1, 1, 0], k: 1000, exact: true).count
                defer { last = count }
                guard count % batch != 0 || subjects != count || found != count || count < last else { return nil }
                return "count \(count), subjects \(subjects), found \(found), previous \(last)"
            }
        })
        XCTAssertEqual(failures, [])
        XCTAssertEqual(try db.read { try $0.count(in: "s") }, batch * batches)
    }

    /// The same above the exact-search threshold, where `nearest` goes through the HNSW index:
    /// readers on several threads see the index and the embeddings of one whole commit — the
    /// newest embedding they can count is one the index finds — while a writer adds batches.
    func testIndexedReadersSeeWholeCommitsWhileAWriterAddsBatches() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        let dimension = 16, initial = 3_000, batch = 10, batches = 15
        var random = TestRNG(seed: 7)
        let vectors = (0..<(initial + batch * batches)).map { _ in random.floats(dimension) }
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: dimension, metric: .l2))
            for i in 0..<initial {
                try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                try db.putEmbedding(space: "s", subject: "t\(i)", vector: vectors[i])
            }
        }
        // 3,000 > FilteredSearchPolicy's 2,000: unfiltered searches use the graph.
        let failures = race(readers: 2, timeout: 120, batches: batches, write: { b in
            try db.write { db in
                for i in 0..<batch {
                    let index = initial + b * batch + i
                    try db.upsertSubject(Subject(name: "t\(index)", kind: .dataset))
                    try db.putEmbedding(space: "s", subject: "t\(index)", vector: vectors[index])
                }
            }
        }, read: { last in
            try db.read { db in
                let count = try db.count(in: "s")
                let newest = "t\(count - 1)"
                let found = try db.nearest(space: "s", vector: vectors[count - 1], k: 10).map(\.name)
                defer { last = count }
                guard (count - initial) % batch != 0 || count < last || !found.contains(newest) else { return nil }
                return "count \(count), previous \(last), \(newest) not among \(found)"
            }
        })
        XCTAssertEqual(failures, [])
        try db.read { db in
            XCTAssertEqual(try db.count(in: "s"), initial + batch * batches)
            XCTAssertEqual(try db.nearest(space: "s", vector: vectors[initial + 5], k: 1).map(\.name), ["t\(initial + 5)"])
        }
    }

    /// Runs `write(b)` for b in 0..<batches on one thread while `readers` threads call `read` in a
    /// loop until the writer is done (each reader keeps its own `last`; `read` returns a failure
    /// message or nil). Returns every failure, the writer's and readers' errors included.
    private func race(readers: Int, timeout: Double, batches: Int, write: @escaping @Sendable (Int) throws -> Void,
                      read: @escaping @Sendable (_ last: inout Int) throws -> String?) -> [String] {
        let failures = FailureLog()
        let writerDone = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let writer = Thread {
            do {
                for b in 0..<batches { try write(b) }
            } catch { failures.add("writer: \(error)") }
            for _ in 0..<readers { writerDone.signal() }
            finished.signal()
        }
        let readerThreads = (0..<readers).map { r in
            Thread {
                var last = 0, done = false
                while !done {
                    done = writerDone.wait(timeout: .now()) == .success
                    do {
                        if let failure = try read(&last) { failures.add("reader \(r): \(failure)") }
                    } catch { failures.add("reader \(r): \(error)"); done = true }
                }
                finished.signal()
            }
        }
        readerThreads.forEach { $0.start() }
        writer.start()
        for _ in 0..<(readers + 1) { XCTAssertEqual(finished.wait(timeout: .now() + timeout), .success) }
        return failures.messages
    }
}

/// Thread-safe list of failure messages. `@unchecked Sendable`: every access holds `lock`.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.lock(); list.append(message); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
