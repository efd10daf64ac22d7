import Foundation
import FuteDB
import TestSupport
import XCTest

/// Issue 6, concurrency: readers (threads and processes) during a writer see consistent
/// snapshots and never fail; writers in two processes serialise; LMDB's reader-slot behaviour.
final class ConcurrencyTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws {
        scratch = try ScratchDirectory()
    }

    /// Problems seen on other threads, reported on the test thread.
    final class Problems: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var items: [String] = []
        private var counters: [String: Int] = [:]
        func add(_ text: String) { lock.lock(); if items.count < 20 { items.append(text) }; lock.unlock() }
        func count(_ name: String, _ n: Int = 1) { lock.lock(); counters[name, default: 0] += n; lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
        func counter(_ name: String) -> Int { lock.lock(); defer { lock.unlock() }; return counters[name] ?? 0 }
    }

    static let batch = 25
    static let dimension = 8

    func testThreadReadersSeeWholeBatchesAndStableSubjectsWhileAWriterCommits() throws {
        let path = scratch.path("threads")
        var configuration = Configuration()
        configuration.noSync = true  // durability is the crash harness's subject; this test is about snapshots
        let db = try FuteDatabase(path: path, configuration: configuration)
        let anchor: [Float] = [1, 0, 0, 0, 0, 0, 0, 0.5]
        try db.write { w in
            _ = try w.ensureSpace(Space(name: "s", dimension: Self.dimension, metric: .l2, index: IndexParameters(m: 8, efConstruction: 32)))
            try w.upsertSubject(Subject(name: "anchor", kind: .dataset))
            try w.putEmbedding(space: "s", subject: "anchor", vector: anchor)
        }
        let problems = Problems()
        let done = DispatchSemaphore(value: 0)
        let finished = ManagedFlag()
        let batches = 60
        // Writer: whole batches, one transaction each, on one thread.
        Thread.detachNewThread {
            var values = SplitMixValues(seed: 42)
            do {
                for b in 0..<batches {
                    let rows = values.vectors(count: Self.batch, dimension: Self.dimension)
                    try db.write { w in
                        for (i, row) in rows.enumerated() {
                            let name = "b\(b)-\(i)"
                            try w.upsertSubject(Subject(name: name, kind: .dataset))
                            try w.putEmbedding(space: "s", subject: name, vector: row)
                        }
                    }
                }
            } catch { problems.add("writer: \(error)") }
            finished.set()
            done.signal()
        }
        // Readers: until the writer is done, each snapshot must hold 1 + a whole number of batches,
        // counts agree with the records listed, the anchor is unchanged, search works, check is sound.
        let readers = 4
        for r in 0..<readers {
            Thread.detachNewThread {
                var last = 0
                repeat {
                    do {
                        try db.read { reader in
                            let count = try reader.count(in: "s")
                            let listed = try reader.embeddings(in: "s")
                            if count != listed.count { problems.add("reader \(r): count \(count) but \(listed.count) listed in one snapshot") }
                            if (count - 1) % Self.batch != 0 { problems.add("reader \(r): \(count) embeddings = 1 + a partial batch") }
                            if count < last { problems.add("reader \(r): count went back from \(last) to \(count)") }
                            last = count
                            if try reader.embedding(space: "s", subject: "anchor")?.vector != anchor { problems.add("reader \(r): anchor changed") }
                            let hits = try reader.nearest(space: "s", vector: anchor, k: 3, exact: r % 2 == 0)
                            if hits.first?.name != "anchor" { problems.add("reader \(r): nearest to the anchor is \(String(describing: hits.first))") }
                        }
                        problems.count("reads")
                        if r == 0 {
                            let report = try db.check()
                            if !report.isSound { problems.add("check during writes: \(report.findings.prefix(3))") }
                            problems.count("checks")
                        }
                    } catch { problems.add("reader \(r): \(error)") }
                } while !finished.isSet
                done.signal()
            }
        }
        for _ in 0...readers { XCTAssertEqual(done.wait(timeout: .now() + 120), .success, "threads did not finish in 120 s") }
        XCTAssertEqual(problems.all, [])
        XCTAssertGreaterThan(problems.counter("reads"), readers, "readers ran during the writes")
        XCTAssertEqual(try db.read { try $0.count(in: "s") }, 1 + batches * Self.batch)
        XCTAssertTrue(try db.check().isSound)
    }

    /// A set-once flag shared between threads.
    final class ManagedFlag: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }

    func testReaderProcessesDuringAnIngestProcessSeeWholeBatches() throws {
        let fute = try FuteProcess.locate()
        let db = scratch.path("processes")
        var values = SplitMixValues(seed: 5)
        let first = try scratch.write("first.jsonl", vectorLines(values.vectors(count: Self.batch, dimension: Self.dimension), prefix: "a"))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "s", "--batch-size", "\(Self.batch)", first]).status, 0)
        let big = try scratch.write("big.jsonl", vectorLines(values.vectors(count: 60 * Self.batch, dimension: Self.dimension), prefix: "b"))

        let writer = Process()
        writer.executableURL = fute.url
        writer.arguments = ["ingest", "--db", db, "--space", "s", "--batch-size", "\(Self.batch)", big]
        writer.standardOutput = FileHandle.nullDevice
        writer.standardError = FileHandle.nullDevice
        try writer.run()
        var observed: [Int] = []
        var failures: [String] = []
        var queries = 0
        // Reader processes, one after another in this thread and two at a time, until the writer exits.
        while writer.isRunning || observed.isEmpty {
            let stats = try fute.run(["stats", "--db", db, "--json"])
            let query = try fute.run(["query", "--db", db, "--space", "s", "--name", "a0", "-k", "3", "--json"])
            // check reads one snapshot: index key set == embedding set, every vector whole.
            let check = try fute.run(["check", "--db", db])
            if check.status != 0 && !check.stderr.contains("unknown command") { failures.append("check during ingest: \(check.stdout)") }
            queries += 1
            if stats.status != 0 { failures.append("stats: \(stats.stderr)") }
            if query.status != 0 { failures.append("query: \(query.stderr)") }
            if let object = try? JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any],
               let spaces = object["spaces"] as? [[String: Any]], let count = spaces.first?["embeddings"] as? Int {
                observed.append(count)
            } else if stats.status == 0 {
                failures.append("stats --json unreadable: \(stats.stdout)")
            }
            if failures.count > 5 { break }
        }
        writer.waitUntilExit()
        XCTAssertEqual(writer.terminationStatus, 0)
        XCTAssertEqual(failures, [])
        XCTAssertTrue(observed.allSatisfy { $0 % Self.batch == 0 }, "a reader saw a partial batch: \(observed)")
        XCTAssertEqual(observed, observed.sorted(), "counts went backwards: \(observed)")
        XCTAssertGreaterThan(queries, 1)
        let check = try fute.run(["check", "--db", db])
        if !check.stderr.contains("unknown command") { XCTAssertEqual(check.status, 0, check.stdout + check.stderr) }
    }

    func testTwoWriterProcessesSerialiseAndEveryBatchIsWhole() throws {
        let fute = try FuteProcess.locate()
        let db = scratch.path("writers")
        var values = SplitMixValues(seed: 8)
        let shared = (0..<200).map { "shared\($0)" }
        // Both writers write every shared name (different vectors) and their own names.
        func file(_ label: String) throws -> (String, [String: [Float]]) {
            var records: [String: [Float]] = [:]
            var lines = ""
            for name in shared + (0..<200).map({ "\(label)\($0)" }) {
                let vector = (0..<Self.dimension).map { _ in values.next() }
                records[name] = vector
                lines += "{\"name\": \"\(name)\", \"vector\": [\(vector.map { "\($0)" }.joined(separator: ", "))]}\n"
            }
            return (try scratch.write("\(label).jsonl", lines), records)
        }
        let (fileA, recordsA) = try file("a")
        let (fileB, recordsB) = try file("b")
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "s", "--metric", "l2", fileA, "--batch-size", "1000"]).status, 0)  // create the space
        var writers: [Process] = []
        for input in [fileA, fileB] {
            let writer = Process()
            writer.executableURL = fute.url
            writer.arguments = ["ingest", "--db", db, "--space", "s", "--batch-size", "20", input]
            writer.standardOutput = FileHandle.nullDevice
            writer.standardError = FileHandle.nullDevice
            writers.append(writer)
        }
        for writer in writers { try writer.run() }
        for writer in writers { writer.waitUntilExit(); XCTAssertEqual(writer.terminationStatus, 0) }

        let store = try FuteDatabase(path: db)
        let stored = try store.read { reader in
            Dictionary(uniqueKeysWithValues: try reader.embeddings(in: "s").map { ($0.subject, $0.vector) })
        }
        XCTAssertEqual(stored.count, 600)
        for (name, vector) in stored {
            let candidates = [recordsA[name], recordsB[name]].compactMap { $0 }
            XCTAssertTrue(candidates.contains(vector), "\(name) holds a vector neither writer wrote")
        }
        XCTAssertTrue(try store.check().isSound)
    }

    /// LMDB keeps every page a live reader's snapshot can see: while one read transaction stays
    /// open, commits cannot reuse freed pages and the file grows; once it ends, later commits
    /// reuse them. fute-db lends read transactions to closures only, so a reader cannot outlive
    /// its call; this test pins that behaviour and documents the cost of a long reader.
    func testALongReaderHoldsPagesAndTheFileStopsGrowingAfterItEnds() throws {
        let path = scratch.path("reader-slots")
        var configuration = Configuration()
        configuration.noSync = true  // page reuse does not depend on fsync; keeps the test fast
        let db = try FuteDatabase(path: path, configuration: configuration)
        @Sendable func rewrite(_ rounds: Int) throws {
            var values = SplitMixValues(seed: UInt64(rounds) &* 7919 &+ UInt64(Date().timeIntervalSince1970 * 1000))
            for _ in 0..<rounds {
                try db.write { w in
                    for i in 0..<50 {
                        if try w.subject(named: "r\(i)") == nil { try w.upsertSubject(Subject(name: "r\(i)", kind: .dataset)) }
                        try w.putEmbedding(space: "s", subject: "r\(i)", vector: (0..<64).map { _ in values.next() })
                    }
                }
            }
        }
        try db.write { w in _ = try w.ensureSpace(Space(name: "s", dimension: 64, metric: .l2, index: IndexParameters(m: 4, efConstruction: 8))) }
        try rewrite(20)
        let size = { (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0 }
        let steady = size()
        try rewrite(30)
        let afterShortReaders = size()
        // A reader that stays open across 30 rewrites of the same 50 records.
        let (grown, readerCount): (Int, Int) = try db.read { reader in
            let before = try reader.count(in: "s")
            let writerDone = DispatchSemaphore(value: 0)
            let box = Problems()
            Thread.detachNewThread {
                do { try rewrite(30) } catch { box.add("\(error)") }
                writerDone.signal()
            }
            writerDone.wait()
            XCTAssertEqual(box.all, [])
            XCTAssertEqual(try reader.count(in: "s"), before, "the old snapshot still reads")
            return (size(), before)
        }
        XCTAssertEqual(readerCount, 50)
        try rewrite(30)
        let afterRelease = size()
        print("reader-slots: data.mdb \(steady) B after 20 commits; \(afterShortReaders) B after 30 more with short readers; "
              + "\(grown) B after 30 more under one long reader; \(afterRelease) B after 30 more once it ended")
        XCTAssertLessThanOrEqual(afterShortReaders, steady + 64 * 1024, "short readers: pages are reused")
        XCTAssertGreaterThan(grown, afterShortReaders, "a long reader pins old pages, so the file grows")
        XCTAssertLessThanOrEqual(afterRelease, grown + 64 * 1024, "after the reader ends, pages are reused again")
        XCTAssertEqual(try db.checkStaleReaders(), 0)
    }
}
