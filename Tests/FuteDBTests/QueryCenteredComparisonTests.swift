import Foundation
import XCTest
@testable import FuteDB

/// Centered cosine (spaces whose provenance records `comparison: centered-cosine`): unit vectors
/// minus the mean unit vector of the space's datasets. A hand-built case where three "hub" tasks
/// share a large component e₃ and two partner tasks p1, p2 share a small one e₂: plain cosine puts
/// the hubs nearest to p1 (0.632 vs 0.392); centered, p1 and p2 are each other's nearest (0.0604).
final class QueryCenteredComparisonTests: XCTestCase {
    static func basis(_ weights: [Int: Float]) -> [Float] { (0..<6).map { weights[$0] ?? 0 } }

    // s_i = e_i + 2·e₃ (i = 0, 1, 4); p1 = e₂ + e₃; p2 = e₂ + 1.5·e₅.
    let datasets: [TaskEntry] = [
        TaskEntry(name: "s1", kind: .dataset, vector: basis([0: 1, 3: 2])),
        TaskEntry(name: "s2", kind: .dataset, vector: basis([1: 1, 3: 2])),
        TaskEntry(name: "s3", kind: .dataset, vector: basis([4: 1, 3: 2])),
        TaskEntry(name: "p1", kind: .dataset, vector: basis([2: 1, 3: 1])),
        TaskEntry(name: "p2", kind: .dataset, vector: basis([2: 1, 5: 1.5])),
    ]

    func snapshot(_ entries: [TaskEntry], centering: Bool) -> TaskSpaceSnapshot {
        TaskSpaceSnapshot(space: "s", metric: .cosine, comparison: centering ? .centeredCosine : .metric, dimension: 6, entries: entries)
    }

    func testCenteringRemovesTheSharedComponent() throws {
        let plain = snapshot(datasets, centering: false)
        XCTAssertNil(plain.center)
        let plainNearest = try TaskQueries.nearest(in: plain, toSubject: "p1", k: 4)
        XCTAssertEqual(plainNearest.map(\.name), ["s1", "s2", "s3", "p2"])
        XCTAssertEqual(plainNearest[0].score, 2 / (2.0.squareRoot() * 5.0.squareRoot()), accuracy: 1e-6)

        let centered = snapshot(datasets, centering: true)
        // Mean of the five unit vectors: the hubs sum to (1, 1, 0, 6, 1, 0)/√5, p1 is (0, 0, 1, 1, 0, 0)/√2,
        // p2 is (0, 0, 1, 0, 0, 1.5)/√3.25.
        let hub = 1 / 5.0.squareRoot(), pOne = 1 / 2.0.squareRoot(), pTwo = 1 / 3.25.squareRoot()
        let expectedCenter = [hub, hub, pOne + pTwo, 6 * hub + pOne, hub, 1.5 * pTwo].map { $0 / 5 }
        let center = try XCTUnwrap(centered.center)
        XCTAssertEqual(center.count, 6)
        for (got, want) in zip(center, expectedCenter) { XCTAssertEqual(Double(got), want, accuracy: 1e-6) }
        let nearest = try TaskQueries.nearest(in: centered, toSubject: "p1", k: 4)
        XCTAssertEqual(nearest.map(\.name), ["p2", "s1", "s2", "s3"])
        XCTAssertEqual(nearest[0].score, 0.060392, accuracy: 1e-5)
        XCTAssertEqual(nearest[1].score, -0.357789, accuracy: 1e-5)
        XCTAssertEqual(try TaskQueries.nearest(in: centered, toSubject: "p2", k: 1).map(\.name), ["p1"])
        XCTAssertEqual(try TaskQueries.nearest(in: centered, toSubject: "s1", k: 2).map(\.name), ["s2", "s3"])
    }

    func testQueryVectorsAreComparedTheSameWayAtAnyScale() throws {
        let centered = snapshot(datasets, centering: true)
        let bySubject = try TaskQueries.nearest(in: centered, toSubject: "p1", k: 4)
        let byVector = try TaskQueries.nearest(in: centered, to: Self.basis([2: 7, 3: 7]), k: 5, excluding: "p1")
        XCTAssertEqual(byVector.map(\.name), bySubject.map(\.name))
        for (a, b) in zip(byVector, bySubject) { XCTAssertEqual(a.score, b.score, accuracy: 1e-6) }
        // Transfer similarities use the same comparison.
        let transfer = try TransferQueries.rank(in: centered, target: "p1", k: 4).rows
        XCTAssertEqual(transfer.first?.source, "p2")
        XCTAssertEqual(transfer.first?.similarity ?? 0, 0.060392, accuracy: 1e-5)
    }

