import Foundation
import FuteDB
import TestSupport
import XCTest

/// Search through the HNSW index: spaces above the exact-search threshold (2,000 allowed vectors).
final class IndexedSearchTests: XCTestCase {
    private let dimension = 8
    private let count = 2_500

    private func makeStore() throws -> (FuteDatabase, [[Float]]) {
        let db = try FuteDatabase(path: makeStorePath(self))
        var generator = TestRNG(seed: 99)
        let vectors = (0..<count).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) } }
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: dimension, metric: .l2, index: IndexParameters(m: 8, efConstruction: 48, efSearch: 64)))
            for (i, vector) in vectors.enumerated() {
                try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                try db.putEmbedding(space: "s", subject: "t\(i)", vector: vector)
            }
        }
        return (db, vectors)
    }

    func testIndexedSearchAgreesWithExactSearchAndStaysInStepWithWrites() throws {
        let (db, vectors) = try makeStore()
        XCTAssertEqual(try db.read { try $0.indexProblems(space: "s") }, [])
        XCTAssertEqual(try db.read { try $0.stats().spaces.first?.indexed }, count)

        var generator = TestRNG(seed: 5)
        let queries = (0..<20).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) } }
        var found = 0
        try db.read { db in
            for query in queries {
                let exact = try db.nearest(space: "s", vector: query, k: 10, exact: true)
                let approximate = try db.nearest(space: "s", vector: query, k: 10, ef: 100)
                found += Set(exact.map(\.name)).intersection(approximate.map(\.name)).count
                XCTAssertEqual(approximate.map(\.score), approximate.map(\.score).sorted(), "ascending squared L2")
            }
        }
        XCTAssertGreaterThanOrEqual(Double(found) / Double(queries.count * 10), 0.9, "recall@10")

        // Replace and remove: the index follows, within the same transaction too.
        let moved: [Float] = Array(repeating: 5, count: dimension)
        try db.write { db in
            try db.putEmbedding(space: "s", subject: "t1", vector: moved)
            XCTAssertTrue(try db.removeEmbedding(space: "s", subject: "t2"))
            XCTAssertTrue(try db.deleteSubject(named: "t3"))
            XCTAssertEqual(try db.nearest(space: "s", vector: moved, k: 1).first?.name, "t1", "a search inside the write sees its changes")
        }
        try db.read { db in
            XCTAssertEqual(try db.indexProblems(space: "s"), [])
            XCTAssertEqual(try db.stats().spaces.first?.indexed, count - 2)
            XCTAssertEqual(try db.nearest(space: "s", vector: moved, k: 1).first?.name, "t1")
            let nearTwo = try db.nearest(space: "s", vector: vectors[2], k: 5).map(\.name)
            XCTAssertFalse(nearTwo.contains("t2") || nearTwo.contains("t3"), "removed embeddings are not found")
            XCTAssertEqual(try db.nearest(space: "s", vector: vectors[4], k: 1, excluding: "t4").first?.name,
                           try db.nearest(space: "s", vector: vectors[4], k: 1, exact: true, excluding: "t4").first?.name)
        }

        // An aborted write leaves the index as it was.
        struct Abort: Error {}
        XCTAssertThrowsError(try db.write { db in
            try db.putEmbedding(space: "s", subject: "t5", vector: moved)
            _ = try db.nearest(space: "s", vector: moved, k: 1)  // applies the queued index change inside the transaction
            throw Abort()
        })
        XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: vectors[5], k: 1).first?.name }, "t5")
        XCTAssertEqual(try db.read { try $0.indexProblems(space: "s") }, [])

        try db.write { try $0.rebuildIndex(space: "s") }
        XCTAssertEqual(try db.read { try $0.indexProblems(space: "s") }, [])
        XCTAssertTrue(try db.write { try $0.removeSpace(named: "s") })
        try db.write { try $0.createSpace(Space(name: "s", dimension: dimension, metric: .l2)) }
        XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: moved, k: 3) }, [])
        XCTAssertEqual(try db.read { try $0.stats().spaces.first?.indexed }, 0, "the old graph was dropped")
    }

    func testReadOnlyHandleUsesTheIndex() throws {
        let path = makeStorePath(self)
        do {
            let db = try FuteDatabase(path: path)
            try db.write { db in
                try db.createSpace(Space(name: "s", dimension: 2))
                for i in 0..<10 {
                    try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                    try db.putEmbedding(space: "s", subject: "t\(i)", vector: [Float(i), 1])
                }
            }
        }
        var readOnly = Configuration()
        readOnly.readOnly = true
        let db = try FuteDatabase(path: path, configuration: readOnly)
        try db.read { db in
            XCTAssertEqual(try db.stats().spaces.first?.indexed, 10)
            XCTAssertEqual(try db.indexProblems(space: "s"), [])
            XCTAssertEqual(try db.nearest(space: "s", vector: [9, 1], k: 1).first?.name, "t9")
        }
    }
}
