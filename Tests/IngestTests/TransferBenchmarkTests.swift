import Foundation
import FuteDB
import XCTest
@testable import Encoder
@testable import Ingest
@testable import Readers

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

    /// The example-retrieval ranking, recomputed by brute force from the encoder's embeddings: with
    /// 12 examples per task every other example is within the retrieval depth, so it is exact.
    func bruteForceOrder(target: String, sources: [String], encoder: TextEncoder, seed: UInt64) throws -> [String] {
        func vectors(_ name: String) throws -> [[Float]] {
            let dataset = try TaskDataset.read(path: "\(fixture)/tasks/\(name).jsonl", requireTargets: true).sample(atMost: 12, seed: seed)
            return encoder.encode(dataset.examples.map(\.input))
        }
        let queries = try vectors(target)
        var score: [String: Double] = [:]
        for source in sources {
            let pool = try vectors(source)
            score[source] = queries.map { q in
                pool.map { x in Double(zip(q, x).reduce(0) { $0 + $1.0 * $1.1 }) }.sorted(by: >).prefix(10).reduce(0, +) / 10
            }.reduce(0, +) / Double(queries.count)
        }
        return sources.sorted { score[$0]! > score[$1]! }
    }

    func testBenchmarkMatchesABruteForceRankingOfTheFixture() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let configuration = TransferBenchmark.Configuration(tasks: fixture + "/tasks", observed: fixture + "/observed.jsonl",
                                                            metrics: ["fixture"], methods: [.examples], seeds: [0], examples: 12)
        let truth: [String: [String: Double]] = [
            "sst2": ["yelp": 0.30, "snli": 0.05, "rte": 0.02, "ag_news": -0.01, "trec": -0.05],
            "snli": ["rte": 0.25, "yelp": 0.0, "sst2": -0.02, "ag_news": -0.03, "trec": -0.04],
            "rte": ["snli": 0.30, "sst2": 0.01, "yelp": 0.0, "ag_news": -0.02, "trec": -0.03],
        ]
        let report = try TransferBenchmark.run(configuration, encoder: encoder,
                                               baselines: ["perfect": ["sst2": truth["sst2"]!], "reversed": ["rte": truth["rte"]!.mapValues { -$0 }]])
        XCTAssertEqual(report.tasks, 6)
        XCTAssertEqual(report.targets, 3)
        let byName = Dictionary(uniqueKeysWithValues: report.lines.map { ($0.ranking, $0.scores) })
        let examples = try XCTUnwrap(byName["examples"])
        XCTAssertEqual(examples.targets, 3)
        var expected = 0.0
        for (target, scores) in truth {
            let order = try bruteForceOrder(target: target, sources: scores.keys.sorted(), encoder: encoder, seed: 0)
            expected += taskWebNDCG(order: order, truth: scores, k: 3) / 3
        }
        XCTAssertEqual(examples.ndcg3, expected, accuracy: 1e-9)
        XCTAssertNil(examples.seedStability, "one seed")
        XCTAssertNotNil(byName["textemb (mean of the examples)"])
        XCTAssertNotNil(byName["examples + observed (leave-one-target-out)"])
        // Published-style baselines are scored by the same code.
        XCTAssertEqual(try XCTUnwrap(byName["published: perfect"]).ndcg3, 1, accuracy: 1e-12)
        XCTAssertEqual(byName["published: perfect"]?.targets, 1)
        let reversed = truth["rte"]!.keys.sorted { truth["rte"]![$0]! < truth["rte"]![$1]! }
        XCTAssertEqual(try XCTUnwrap(byName["published: reversed"]).ndcg3, taskWebNDCG(order: reversed, truth: truth["rte"]!, k: 3), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(byName["random (exact expectation)"]).targets, 3)
        let cost = try XCTUnwrap(report.costs["examples"])
        XCTAssertEqual(cost.floatsPerTask, Double(384 + 12 * 384), accuracy: 1e-9, "a 384-d task vector and 12 example vectors per task")
        XCTAssertGreaterThan(cost.bytesPerTask, cost.floatsPerTask * 4)
    }

    func testSeedStabilityOverTwoSeedsIsACorrelation() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let configuration = TransferBenchmark.Configuration(tasks: fixture + "/tasks", observed: fixture + "/observed.jsonl",
                                                            metrics: ["fixture"], methods: [.examples], seeds: [0, 1], examples: 12)
        let report = try TransferBenchmark.run(configuration, encoder: encoder)
        let examples = try XCTUnwrap(report.lines.first { $0.ranking == "examples" }?.scores)
        let stability = try XCTUnwrap(examples.seedStability)
        XCTAssertTrue((-1...1).contains(stability), "\(stability)")
        XCTAssertLessThan(stability, 1, "different 12-example samples of 40-line files give different orders")
    }

    func testBenchmarkRefusesAMetricWithoutObservations() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let configuration = TransferBenchmark.Configuration(tasks: fixture + "/tasks", observed: fixture + "/observed.jsonl", metrics: ["nope"])
        XCTAssertThrowsError(try TransferBenchmark.run(configuration, encoder: encoder)) { error in
            XCTAssertTrue("\(error)".contains("metric 'nope'"), "\(error)")
        }
    }
}
