import Foundation
import FuteDB
import XCTest

/// `nearest` through the HNSW index (spaces above the exact-search limit), kept in step with
/// puts and removals in the same transactions.
final class IndexIntegrationTests: XCTestCase {
    let dimension = 12, count = 1_500

    private func vectors(seed: UInt64) -> [[Float]] {
        var generator = SeededGenerator(state: seed)
        let centres = (0..<15).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) } }
        return (0..<count).map { i in centres[i % 15].map { $0 + Float.random(in: -0.3...0.3, using: &generator) } }
    }

    private func fill(_ db: FuteDatabase, _ rows: [[Float]], metric: Metric) throws {
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: dimension, metric: metric))
            for (i, v) in rows.enumerated() {
                try db.upsertSubject(Subject(name: "t\(i)", kind: i % 4 == 0 ? .model : .dataset))
                try db.putEmbedding(space: "s", subject: "t\(i)", vector: v)
            }
        }
    }

    func testIndexedNearestAgreesWithExactSearch() throws {
        for metric in [Metric.cosine, .l2] {
            let path = makeStorePath(self)
            let rows = vectors(seed: 3)
            try fill(try FuteDatabase(path: path), rows, metric: metric)
            // A fresh handle: the index databases are opened at init, searched in place.
            let db = try FuteDatabase(path: path)
            var hits = 0, total = 0
            for q in rows.prefix(40) {
                let approximate = try db.read { try $0.nearest(space: "s", vector: q, k: 10, ef: 64) }
                let exact = try db.read { try $0.nearest(space: "s", vector: q, k: 10, exact: true) }
                XCTAssertEqual(approximate.first?.name, exact.first?.name, "\(metric)")
                hits += Set(approximate.map(\.name)).intersection(exact.map(\.name)).count
                total += exact.count
            }
            XCTAssertGreaterThan(Double(hits) / Double(total), 0.95, "\(metric) recall@10")
        }
    }

    func testRemovedAndReplacedEmbeddingsAreFollowedByTheIndex() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        let rows = vectors(seed: 5)
        try fill(db, rows, metric: .l2)
        try db.write { db in
            for i in stride(from: 0, to: count, by: 2) { XCTAssertTrue(try db.removeEmbedding(space: "s", subject: "t\(i)")) }
            // t1 moves onto t3's vector.
            try db.putEmbedding(space: "s", subject: "t1", vector: rows[3])
        }
        try db.read { db in
            for i in stride(from: 0, to: 200, by: 2) {
                let results = try db.nearest(space: "s", vector: rows[i], k: 5)
                XCTAssertFalse(results.contains { $0.name == "t\(i)" }, "removed t\(i) returned")
                XCTAssertTrue(results.allSatisfy { Int($0.name.dropFirst())! % 2 == 1 })
            }
            let moved = try db.nearest(space: "s", vector: rows[3], k: 2)
            XCTAssertEqual(Set(moved.map(\.name)), ["t1", "t3"])
            XCTAssertEqual(moved.map(\.score), [0, 0])
        }
    }

    func testKindFilterAndExclusionThroughIndex() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        let rows = vectors(seed: 7)
        try fill(db, rows, metric: .cosine)
        try db.read { db in
            for i in 0..<20 {
                let models = try db.nearest(space: "s", vector: rows[i], k: 5, kind: .model, excluding: "t\(i)")
                XCTAssertEqual(models.count, 5)
                XCTAssertTrue(models.allSatisfy { Int($0.name.dropFirst())! % 4 == 0 && $0.name != "t\(i)" })
                let exact = try db.nearest(space: "s", vector: rows[i], k: 5, kind: .model, exact: true, excluding: "t\(i)")
                XCTAssertGreaterThanOrEqual(Set(models.map(\.name)).intersection(exact.map(\.name)).count, 4)
            }
        }
    }

    func testRemovingASpaceDropsItsIndex() throws {
        let path = makeStorePath(self)
        let db = try FuteDatabase(path: path)
        try fill(db, vectors(seed: 9), metric: .l2)
        try db.write { db in _ = try db.removeSpace(named: "s") }
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 3, metric: .l2))
            try db.putEmbedding(space: "s", subject: "t1", vector: [1, 2, 3])
        }
        XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: [1, 2, 3], k: 3) }.map(\.name), ["t1"])
    }
}
