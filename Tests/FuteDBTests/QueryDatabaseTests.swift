import Foundation
import XCTest
@testable import FuteDB

/// The query layer through a real store: a fixture with known geometry (unit vectors at known
/// angles, so every cosine is cos(Δangle)) must rank exactly.
final class QueryDatabaseTests: XCTestCase {
    func unit(_ degrees: Double) -> [Float] { [Float(cos(degrees * .pi / 180)), Float(sin(degrees * .pi / 180)), 0] }

    func makeStore() throws -> FuteDatabase {
        let database = try FuteDatabase(path: makeStorePath(self))
        let subjects: [(String, SubjectKind, JSONValue, Double)] = [
            ("target", .dataset, ["family": "nli"], 0),
            ("near", .dataset, ["family": "nli", "size": 300], 5),
            ("mid", .dataset, ["family": "sentiment"], -25),
            ("far", .dataset, ["family": "nli"], 70),
            ("opposite", .dataset, [:], 180),
            ("gpt-prompt-a", .model, ["family": "llm", "prompt": "Is it entailed?"], 15),
            ("gpt-prompt-b", .model, ["family": "llm", "prompt": "Summarise."], 100),
        ]
        try database.write { writer in
            try writer.createSpace(Space(name: "tasks", dimension: 3))
            try writer.createSpace(Space(name: "other", dimension: 2))
            for (name, kind, metadata, angle) in subjects {
                try writer.upsertSubject(Subject(name: name, kind: kind, metadata: metadata))
                try writer.putEmbedding(space: "tasks", subject: name, vector: unit(angle))
            }
            try writer.upsertSubject(Subject(name: "elsewhere", kind: .dataset))
            try writer.putEmbedding(space: "other", subject: "elsewhere", vector: [1, 0])
            try writer.addObservation(TransferObservation(source: "near", target: "target", score: 0.6))
            try writer.addObservation(TransferObservation(source: "far", target: "target", score: 0.9))
            try writer.addObservation(TransferObservation(source: "mid", target: "target", score: 0.1))
        }
        return database
    }

    func testNearestTasksRankExactlyByAngleWithFilters() throws {
        let database = try makeStore()
        try database.read { reader in
            XCTAssertEqual(try reader.nearestTasks(space: "tasks", to: "target", k: 10).map(\.name),
                           ["near", "gpt-prompt-a", "mid", "far", "gpt-prompt-b", "opposite"])
            XCTAssertEqual(try reader.nearestTasks(space: "tasks", to: "target", k: 2, kind: .dataset).map(\.name), ["near", "mid"])
            XCTAssertEqual(try reader.nearestTasks(space: "tasks", to: "target", k: 10, filters: [MetadataFilter(key: "family", value: "nli")]).map(\.name),
                           ["near", "far"])
            XCTAssertEqual(try reader.nearestTasks(space: "tasks", to: "target", k: 10, filters: [MetadataFilter(key: "size", value: "300")]).map(\.name), ["near"])
            let scores = try reader.nearestTasks(space: "tasks", to: "target", k: 3).map(\.score)
            for (score, angle) in zip(scores, [5.0, 15, 25]) { XCTAssertEqual(score, cos(angle * .pi / 180), accuracy: 1e-6) }
            XCTAssertEqual(try reader.models(space: "tasks", task: "target", k: 5).map(\.name), ["gpt-prompt-a", "gpt-prompt-b"])
            XCTAssertEqual(try reader.models(space: "tasks", task: "target", k: 5, filters: [MetadataFilter(key: "prompt", value: "Summarise.")]).map(\.name),
                           ["gpt-prompt-b"])
        }
    }

    func testTransferAndEvaluationOnTheStore() throws {
        let database = try makeStore()
        try database.read { reader in
            let rows = try reader.transferSources(space: "tasks", target: "target", k: 10, sources: .dataset).rows
            XCTAssertEqual(rows.map(\.source), ["near", "mid", "far", "opposite"], "no other target has observations: similarity order")
            XCTAssertEqual(rows.first { $0.source == "far" }?.observed, 0.9)
            let report = try reader.evaluateTransfer(space: "tasks", k: 1)
            XCTAssertEqual(report.similarity.targets, 1)
            // Predicted order near (0.6), mid (0.1), far (0.9): best is far at rank 3.
            XCTAssertEqual(report.similarity.perTarget[0].predictedOrder, ["near", "mid", "far"])
            XCTAssertEqual(report.similarity.rho, 3)
            XCTAssertEqual(try XCTUnwrap(report.similarity.ndcg), (pow(2, 0.6) - 1) / (pow(2, 0.9) - 1), accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(report.similarity.regret), 100 * (0.9 - 0.6) / 0.9, accuracy: 1e-12)
        }
    }

    func testQueriesRefuseToMixSpacesNamingBoth() throws {
        let database = try makeStore()
        try database.read { reader in
            XCTAssertThrowsError(try reader.nearestTasks(space: "tasks", to: "elsewhere", k: 3)) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("space \"tasks\"") && message.contains("space \"other\""), message)
            }
            XCTAssertThrowsError(try reader.transferSources(space: "other", target: "target", k: 3)) { error in
                XCTAssertTrue("\(error)".contains("space \"other\"") && "\(error)".contains("space \"tasks\""), "\(error)")
            }
            assertFuteError(.notFound, field: "space", try reader.taskSnapshot(space: "nope"))
        }
    }
}
