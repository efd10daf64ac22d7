import Foundation
import XCTest
import FuteDB
@testable import Ingest

/// `TransferBenchmark` (what `fute-bench transfer` prints) end to end on a small fixture, and its
/// metrics against hand computation.
final class TransferBenchmarkTests: XCTestCase {
    let fixture = TestResources.packageRoot.appendingPathComponent("Tests/Fixtures/transfer").path

    /// NDCG@k with TaskWeb's gains, computed directly from the definition.
    func taskWebNDCG(order: [String], truth: [String: Double], k: Int) -> Double {
        let gold = truth.keys.sorted { truth[$0]! > truth[$1]! }
        let n = Double(gold.count)
        func gain(_ s: String) -> Double { pow(2, n - Double(gold.firstIndex(of: s)!)) - 1 }
        let dcg = order.prefix(k).enumerated().reduce(0.0) { $0 + gain($1.element) / log2(Double($1.offset) + 2) }
        let ideal = gold.prefix(k).enumerated().reduce(0.0) { $0 + gain($1.element) / log2(Double($1.offset) + 2) }
        return dcg / ideal
    }

    func testScoresFollowTaskWebsDefinition() {
        let truth = ["t": ["a": 0.3, "b": 0.1, "c": 0.2, "d": -0.1]]
        let order = ["b", "c", "a", "d"]
        let scores = TransferScores(orders: ["t": order], truth: truth)
        XCTAssertEqual(scores.ndcg3, taskWebNDCG(order: order, truth: truth["t"]!, k: 3), accuracy: 1e-12)
        XCTAssertEqual(scores.ndcg5, taskWebNDCG(order: order, truth: truth["t"]!, k: 5), accuracy: 1e-12)
        // Best (a, 0.3) is third: Regret@3 = 0; it is at rank 3.
        XCTAssertEqual(scores.regret3, 0)
        XCTAssertEqual(scores.rankOfBest, 3)
        let perfect = TransferScores(orders: ["t": ["a", "c", "b", "d"]], truth: truth)
        XCTAssertEqual(perfect.ndcg3, 1, accuracy: 1e-12)
        XCTAssertEqual(perfect.rankOfBest, 1)
        // Orders of the same 4 items reversed: ρ = −1; identical: 1.
        XCTAssertEqual(TransferScores.spearman(["a", "b", "c", "d"], ["d", "c", "b", "a"]), -1)
        XCTAssertEqual(TransferScores.stability([0: ["t": order], 1: ["t": order]], truth: truth), 1)
        // Random: the exact mean over all 24 orders.
        var sum = 0.0
        func permutations(_ items: [String]) -> [[String]] {
            items.count <= 1 ? [items] : items.indices.flatMap { i in
                permutations(Array(items[..<i] + items[(i + 1)...])).map { [items[i]] + $0 }
            }
        }
        let all = permutations(["a", "b", "c", "d"])
        for p in all { sum += taskWebNDCG(order: p, truth: truth["t"]!, k: 3) }
        XCTAssertEqual(TransferScores.random(truth: truth).ndcg3, sum / Double(all.count), accuracy: 1e-12)
    }

    func testBenchmarkRanksTheFixturesSameFamilySourceFirst() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let configuration = TransferBenchmark.Configuration(tasks: fixture + "/tasks", observed: fixture + "/observed.jsonl",
                                                            metrics: ["fixture"], methods: [.examples], seeds: [0, 1], examples: 12)
        let truthOrder = ["sst2": ["yelp", "snli", "rte", "ag_news", "trec"]]
        let report = try TransferBenchmark.run(configuration, encoder: encoder,
                                               baselines: ["perfect": ["sst2": Dictionary(uniqueKeysWithValues: truthOrder["sst2"]!.enumerated().map { ($1, -Double($0)) })]])
        XCTAssertEqual(report.tasks, 6)
        XCTAssertEqual(report.targets, 3)
        let byName = Dictionary(uniqueKeysWithValues: report.lines.map { ($0.ranking, $0.scores) })
        let examples = try XCTUnwrap(byName["examples"])
        XCTAssertEqual(examples.targets, 3)
        XCTAssertEqual(examples.rankOfBest, 1, "each target's own-family source is retrieved first")
        XCTAssertEqual(examples.regret3, 0)
        let stability = try XCTUnwrap(examples.seedStability)
        XCTAssertTrue((-1...1).contains(stability))
        XCTAssertNotNil(byName["textemb (mean of the examples)"])
        XCTAssertNotNil(byName["examples + observed (leave-one-target-out)"])
        // The published-style baseline is scored by the same code: perfect on its one target.
        XCTAssertEqual(try XCTUnwrap(byName["published: perfect"]).ndcg3, 1, accuracy: 1e-12)
        XCTAssertEqual(byName["published: perfect"]?.targets, 1)
        let random = try XCTUnwrap(byName["random (exact expectation)"])
        XCTAssertLessThan(random.ndcg3, examples.ndcg3)
        let cost = try XCTUnwrap(report.costs["examples"])
        XCTAssertEqual(cost.floatsPerTask, Double(384 + 12 * 384), accuracy: 1e-9, "a 384-d task vector and 12 example vectors per task")
        XCTAssertGreaterThan(cost.bytesPerTask, cost.floatsPerTask * 4)
    }

    func testBenchmarkRefusesAMetricWithoutObservations() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let configuration = TransferBenchmark.Configuration(tasks: fixture + "/tasks", observed: fixture + "/observed.jsonl", metrics: ["nope"])
        XCTAssertThrowsError(try TransferBenchmark.run(configuration, encoder: encoder)) { error in
            XCTAssertTrue("\(error)".contains("metric 'nope'"), "\(error)")
        }
    }
}