    func testModelsDoNotMoveTheCenterAndFewDatasetsMeanPlainCosine() throws {
        let model = TaskEntry(name: "m", kind: .model, vector: Self.basis([2: 5]))
        let withModel = snapshot(datasets + [model], centering: true)
        XCTAssertEqual(withModel.center, snapshot(datasets, centering: true).center)
        XCTAssertEqual(try TaskQueries.models(in: withModel, forTask: "p1", k: 1).map(\.name), ["m"])

        let two = snapshot(Array(datasets.suffix(2)) + [model], centering: true)
        XCTAssertNil(two.center, "fewer than \(TaskSpaceSnapshot.minimumDatasetsForCentering) datasets: plain cosine")
        let nearest = try TaskQueries.nearest(in: two, toSubject: "p1", k: 1, kind: .dataset)
        XCTAssertEqual(nearest[0].score, 1 / (2.0.squareRoot() * 3.25.squareRoot()), accuracy: 1e-6)
        // Only cosine spaces are centered.
        let l2 = TaskSpaceSnapshot(space: "s", metric: .l2, comparison: .centeredCosine, dimension: 6, entries: datasets)
        XCTAssertNil(l2.center)
    }

    func testTheStoreCentersSpacesWhoseProvenanceAsksForIt() throws {
        let database = try FuteDatabase(path: makeStorePath(self))
        try database.write { writer in
            try writer.createSpace(Space(name: "centered", dimension: 6,
                                         provenance: Provenance(method: "fute", comparison: .centeredCosine)))
            try writer.createSpace(Space(name: "plain", dimension: 6))
            for entry in datasets {
                try writer.upsertSubject(Subject(name: entry.name, kind: .dataset))
                try writer.putEmbedding(space: "centered", subject: entry.name, vector: entry.vector)
                try writer.putEmbedding(space: "plain", subject: entry.name, vector: entry.vector)
            }
        }
        try database.read { reader in
            XCTAssertEqual(try reader.nearestTasks(space: "centered", to: "p1", k: 1).map(\.name), ["p2"])
            XCTAssertEqual(try reader.nearestTasks(space: "plain", to: "p1", k: 1).map(\.name), ["s1"])
            XCTAssertEqual(try reader.transferSources(space: "centered", target: "p1", k: 1).rows.map(\.source), ["p2"])
            // The store's nearest compares a centered space as the query layer does, single and batched.
            for subject in ["p1", "s2"] {
                let expected = try reader.nearestTasks(space: "centered", to: subject, k: 4)
                let found = try reader.nearest(space: "centered", to: subject, k: 4)
                XCTAssertEqual(found.map(\.name), expected.map(\.name))
                for (a, b) in zip(found, expected) { XCTAssertEqual(a.score, b.score, accuracy: 1e-12) }
                let vector = try XCTUnwrap(try reader.embedding(space: "centered", subject: subject)).vector
                let batched = try reader.nearest(space: "centered", vectors: [vector], k: 4, excluding: subject)
                XCTAssertEqual(batched.first?.map(\.name), expected.map(\.name))
            }
            XCTAssertEqual(try reader.nearest(space: "plain", to: "p1", k: 1).map(\.name), ["s1"])
        }
    }

    func testComparisonIsStoredWhereStoresBeforeTheFieldKeptIt() throws {
        // The stored layout predates the typed field: extra["comparison"].
        let legacy = #"{"method":"fute","seed":0,"extra":{"comparison":"centered-cosine","trainable":"last-layer-attention"}}"#
        let decoded = try JSONDecoder().decode(Provenance.self, from: Data(legacy.utf8))
        XCTAssertEqual(decoded.comparison, .centeredCosine)
        XCTAssertEqual(decoded.extra, ["trainable": "last-layer-attention"])
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(decoded)) as? [String: Any]
        XCTAssertEqual(encoded?["extra"] as? [String: String], ["comparison": "centered-cosine", "trainable": "last-layer-attention"])
        XCTAssertEqual(try JSONDecoder().decode(Provenance.self, from: JSONEncoder().encode(decoded)), decoded)
        let plain = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Provenance(method: "textemb"))) as? [String: Any]
        XCTAssertEqual(plain?["extra"] as? [String: String], [:], "the default comparison is not written")
        XCTAssertThrowsError(try JSONDecoder().decode(Provenance.self, from: Data(#"{"extra":{"comparison":"sideways"}}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("sideways"), "\($0)")
        }
        let database = try FuteDatabase(path: makeStorePath(self))
        XCTAssertThrowsError(try database.write { writer in
            try writer.createSpace(Space(name: "s", dimension: 2, provenance: Provenance(extra: ["comparison": "centered-cosine"])))
        }) { XCTAssertEqual(($0 as? FuteError)?.field, "provenance.extra") }
        try database.write { try $0.createSpace(Space(name: "s", dimension: 2, provenance: Provenance(comparison: .centeredCosine))) }
        XCTAssertEqual(try database.read { try $0.space(named: "s")?.comparison }, .centeredCosine)
    }
}
