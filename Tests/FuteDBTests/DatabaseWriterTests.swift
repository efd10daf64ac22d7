import Foundation
import FuteDB
import XCTest

final class DatabaseWriterTests: XCTestCase {
    private func makeStore() throws -> FuteDatabase { try FuteDatabase(path: makeStorePath(self)) }

    func testRecordsRoundTrip() throws {
        let db = try makeStore()
        let space = Space(name: "fute-dte", dimension: 4, metric: .l2,
                          provenance: Provenance(method: "fute-dte", encoder: "all-MiniLM-L6-v2", encoderChecksum: "sha256:abc", seed: 7, extra: ["r": "128"]),
                          index: IndexParameters(m: 8, efConstruction: 100, efSearch: 32))
        let metadata: JSONValue = ["family": "nli", "examples": 300, "ratio": 0.5, "balanced": true, "labels": ["yes", "no"], "note": nil,
                                   "nested": ["prompt": "Classify: {text}"]]
        let createdAt = Date(timeIntervalSince1970: 1_700_000_000.123)
        try db.write { db in
            try db.createSpace(space)
            try db.upsertSubject(Subject(name: "mnli", kind: .dataset, metadata: metadata))
            try db.upsertSubject(Subject(name: "gpt-2 + prompt ✓", kind: .model))
            try db.putEmbedding(space: "fute-dte", subject: "mnli", vector: [1.5, -2, 0, Float.leastNonzeroMagnitude], kind: .dte, createdAt: createdAt)
            try db.putEmbedding(space: "fute-dte", subject: "gpt-2 + prompt ✓", vector: [0, 0, 0, 1], kind: .mte)
            try db.addObservation(TransferObservation(source: "gpt-2 + prompt ✓", target: "mnli", score: -0.25))
        }
        try db.read { db in
            // The record names the index encoding chosen at creation (float32 for l2).
            var stored = space
            stored.index.encoding = .float32
            XCTAssertEqual(try db.space(named: "fute-dte"), stored)
            XCTAssertEqual(try db.subject(named: "mnli"), Subject(name: "mnli", kind: .dataset, metadata: metadata))
            XCTAssertEqual(try db.subjects().map(\.name), ["gpt-2 + prompt ✓", "mnli"])
            XCTAssertEqual(try db.subjects(kind: .model).map(\.name), ["gpt-2 + prompt ✓"])
            let embedding = try db.embedding(space: "fute-dte", subject: "mnli")
            XCTAssertEqual(embedding?.vector, [1.5, -2, 0, Float.leastNonzeroMagnitude])
            XCTAssertEqual(embedding?.kind, .dte)
            XCTAssertEqual(embedding?.createdAt.timeIntervalSince1970 ?? 0, 1_700_000_000.123, accuracy: 0.0005)
            XCTAssertEqual(try db.embeddings(in: "fute-dte").map(\.subject), ["mnli", "gpt-2 + prompt ✓"])
            XCTAssertEqual(try db.count(in: "fute-dte"), 2)
            XCTAssertEqual(try db.observations(), [TransferObservation(source: "gpt-2 + prompt ✓", target: "mnli", metric: "score", score: -0.25)])
            XCTAssertNil(try db.embedding(space: "fute-dte", subject: "unknown"))
            XCTAssertNil(try db.subject(named: "unknown"))
        }
    }

