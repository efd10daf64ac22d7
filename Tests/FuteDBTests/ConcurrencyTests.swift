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
        let failures = FailureLog()
        let writerDone = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let readers = 3
        let writer = Thread {
            do {
                for b in 0..<batches {
                    try db.write { db in
                        for i in 0..<batch {
                            let name = "t\(b * batch + i)"
                            try db.upsertSubject(Subject(name: name, kind: .dataset))
                            try db.putEmbedding(space: "s", subject: name, vector: [Float(b), Float(i), 1, 0])
                        }
                    }
                }
            } catch { failures.add("writer: \(error)") }
            for _ in 0..<readers { writerDone.signal() }
            finished.signal()
        }
        let readerThreads = (0..<readers).map { r in
            Thread {
                var last = 0
                var done = false
                while !done {
                    done = writerDone.wait(timeout: .now()) == .success
                    do {
                        try db.read { db in
                            let count = try db.count(in: "s")
                            let subjects = try db.subjects().count
                            let found = try db.nearest(space: "s", vector: [1, 1, 1, 0], k: 1000, exact: true).count
                            if count % batch != 0 || subjects != count || found != count || count < last {
                                failures.add("reader \(r): count \(count), subjects \(subjects), found \(found), previous \(last)")
                            }
                            last = count
                        }
                    } catch { failures.add("reader \(r): \(error)"); done = true }
                }
                finished.signal()
            }
        }
        readerThreads.forEach { $0.start() }
        writer.start()
        for _ in 0..<(readers + 1) { XCTAssertEqual(finished.wait(timeout: .now() + 60), .success) }
        XCTAssertEqual(failures.messages, [])
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
        let failures = FailureLog()
        let writerDone = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let readers = 2
        let writer = Thread {
            do {
                for b in 0..<batches {
                    try db.write { db in
                        for i in 0..<batch {
                            let index = initial + b * batch + i
                            try db.upsertSubject(Subject(name: "t\(index)", kind: .dataset))
                            try db.putEmbedding(space: "s", subject: "t\(index)", vector: vectors[index])
                        }
                    }
                }
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
                        try db.read { db in
                            let count = try db.count(in: "s")
                            let newest = "t\(count - 1)"
                            let found = try db.nearest(space: "s", vector: vectors[count - 1], k: 10).map(\.name)
                            if (count - initial) % batch != 0 || count < last || !found.contains(newest) {
                                failures.add("reader \(r): count \(count), previous \(last), \(newest) not among \(found)")
                            }
                            last = count
                        }
                    } catch { failures.add("reader \(r): \(error)"); done = true }
                }
                finished.signal()
            }
        }
        readerThreads.forEach { $0.start() }
        writer.start()
        for _ in 0..<(readers + 1) { XCTAssertEqual(finished.wait(timeout: .now() + 120), .success) }
        XCTAssertEqual(failures.messages, [])
        try db.read { db in
            XCTAssertEqual(try db.count(in: "s"), initial + batch * batches)
            XCTAssertEqual(try db.nearest(space: "s", vector: vectors[initial + 5], k: 1).map(\.name), ["t\(initial + 5)"])
        }
    }
}

/// Thread-safe list of failure messages. `@unchecked Sendable`: every access holds `lock`.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.lock(); list.append(message); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
