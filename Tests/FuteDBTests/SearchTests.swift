import Foundation
import FuteDB
import TestSupport
import XCTest

final class SearchTests: XCTestCase {
    /// Independent expectation: scores in Double, best first, ties by insertion order.
    private func bruteForce(_ query: [Float], _ rows: [(name: String, vector: [Float])], metric: Metric, k: Int) -> [(String, Double)] {
        let scored = rows.enumerated().map { index, row -> (String, Double, Int) in
            let q = query.map(Double.init), x = row.vector.map(Double.init)
            let dot = zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }
            let score: Double
            switch metric {
            case .ip: score = dot
            case .l2: score = zip(q, x).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            case .cosine:
                let norms = (q.reduce(0) { $0 + $1 * $1 }).squareRoot() * (x.reduce(0) { $0 + $1 * $1 }).squareRoot()
                score = norms == 0 ? 0 : dot / norms
            }
            return (row.name, score, index)
        }
        let sorted = scored.sorted { a, b in
            if a.1 != b.1 { return metric == .l2 ? a.1 < b.1 : a.1 > b.1 }
            return a.2 < b.2
        }
        return sorted.prefix(k).map { ($0.0, $0.1) }
    }

    private func makeStore(metric: Metric, dimension: Int, count: Int, seed: UInt64) throws -> (FuteDatabase, [(name: String, vector: [Float])]) {
        let db = try FuteDatabase(path: makeStorePath(self))
        var generator = TestRNG(seed: seed)
        let rows = (0..<count).map { i in
            (name: "task-\(i)", vector: (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) })
        }
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: dimension, metric: metric))
            for (i, row) in rows.enumerated() {
                try db.upsertSubject(Subject(name: row.name, kind: i % 3 == 0 ? .model : .dataset))
                try db.putEmbedding(space: "s", subject: row.name, vector: row.vector)
            }
        }
        return (db, rows)
    }

    func testExactSearchMatchesBruteForceForEveryMetric() throws {
        for metric in Metric.allCases {
            let (db, rows) = try makeStore(metric: metric, dimension: 24, count: 300, seed: 42)
            var generator = TestRNG(seed: 7)
            for _ in 0..<5 {
                let query = (0..<24).map { _ in Float.random(in: -1...1, using: &generator) }
                let results = try db.read { try $0.nearest(space: "s", vector: query, k: 10, exact: true) }
                let expected = bruteForce(query, rows, metric: metric, k: 10)
                XCTAssertEqual(results.map(\.name), expected.map(\.0), "\(metric)")
                for (result, (_, score)) in zip(results, expected) {
                    XCTAssertEqual(result.score, score, accuracy: 1e-4 * max(1, abs(score)), "\(metric)")
                }
                // The default path (no index yet) gives the same answer.
                XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: query, k: 10) }.map(\.name), expected.map(\.0))
            }
        }
    }

    func testKindFilterAndExclusion() throws {
        let (db, rows) = try makeStore(metric: .cosine, dimension: 8, count: 60, seed: 3)
        let query = rows[5].vector
        let models = rows.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        let results = try db.read { try $0.nearest(space: "s", vector: query, k: 5, kind: .model, exact: true) }
        XCTAssertEqual(results.map(\.name), bruteForce(query, models, metric: .cosine, k: 5).map(\.0))
        XCTAssertTrue(results.allSatisfy { $0.kind == .model })

        let withoutSelf = try db.read { try $0.nearest(space: "s", to: "task-5", k: 4) }
        let others = rows.filter { $0.name != "task-5" }
        XCTAssertEqual(withoutSelf.map(\.name), bruteForce(query, others, metric: .cosine, k: 4).map(\.0))
        XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: query, k: 1) }.first?.name, "task-5")
    }

    func testKindFilterSeesSubjectChangesInsideOneWrite() throws {
        let (db, rows) = try makeStore(metric: .cosine, dimension: 8, count: 30, seed: 4)
        let query = rows[1].vector
        try db.write { w in
            // The first filtered search files subjects by kind; later ones in the same transaction must see edits.
            let before = try w.nearest(space: "s", vector: query, k: 30, kind: .model, exact: true).map(\.name)
            XCTAssertEqual(Set(before), Set(rows.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.name)))
            XCTAssertFalse(before.contains("task-1"))
            try w.upsertSubject(Subject(name: "task-1", kind: .model))  // dataset → model
            XCTAssertEqual(try w.nearest(space: "s", vector: query, k: 1, kind: .model, exact: true).first?.name, "task-1")
            XCTAssertTrue(try w.deleteSubject(named: "task-1"))
            let after = try w.nearest(space: "s", vector: query, k: 30, kind: .model, exact: true).map(\.name)
            XCTAssertEqual(Set(after), Set(before))
        }
        // A later read transaction starts from the committed state.
        let committed = try db.read { try $0.nearest(space: "s", vector: query, k: 30, kind: .model, exact: true) }.map(\.name)
        XCTAssertEqual(Set(committed), Set(rows.enumerated().filter { $0.offset % 3 == 0 }.map(\.element.name)))
    }

    func testBatchSearchMatchesBruteForce() throws {
        let (db, rows) = try makeStore(metric: .l2, dimension: 16, count: 200, seed: 11)
        var generator = TestRNG(seed: 5)
        let queries = (0..<20).map { _ in (0..<16).map { _ in Float.random(in: -1...1, using: &generator) } }
        let results = try db.read { try $0.nearest(space: "s", vectors: queries, k: 5) }
        XCTAssertEqual(results.count, 20)
        for (query, result) in zip(queries, results) {
            let expected = bruteForce(query, rows, metric: .l2, k: 5)
            XCTAssertEqual(result.map(\.name), expected.map(\.0))
            for (r, e) in zip(result, expected) { XCTAssertEqual(r.score, e.1, accuracy: 1e-3) }
        }
    }

    func testSpacesAreNeverMixed() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        try db.write { db in
            try db.createSpace(Space(name: "textemb", dimension: 2))
            try db.createSpace(Space(name: "dte", dimension: 2))
            for name in ["a", "b", "c"] { try db.upsertSubject(Subject(name: name, kind: .dataset)) }
            try db.putEmbedding(space: "textemb", subject: "a", vector: [1, 0])
            try db.putEmbedding(space: "dte", subject: "b", vector: [1, 0])
            try db.putEmbedding(space: "dte", subject: "c", vector: [0, 1])
        }
        XCTAssertEqual(try db.read { try $0.nearest(space: "textemb", vector: [1, 0], k: 10) }.map(\.name), ["a"])
        XCTAssertEqual(try db.read { try $0.nearest(space: "dte", vector: [1, 0], k: 10) }.map(\.name), ["b", "c"])
        assertFuteError(.notFound, field: "subject", try db.read { try $0.nearest(space: "dte", to: "a", k: 1) })
        XCTAssertThrowsError(try db.read { try $0.nearest(space: "dte", to: "a", k: 1) }) {
            XCTAssertTrue("\($0)".contains("textemb"), "the message names the space that holds it: \($0)")
        }
    }

    func testQueryValidation() throws {
        let (db, _) = try makeStore(metric: .cosine, dimension: 4, count: 3, seed: 1)
        assertFuteError(.dimensionMismatch, field: "vector", try db.read { try $0.nearest(space: "s", vector: [1, 2], k: 1) })
        assertFuteError(.invalidArgument, field: "vector", try db.read { try $0.nearest(space: "s", vector: [1, 2, .nan, 4], k: 1) })
        assertFuteError(.invalidArgument, field: "k", try db.read { try $0.nearest(space: "s", vector: [1, 2, 3, 4], k: 0) })
        assertFuteError(.invalidArgument, field: "ef", try db.read { try $0.nearest(space: "s", vector: [1, 2, 3, 4], k: 1, ef: 0) })
        assertFuteError(.notFound, field: "space", try db.read { try $0.nearest(space: "zz", vector: [1, 2, 3, 4], k: 1) })
        assertFuteError(.invalidArgument, field: "vectors[1]", try db.read { try $0.nearest(space: "s", vectors: [[1, 2, 3, 4], [1, 2, 3, .infinity]], k: 1) })
        XCTAssertEqual(try db.read { try $0.nearest(space: "s", vector: [1, 2, 3, 4], k: 50) }.count, 3)
    }
}