    func testReputtingAnEmbeddingReplacesIt() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 2))
            try db.upsertSubject(Subject(name: "a", kind: .dataset))
            try db.putEmbedding(space: "s", subject: "a", vector: [1, 0], kind: .raw)
        }
        try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: [0, 1], kind: .textemb) }
        try db.read { db in
            XCTAssertEqual(try db.count(in: "s"), 1)
            XCTAssertEqual(try db.embedding(space: "s", subject: "a")?.vector, [0, 1])
            XCTAssertEqual(try db.embedding(space: "s", subject: "a")?.kind, .textemb)
            XCTAssertEqual(try db.nearest(space: "s", vector: [0, 1], k: 5, exact: true).map(\.name), ["a"])
        }
    }

    func testUpsertSubjectReplacesKindAndMetadataButKeepsEmbeddings() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 1))
            try db.upsertSubject(Subject(name: "a", kind: .dataset, metadata: ["v": 1]))
            try db.putEmbedding(space: "s", subject: "a", vector: [1])
            try db.upsertSubject(Subject(name: "a", kind: .model, metadata: ["v": 2]))
        }
        try db.read { db in
            XCTAssertEqual(try db.subject(named: "a"), Subject(name: "a", kind: .model, metadata: ["v": 2]))
            XCTAssertEqual(try db.subjects().count, 1)
            XCTAssertEqual(try db.embedding(space: "s", subject: "a")?.vector, [1])
            XCTAssertEqual(try db.stats().subjects, [.dataset: 0, .model: 1, .example: 0])
        }
    }

    func testObservationsReplaceByKeyAndFilterByTarget() throws {
        let db = try makeStore()
        try db.write { db in
            for name in ["a", "b", "c"] { try db.upsertSubject(Subject(name: name, kind: .dataset)) }
            try db.addObservation(TransferObservation(source: "a", target: "b", score: 1))
            try db.addObservation(TransferObservation(source: "a", target: "b", score: 2))
            try db.addObservation(TransferObservation(source: "a", target: "b", metric: "f1", score: 3))
            try db.addObservation(TransferObservation(source: "b", target: "c", score: 4))
        }
        try db.read { db in
            XCTAssertEqual(try db.observations().count, 3)
            XCTAssertEqual(try db.observations(target: "b"), [TransferObservation(source: "a", target: "b", metric: "f1", score: 3),
                                                              TransferObservation(source: "a", target: "b", metric: "score", score: 2)])
            XCTAssertEqual(try db.observations(target: "zzz"), [])
        }
        assertFuteError(.notFound, field: "source", try db.write { try $0.addObservation(TransferObservation(source: "x", target: "a", score: 1)) })
        XCTAssertTrue(try db.write { try $0.removeObservation(source: "b", target: "c") })
        XCTAssertEqual(try db.read { try $0.observations().count }, 2)
    }

    func testDeleteSubjectRemovesItsEmbeddingsAndObservations() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "s1", dimension: 1))
            try db.createSpace(Space(name: "s2", dimension: 2))
            for name in ["a", "b"] { try db.upsertSubject(Subject(name: name, kind: .dataset)) }
            try db.putEmbedding(space: "s1", subject: "a", vector: [1])
            try db.putEmbedding(space: "s2", subject: "a", vector: [1, 1])
            try db.putEmbedding(space: "s1", subject: "b", vector: [2])
            try db.addObservation(TransferObservation(source: "a", target: "b", score: 1))
            try db.addObservation(TransferObservation(source: "b", target: "a", score: 1))
        }
        XCTAssertEqual(try db.read { try $0.spaces(of: "a") }, ["s1", "s2"])
        XCTAssertTrue(try db.write { try $0.deleteSubject(named: "a") })
        XCTAssertFalse(try db.write { try $0.deleteSubject(named: "a") })
        try db.read { db in
            XCTAssertNil(try db.subject(named: "a"))
            XCTAssertEqual(try db.count(in: "s1"), 1)
            XCTAssertEqual(try db.count(in: "s2"), 0)
            XCTAssertEqual(try db.observations(), [])
            XCTAssertEqual(try db.stats().subjects[.dataset], 1)
        }
        // The name can be reused afterwards.
        try db.write { try $0.upsertSubject(Subject(name: "a", kind: .model)) }
        XCTAssertNil(try db.read { try $0.embedding(space: "s1", subject: "a") })
    }

    func testRemoveEmbeddingAndRemoveSpace() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 1))
            try db.createSpace(Space(name: "t", dimension: 1))
            try db.upsertSubject(Subject(name: "a", kind: .dataset))
            try db.putEmbedding(space: "s", subject: "a", vector: [1])
            try db.putEmbedding(space: "t", subject: "a", vector: [1])
        }
        XCTAssertEqual(try db.write { [try $0.removeEmbedding(space: "s", subject: "a"), try $0.removeEmbedding(space: "s", subject: "a")] }, [true, false])
        XCTAssertTrue(try db.write { try $0.removeSpace(named: "t") })
        try db.read { db in
            XCTAssertEqual(try db.spaces().map(\.name), ["s"])
            XCTAssertNotNil(try db.subject(named: "a"))
            XCTAssertEqual(try db.spaces(of: "a"), [])
        }
        // A new space never sees embeddings of a removed one (ids are not reused).
        try db.write { try $0.createSpace(Space(name: "t", dimension: 1)) }
        XCTAssertEqual(try db.read { try $0.count(in: "t") }, 0)
    }

    func testEnsureSpaceReusesMatchingAndRejectsDifferentDefinitions() throws {
        let db = try makeStore()
        let space = Space(name: "s", dimension: 3, metric: .cosine, provenance: Provenance(method: "textemb"))
        try db.write { try $0.ensureSpace(space) }
        var searchOnly = space
        searchOnly.index.efSearch = 500
        try db.write { try $0.ensureSpace(searchOnly) }
        var other = space
        other.dimension = 4
        assertFuteError(.conflict, field: "space", try db.write { try $0.ensureSpace(other) })
        other = space
        other.provenance.seed = 1
        assertFuteError(.conflict, try db.write { try $0.ensureSpace(other) })
        assertFuteError(.conflict, try db.write { try $0.createSpace(space) })
    }

    func testValidationNamesTheField() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "s", dimension: 3))
            try db.upsertSubject(Subject(name: "a", kind: .dataset))
        }
        let longName = String(repeating: "é", count: 256)  // 512 UTF-8 bytes
        assertFuteError(.invalidArgument, field: "space", try db.write { try $0.createSpace(Space(name: "", dimension: 3)) })
        assertFuteError(.invalidArgument, field: "space", try db.write { try $0.createSpace(Space(name: longName, dimension: 3)) })
        assertFuteError(.invalidArgument, field: "dimension", try db.write { try $0.createSpace(Space(name: "z", dimension: 0)) })
        assertFuteError(.invalidArgument, field: "index", try db.write { try $0.createSpace(Space(name: "z", dimension: 2, index: IndexParameters(m: 1))) })
        assertFuteError(.invalidArgument, field: "subject", try db.write { try $0.upsertSubject(Subject(name: longName, kind: .dataset)) })
        assertFuteError(.invalidArgument, field: "metadata", try db.write { try $0.upsertSubject(Subject(name: "m", kind: .dataset, metadata: [1, 2])) })
        assertFuteError(.invalidArgument, field: "vector", try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: []) })
        assertFuteError(.dimensionMismatch, field: "vector", try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: [1, 2]) })
        assertFuteError(.invalidArgument, field: "vector", try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: [1, .nan, 2]) })
        assertFuteError(.invalidArgument, field: "vector", try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: [1, .infinity, 2]) })
        assertFuteError(.notFound, field: "space", try db.write { try $0.putEmbedding(space: "nope", subject: "a", vector: [1, 2, 3]) })
        assertFuteError(.notFound, field: "subject", try db.write { try $0.putEmbedding(space: "s", subject: "nope", vector: [1, 2, 3]) })
        assertFuteError(.invalidArgument, field: "score", try db.write { try $0.addObservation(TransferObservation(source: "a", target: "a", score: .nan)) })
        // A 511-byte name is accepted: LMDB's key limit.
        try db.write { try $0.upsertSubject(Subject(name: String(repeating: "x", count: 511), kind: .dataset)) }
        // Messages never echo vector data.
        XCTAssertThrowsError(try db.write { try $0.putEmbedding(space: "s", subject: "a", vector: [123.456, .nan, 2]) }) {
            XCTAssertFalse("\($0)".contains("123.456"))
        }
    }

    func testStatsCountsSpacesSubjectsAndObservations() throws {
        let db = try makeStore()
        try db.write { db in
            try db.createSpace(Space(name: "b", dimension: 2, metric: .l2))
            try db.createSpace(Space(name: "a", dimension: 3))
            for (name, kind) in [("d1", SubjectKind.dataset), ("d2", .dataset), ("m1", .model)] { try db.upsertSubject(Subject(name: name, kind: kind)) }
            try db.putEmbedding(space: "b", subject: "d1", vector: [1, 2], kind: .dte)
            try db.putEmbedding(space: "b", subject: "d2", vector: [1, 2], kind: .dte)
            try db.putEmbedding(space: "b", subject: "m1", vector: [1, 2], kind: .mte)
            try db.addObservation(TransferObservation(source: "d1", target: "d2", score: 0.5))
        }
        let stats = try db.read { try $0.stats() }
        XCTAssertEqual(stats.spaces.map(\.name), ["a", "b"])
        XCTAssertEqual(stats.spaces[1].dimension, 2)
        XCTAssertEqual(stats.spaces[1].metric, .l2)
        XCTAssertEqual(stats.spaces[1].embeddings, 3)
        XCTAssertEqual(stats.spaces[1].embeddingsByKind, [.dte: 2, .mte: 1])
        XCTAssertEqual(stats.spaces[0].embeddings, 0)
        XCTAssertEqual(stats.spaces[1].indexed, 3, "every embedding is indexed")
        XCTAssertEqual(stats.spaces[0].indexed, 0)
        XCTAssertEqual(stats.subjects, [.dataset: 2, .model: 1, .example: 0])
        XCTAssertEqual(stats.observations, 1)
        XCTAssertGreaterThan(stats.fileSize, 0)
        XCTAssertGreaterThan(stats.usedBytes, 0)
    }
}
