import Foundation
import FuteDB
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
}

/// Thread-safe list of failure messages. `@unchecked Sendable`: every access holds `lock`.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ message: String) { lock.lock(); list.append(message); lock.unlock() }
    var messages: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
