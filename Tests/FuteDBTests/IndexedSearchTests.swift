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

    /// A cosine space's graph stores halves (on a CPU with F16C; Floats elsewhere, where this
    /// checks the same thing): its hits come back with the exact scores of the Float embeddings,
    /// bit for bit what exact search gives the same subjects, in descending order, and its recall
    /// is that of the same graph over Floats (hard data: uniform random 64-d vectors).
    func testHalfPrecisionGraphHitsCarryExactScores() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        var generator = TestRNG(seed: 17)
        let d = 64
        let vectors = (0..<count).map { _ in (0..<d).map { _ in Float.random(in: -1...1, using: &generator) } }
        try db.write { db in
            try db.createSpace(Space(name: "c", dimension: d, metric: .cosine, index: IndexParameters(m: 12, efConstruction: 64)))
            try db.createSpace(Space(name: "f", dimension: d, metric: .cosine, index: IndexParameters(m: 12, efConstruction: 64, encoding: .float32)))
            for (i, vector) in vectors.enumerated() {
                try db.upsertSubject(Subject(name: "t\(i)", kind: .dataset))
                try db.putEmbedding(space: "c", subject: "t\(i)", vector: vector)
                try db.putEmbedding(space: "f", subject: "t\(i)", vector: vector)
            }
        }
        XCTAssertEqual(try db.read { try $0.indexProblems(space: "c") }, [])
        var found = ["c": 0, "f": 0]
        try db.read { db in
            for q in 0..<20 {
                let query = (0..<d).map { _ in Float.random(in: -1...1, using: &generator) }
                let exact = try db.nearest(space: "c", vector: query, k: 10, exact: true)
                let exactScores = Dictionary(uniqueKeysWithValues: try db.nearest(space: "c", vector: query, k: count, exact: true).map { ($0.name, $0.score) })
                for space in ["c", "f"] {
                    let approximate = try db.nearest(space: space, vector: query, k: 10, ef: 100)
                    for hit in approximate {
                        // Re-scored halves: exact; Floats: the graph's 1 − dot of unit vectors, within rounding.
                        XCTAssertEqual(hit.score, try XCTUnwrap(exactScores[hit.name]), accuracy: space == "c" ? 0 : 1e-5, "\(space): query \(q), \(hit.name)")
                    }
                    XCTAssertEqual(approximate.map(\.score), approximate.map(\.score).sorted(by: >), "descending cosine similarity")
                    found[space, default: 0] += Set(exact.map(\.name)).intersection(approximate.map(\.name)).count
                }
            }
        }
        let recallHalf = Double(found["c"]!) / 200, recallFloat = Double(found["f"]!) / 200
        XCTAssertGreaterThanOrEqual(recallFloat, 0.85, "recall@10 over Floats")
        XCTAssertGreaterThanOrEqual(recallHalf, recallFloat - 0.02, "recall@10 over halves vs Floats")
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
