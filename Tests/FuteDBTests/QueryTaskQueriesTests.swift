import Foundation
import XCTest
@testable import FuteDB

final class QueryTaskQueriesTests: XCTestCase {
    /// Unit vectors at known angles: cosine similarity to the x axis is cos(angle).
    func unit(_ degrees: Double) -> [Float] { [Float(cos(degrees * .pi / 180)), Float(sin(degrees * .pi / 180))] }

    lazy var snapshot = TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 2, entries: [
        TaskEntry(name: "target", kind: .dataset, metadata: ["family": "a"], vector: unit(0)),
        TaskEntry(name: "d10", kind: .dataset, metadata: ["family": "a"], vector: unit(10)),
        TaskEntry(name: "d20", kind: .dataset, metadata: ["family": "b"], vector: unit(-20)),
        TaskEntry(name: "m30", kind: .model, metadata: ["family": "a", "prompt": "Classify"], vector: unit(30)),
        TaskEntry(name: "d50", kind: .dataset, metadata: ["family": "a"], vector: unit(50)),
        TaskEntry(name: "m90", kind: .model, metadata: ["family": "b"], vector: unit(90)),
        TaskEntry(name: "d180", kind: .dataset, metadata: [:], vector: unit(180)),
    ], otherSpacesOf: { $0 == "elsewhere" ? ["s2"] : [] })

    func testNearestLeavesTheQuerySubjectOutAndOrdersByAngle() throws {
        let matches = try TaskQueries.nearest(in: snapshot, toSubject: "target", k: 10)
        XCTAssertEqual(matches.map(\.name), ["d10", "d20", "m30", "d50", "m90", "d180"])
        XCTAssertEqual(matches[0].score, cos(10 * .pi / 180), accuracy: 1e-7)
        XCTAssertEqual(matches.last?.score ?? 0, -1, accuracy: 1e-7)
        XCTAssertEqual(try TaskQueries.nearest(in: snapshot, toSubject: "target", k: 2).map(\.name), ["d10", "d20"])
    }

    func testKindAndMetadataFilters() throws {
        XCTAssertEqual(try TaskQueries.nearest(in: snapshot, toSubject: "target", k: 3, kind: .dataset).map(\.name), ["d10", "d20", "d50"])
        let familyA = [try MetadataFilter(parsing: "family=a")]
        XCTAssertEqual(try TaskQueries.nearest(in: snapshot, toSubject: "target", k: 5, filters: familyA).map(\.name), ["d10", "m30", "d50"])
        XCTAssertEqual(try TaskQueries.nearest(in: snapshot, toSubject: "target", k: 5, kind: .model, filters: familyA).map(\.name), ["m30"])
        XCTAssertEqual(try TaskQueries.models(in: snapshot, forTask: "target", k: 5).map(\.name), ["m30", "m90"])
        XCTAssertEqual(try TaskQueries.models(in: snapshot, forTask: "target", k: 5, filters: [MetadataFilter(key: "prompt", value: "Classify")]).map(\.name), ["m30"])
        XCTAssertThrowsError(try MetadataFilter(parsing: "family")) { XCTAssertEqual(($0 as? FuteError)?.code, .invalidArgument); XCTAssertEqual(($0 as? FuteError)?.field, "filter") }
    }

    func testL2AndInnerProductScores() throws {
        let line = TaskSpaceSnapshot(space: "line", metric: .l2, dimension: 1, entries: [
            TaskEntry(name: "a", kind: .dataset, vector: [1]), TaskEntry(name: "b", kind: .dataset, vector: [2]),
            TaskEntry(name: "c", kind: .dataset, vector: [4]), TaskEntry(name: "d", kind: .dataset, vector: [-1]),
        ])
        let l2 = try TaskQueries.nearest(in: line, to: [1.5], k: 4)
        XCTAssertEqual(l2.map(\.name), ["a", "b", "c", "d"])   // a and b tie at 0.25: name order
        XCTAssertEqual(l2.map(\.score), [0.25, 0.25, 6.25, 6.25])
        let ip = TaskSpaceSnapshot(space: "line", metric: .ip, dimension: 1, entries: line.entries)
        XCTAssertEqual(try TaskQueries.nearest(in: ip, to: [2], k: 2).map(\.score), [8, 4])
        XCTAssertThrowsError(try TaskQueries.nearest(in: line, to: [1, 2], k: 1)) {
            XCTAssertEqual(($0 as? FuteError)?.code, .dimensionMismatch)
        }
    }

    func testRefusesToMixSpacesAndNamesBoth() {
        XCTAssertThrowsError(try TaskQueries.nearest(in: snapshot, toSubject: "elsewhere", k: 1)) { error in
            let message = (error as? FuteError)?.message ?? ""
            XCTAssertTrue(message.contains("space \"s\"") && message.contains("\"s2\""), message)
        }
        XCTAssertThrowsError(try TaskQueries.nearest(in: snapshot, toSubject: "nobody", k: 1)) {
            XCTAssertEqual(($0 as? FuteError)?.code, .notFound)
        }
    }

    func testTransferWithoutObservationsIsThePureSimilarityOrder() throws {
        let ranking = try TransferQueries.rank(in: snapshot, target: "target", k: 10, sources: .dataset)
        XCTAssertEqual(ranking.method, "cosine similarity")
        let rows = ranking.rows
        XCTAssertEqual(rows.map(\.source), ["d10", "d20", "d50", "d180"])
        XCTAssertEqual(rows.map(\.evidence), [0, 0, 0, 0])
        XCTAssertTrue(rows.allSatisfy { $0.predicted == nil && $0.observed == nil })
        XCTAssertEqual(try TransferQueries.rank(in: snapshot, target: "target", k: 10, sources: .model).rows.map(\.source), ["m30", "m90"])
    }

    func testBlendedScoreFollowsTheFormula() throws {
        // Target t at 0°, neighbour target u at 100° (cosine < 0: still the nearest observed target) observed a, b, c.
        let space = TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 2, entries: [
            TaskEntry(name: "t", kind: .dataset, vector: unit(0)), TaskEntry(name: "u", kind: .dataset, vector: unit(100)),
            TaskEntry(name: "a", kind: .dataset, vector: unit(10)), TaskEntry(name: "b", kind: .dataset, vector: unit(40)),
            TaskEntry(name: "c", kind: .dataset, vector: unit(60)),
        ], observations: [
            TransferRecord(source: "a", target: "u", score: 0.1), TransferRecord(source: "b", target: "u", score: 0.2),
            TransferRecord(source: "c", target: "u", score: 0.9), TransferRecord(source: "c", target: "t", score: 0.8),
        ])
        let ranking = try TransferQueries.rank(in: space, target: "t", k: 10, sources: nil)
        XCTAssertEqual(ranking.neighbourTargets, ["u"])
        let rows = ranking.rows
        // Independent computation.
        let names = ["u", "a", "b", "c"]
        let degrees: [String: Double] = ["u": 100, "a": 10, "b": 40, "c": 60]
        let sims = names.map { cos(degrees[$0]! * .pi / 180) }
        let mean = sims.reduce(0, +) / 4
        let sd = (sims.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4).squareRoot()
        let obs: [String: Double] = ["a": 0.1, "b": 0.2, "c": 0.9]
        let oMean = 0.4
        let oSd = ((0.09 + 0.04 + 0.25) / 3).squareRoot()
        // predicted = the one neighbour's z-score; the blend standardizes it over the candidates
        // with evidence (here a, b, c) before adding it to zsim.
        let predicted = obs.mapValues { ($0 - oMean) / oSd }
        let pMean = predicted.values.reduce(0, +) / 3
        let pSd = (predicted.values.map { ($0 - pMean) * ($0 - pMean) }.reduce(0, +) / 3).squareRoot()
        var expected: [String: Double] = [:]
        for (index, name) in names.enumerated() {
            let zsim = (sims[index] - mean) / sd
            expected[name] = zsim + (predicted[name].map { ($0 - pMean) / pSd } ?? 0)
        }
        XCTAssertEqual(rows.map(\.source), names.sorted { expected[$0]! > expected[$1]! })
        for row in rows {
            XCTAssertEqual(row.blended, expected[row.source]!, accuracy: 1e-6, row.source)
        }
        let c = try XCTUnwrap(rows.first { $0.source == "c" })
        XCTAssertEqual(c.observed, 0.8, "the target's own observation is shown")
        XCTAssertEqual(c.evidence, 1)
        XCTAssertEqual(rows.first { $0.source == "u" }?.evidence, 0)
    }

    func testEvaluationHidesTheTargetsOwnObservations() {
        let space = snapshot.observing([
            TransferRecord(source: "d10", target: "target", score: 1), TransferRecord(source: "d50", target: "target", score: 3),
        ])
        let report = TransferEvaluation.evaluate(snapshot: space, truth: space.observations + [TransferRecord(source: "d10", target: "ghost", score: 1)], k: 1)
        XCTAssertEqual(report.similarity.targets, 1)
        XCTAssertEqual(report.similarity.skipped, 1, "ghost has no embedding")
        XCTAssertEqual(report.similarity.perTarget.first { $0.target == "target" }?.predictedOrder, ["d10", "d50"])
        XCTAssertEqual(report.similarity.rho, 2)
        XCTAssertEqual(report.blended.rho, 2, "without other targets' observations the blend is the similarity order")
    }
}
