import Foundation
import TestSupport
import XCTest
@testable import FuteDB

/// Example spaces and example-level transfer retrieval, against brute force.
final class ExampleRetrievalTests: XCTestCase {
    /// Unit vectors of dimension 8 around a per-dataset direction, so datasets differ in how near they are.
    func examples(center: Int, count: Int, spread: Float, rng: inout TestRNG) -> [[Float]] {
        (0..<count).map { _ in
            var v = (0..<8).map { _ in Float.random(in: -spread...spread, using: &rng) }
            v[center % 8] += 1
            v[(center + 1) % 8] += Float(center) / 10
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / norm }
        }
    }

    func makeStore(datasets: [String: [[Float]]]) throws -> FuteDatabase {
        let database = try FuteDatabase(path: makeStorePath(self))
        try database.write { writer in
            try writer.createSpace(Space(name: "tasks", dimension: 8))
            for (name, vectors) in datasets.sorted(by: { $0.key < $1.key }) {
                try writer.upsertSubject(Subject(name: name, kind: .dataset))
                var mean = [Float](repeating: 0, count: 8)
                for v in vectors { for i in 0..<8 { mean[i] += v[i] / Float(vectors.count) } }
                try writer.putEmbedding(space: "tasks", subject: name, vector: mean, kind: .textemb)
                try writer.putExamples(space: "tasks", dataset: name, vectors: vectors)
            }
        }
        return database
    }

    /// Exact: mean over the target's examples of the mean of the `m` best cosines to the source's examples.
    func bruteForce(target: [[Float]], source: [[Float]], m: Int) -> Double {
        var total = 0.0
        for q in target {
            let sims = source.map { x in Double(zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }) }.sorted(by: >)
            total += sims.prefix(m).reduce(0, +) / Double(m)
        }
        return total / Double(target.count)
    }

    func testSimilaritiesEqualBruteForceWhenTheDepthCoversEveryExample() throws {
        var rng = TestRNG(seed: 7)
        var datasets: [String: [[Float]]] = [:]
        for (index, name) in ["t", "a", "b", "c", "d"].enumerated() {
            datasets[name] = examples(center: index, count: 20 + index, spread: 0.6, rng: &rng)
        }
        let database = try makeStore(datasets: datasets)
        let retrieval = ExampleRetrieval(perSource: 3, depth: 200)  // ≥ every other example: no padding
        let scores = try database.read { reader in
            try retrieval.similarities(space: "tasks", target: "t", candidates: ["a", "b", "c", "d", "t"], in: reader)
        }
        let got = try XCTUnwrap(scores)
        XCTAssertEqual(Set(got.keys), ["a", "b", "c", "d"], "the target is never its own candidate")
        for name in ["a", "b", "c", "d"] {
            XCTAssertEqual(got[name]!, bruteForce(target: datasets["t"]!, source: datasets[name]!, m: 3), accuracy: 1e-5, name)
        }
        // The per-example search path (used above `exactLimit`) gives the same similarities.
        let perExample = try XCTUnwrap(try database.read { reader in
            try ExampleRetrieval(perSource: 3, depth: 200, exactLimit: 0)
                .similarities(space: "tasks", target: "t", candidates: ["a", "b", "c", "d"], in: reader)
        })
        for name in ["a", "b", "c", "d"] { XCTAssertEqual(perExample[name]!, got[name]!, accuracy: 1e-5, name) }
        // The ranking of the query layer follows those similarities and says so.
        let ranking = try database.read { try $0.transferSources(space: "tasks", target: "t", k: 10) }
        XCTAssertEqual(ranking.similarity, .exampleRetrieval)
        XCTAssertEqual(ranking.rows.map(\.source), ["a", "b", "c", "d"].sorted { got[$0]! > got[$1]! })
        let plain = try database.read { try $0.transferSources(space: "tasks", target: "t", k: 10, retrieval: nil) }
        XCTAssertEqual(plain.similarity, .cosine)
    }

    func testShallowRetrievalPadsMissingExamplesWithTheDepththSimilarity() throws {
        var rng = TestRNG(seed: 11)
        var datasets: [String: [[Float]]] = [:]
        for (index, name) in ["t", "a", "b"].enumerated() { datasets[name] = examples(center: index * 3, count: 15, spread: 0.3, rng: &rng) }
        let database = try makeStore(datasets: datasets)
        // Through the index (exactLimit 0): each target example sees only its 5 nearest.
        let retrieval = ExampleRetrieval(perSource: 4, depth: 5, exactLimit: 0)
        let got = try XCTUnwrap(try database.read { reader in
            try retrieval.similarities(space: "tasks", target: "t", candidates: ["a", "b"], in: reader)
        })
        // Independent computation with exact neighbours (the index is exact at this size and ef).
        var expected: [String: Double] = ["a": 0, "b": 0]
        for q in datasets["t"]! {
            var pool: [(String, Double)] = []
            for name in ["a", "b"] {
                for x in datasets[name]! { pool.append((name, Double(zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }))) }
            }
            pool.sort { $0.1 > $1.1 }
            let top = pool.prefix(5)
            let floor = top.last!.1
            for name in ["a", "b"] {
                let mine = top.filter { $0.0 == name }.prefix(4).map(\.1)
                expected[name]! += (mine.reduce(0, +) + Double(4 - mine.count) * floor) / 4
            }
        }
        for name in ["a", "b"] { XCTAssertEqual(got[name]!, expected[name]! / 15, accuracy: 1e-5, name) }
        // The exact search has no depth: the same settings give the definition, unpadded.
        let exact = try XCTUnwrap(try database.read { reader in
            try ExampleRetrieval(perSource: 4, depth: 5).similarities(space: "tasks", target: "t", candidates: ["a", "b"], in: reader)
        })
        for name in ["a", "b"] {
            XCTAssertEqual(exact[name]!, bruteForce(target: datasets["t"]!, source: datasets[name]!, m: 4), accuracy: 1e-5, name)
            XCTAssertNotEqual(exact[name]!, got[name]!, accuracy: 1e-6, "\(name): padding changed nothing, so this test checks nothing")
        }
    }

    /// In the exact search a candidate without examples ranks with the lowest of those that have
    /// them; one with fewer than `perSource` examples is scored on what it has.
    func testExactSearchScoresCandidatesWithoutOrWithFewExamples() throws {
        var rng = TestRNG(seed: 13)
        let datasets = ["t": examples(center: 0, count: 12, spread: 0.4, rng: &rng),
                        "a": examples(center: 1, count: 2, spread: 0.4, rng: &rng),
                        "b": examples(center: 4, count: 9, spread: 0.4, rng: &rng)]
        let database = try makeStore(datasets: datasets)
        try database.write { writer in
            try writer.upsertSubject(Subject(name: "bare", kind: .dataset))
            try writer.putEmbedding(space: "tasks", subject: "bare", vector: [Float](repeating: 0.3, count: 8), kind: .textemb)
        }
        let got = try XCTUnwrap(try database.read { reader in
            try ExampleRetrieval(perSource: 5).similarities(space: "tasks", target: "t", candidates: ["a", "b", "bare"], in: reader)
        })
        XCTAssertEqual(got["a"]!, bruteForce(target: datasets["t"]!, source: datasets["a"]!, m: 2), accuracy: 1e-5)
        XCTAssertEqual(got["b"]!, bruteForce(target: datasets["t"]!, source: datasets["b"]!, m: 5), accuracy: 1e-5)
        XCTAssertEqual(got["bare"]!, min(got["a"]!, got["b"]!))
    }

    func testExamplesAreReplacedAndDeletedWithTheirDataset() throws {
        var rng = TestRNG(seed: 3)
        let database = try makeStore(datasets: ["a": examples(center: 0, count: 6, spread: 0.5, rng: &rng),
                                                "b": examples(center: 2, count: 4, spread: 0.5, rng: &rng)])
        let fewer = examples(center: 1, count: 3, spread: 0.5, rng: &rng)
        try database.write { try $0.putExamples(space: "tasks", dataset: "a", vectors: fewer) }
        try database.read { reader in
            XCTAssertEqual(try reader.exampleSubjects(of: "a"), ["a#0", "a#1", "a#2"])
            XCTAssertEqual(try reader.exampleVectors(space: "tasks", dataset: "a"), fewer)
            XCTAssertEqual(try reader.subject(named: "a#0")?.kind, .example)
            XCTAssertEqual(try reader.count(in: ExampleSpaces.name(of: "tasks")), 7)
        }
        try database.write { XCTAssertTrue(try $0.deleteSubject(named: "a")) }
        try database.read { reader in
            XCTAssertEqual(try reader.exampleSubjects(of: "a"), [])
            XCTAssertEqual(try reader.count(in: ExampleSpaces.name(of: "tasks")), 4, "b's examples stay")
            XCTAssertEqual(try reader.stats().subjects[.example], 4)
        }
    }

    func testPutExamplesRefusesWhatItCannotStore() throws {
        var rng = TestRNG(seed: 5)
        let database = try makeStore(datasets: ["a": examples(center: 0, count: 2, spread: 0.5, rng: &rng)])
        try database.write { writer in
            assertFuteError(.notFound, field: "subject", try writer.putExamples(space: "tasks", dataset: "nobody", vectors: [[1]]))
            assertFuteError(.notFound, field: "space", try writer.putExamples(space: "nowhere", dataset: "a", vectors: [[1]]))
            assertFuteError(.invalidArgument, field: "vectors", try writer.putExamples(space: "tasks", dataset: "a", vectors: []))
            assertFuteError(.dimensionMismatch, try writer.putExamples(space: "tasks", dataset: "a", vectors: [[Float](repeating: 0.1, count: 8), [1]]))
            try writer.upsertSubject(Subject(name: "b#0", kind: .dataset))
            try writer.upsertSubject(Subject(name: "b", kind: .dataset))
            try writer.putEmbedding(space: "tasks", subject: "b", vector: [Float](repeating: 0.1, count: 8))
            assertFuteError(.conflict, field: "subject", try writer.putExamples(space: "tasks", dataset: "b", vectors: [[Float](repeating: 0.1, count: 8)]))
        }
    }
}
