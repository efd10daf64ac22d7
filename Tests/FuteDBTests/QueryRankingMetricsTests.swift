import Foundation
import XCTest
@testable import FuteDB

final class QueryRankingMetricsTests: XCTestCase {
    // Predicted order holds relevances [1, 0, 2]: gains 1, 0, 3.
    let relevance: [Double] = [1, 0, 2]

    func testNDCGMatchesHandComputation() throws {
        // DCG@3 = 1/1 + 0/log2(3) + 3/log2(4) = 2.5; IDCG@3 = 3/1 + 1/log2(3) + 0.
        let expected = 2.5 / (3 + 1 / log2(3.0))
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.ndcg(relevance, k: 3)), expected, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.ndcg(relevance, k: 1)), 1.0 / 3.0, accuracy: 1e-15)
        // k larger than the candidate list is the same as k = n.
        XCTAssertEqual(RankingMetrics.ndcg(relevance, k: 10), RankingMetrics.ndcg(relevance, k: 3))
        XCTAssertEqual(RankingMetrics.ndcg([2, 1, 0], k: 3), 1.0)
    }

    func testNDCGIsUndefinedWhenIdealGainIsZero() {
        XCTAssertNil(RankingMetrics.ndcg([0, 0, 0], k: 3))
        XCTAssertNil(RankingMetrics.ndcg([], k: 3))
    }

    func testRegretAndRankOfBest() throws {
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.regret(relevance, k: 1)), 50, accuracy: 1e-12)  // 100·(2−1)/2
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.regret(relevance, k: 2)), 50, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.regret(relevance, k: 3)), 0, accuracy: 1e-12)
        XCTAssertNil(RankingMetrics.regret([0, 0], k: 1))
        XCTAssertEqual(RankingMetrics.rankOfBest(relevance), 3)
        XCTAssertEqual(RankingMetrics.rankOfBest([1, 5, 5]), 2, "ties for best: the best-ranked counts")
    }

    func testRandomBaselineMatchesEnumerationOfAllOrders() throws {
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomNDCG(relevance, k: 1)), (4.0 / 3.0) / 3.0, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomRegret(relevance, k: 1)), 50, accuracy: 1e-12)
        // Size-2 subsets {2,1},{2,0},{1,0}: E[max] = 5/3 → regret 100·(1/3)/2.
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomRegret(relevance, k: 2)), 100.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomRankOfBest(relevance)), 2)

        // Brute force over all permutations of a 5-element list with ties.
        let values: [Double] = [0.5, 2, 0, 2, 1]
        let orders = permutations(Array(values.indices))
        for k in 1...5 {
            var ndcg = 0.0, regret = 0.0, rho = 0.0
            for order in orders {
                let inOrder = order.map { values[$0] }
                ndcg += try XCTUnwrap(RankingMetrics.ndcg(inOrder, k: k))
                regret += try XCTUnwrap(RankingMetrics.regret(inOrder, k: k))
                rho += Double(try XCTUnwrap(RankingMetrics.rankOfBest(inOrder)))
            }
            let count = Double(orders.count)
            XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomNDCG(values, k: k)), ndcg / count, accuracy: 1e-12)
            XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomRegret(values, k: k)), regret / count, accuracy: 1e-9)
            XCTAssertEqual(try XCTUnwrap(RankingMetrics.expectedRandomRankOfBest(values)), rho / count, accuracy: 1e-12)
        }
    }

    func testPredictedOrderBreaksTiesByName() {
        let candidates = [
            RankedCandidate(name: "b", similarity: 0.5, relevance: 1),
            RankedCandidate(name: "a", similarity: 0.5, relevance: 2),
            RankedCandidate(name: "c", similarity: 0.9, relevance: 0),
        ]
        XCTAssertEqual(TransferEvaluation.predictedOrder(candidates).map(\.name), ["c", "a", "b"])
    }

    func testEvaluateSkipsTargetsWithoutPositiveScoresAndDropsSelf() {
        let summary = TransferEvaluation.evaluate([
            "t1": [RankedCandidate(name: "t1", similarity: 1, relevance: 9), RankedCandidate(name: "a", similarity: 0.2, relevance: 1),
                   RankedCandidate(name: "b", similarity: 0.1, relevance: 2)],
            "t2": [RankedCandidate(name: "a", similarity: 0.2, relevance: 0)],
            "t3": [RankedCandidate(name: "t3", similarity: 0.2, relevance: 1)],
        ], k: 1)
        XCTAssertEqual(summary.targets, 1)
        XCTAssertEqual(summary.skipped, 2)
        XCTAssertEqual(summary.perTarget[0].predictedOrder, ["a", "b"])
        XCTAssertEqual(summary.ndcg ?? -1, 1.0 / 3.0, accuracy: 1e-15)
        XCTAssertEqual(summary.rho, 2)
        XCTAssertEqual(summary.regret ?? -1, 50, accuracy: 1e-12)
    }

    func testMatchesScikitLearnFixturesTo1e9() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/eval-sklearn.json")
        struct Case: Decodable { var names: [String]; var similarity: [Double]; var relevance: [Double]; var k: Int; var ndcg: Double; var regret: Double; var rho: Int }
        struct Fixture: Decodable { var cases: [Case] }
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.cases.count, 60)
        for (index, testCase) in fixture.cases.enumerated() {
            let candidates = zip(testCase.names, zip(testCase.similarity, testCase.relevance)).map {
                RankedCandidate(name: $0, similarity: $1.0, relevance: $1.1)
            }
            let result = TransferEvaluation.evaluate(target: "target", candidates: candidates, k: testCase.k)
            XCTAssertEqual(try XCTUnwrap(result.ndcg), testCase.ndcg, accuracy: 1e-9, "case \(index)")
            XCTAssertEqual(try XCTUnwrap(result.regret), testCase.regret, accuracy: 1e-9, "case \(index)")
            XCTAssertEqual(try XCTUnwrap(result.rho), Double(testCase.rho), "case \(index)")
        }
    }

    func testRankRelevancesAreTaskWebsWithTiesByPosition() {
        XCTAssertEqual(RankingMetrics.rankRelevances([0.3, 0.1, 0.2]), [3, 1, 2])
        XCTAssertEqual(RankingMetrics.rankRelevances([0.5, 0.5, -0.1]), [3, 2, 1])
        XCTAssertEqual(RankingMetrics.rankRelevances([]), [])
        XCTAssertEqual(RelevanceGain.allCases.map(\.rawValue), ["score", "rank"])
    }

    func testRankGainNDCGMatchesHandComputation() throws {
        // Scores [0.3, 0.1, 0.2] predicted in that order: gold ranks 0, 2, 1 → rel 3, 1, 2.
        let candidates = [RankedCandidate(name: "a", similarity: 0.9, relevance: 0.3),
                          RankedCandidate(name: "b", similarity: 0.8, relevance: 0.1),
                          RankedCandidate(name: "c", similarity: 0.7, relevance: 0.2)]
        let result = TransferEvaluation.evaluate(target: "t", candidates: candidates, k: 2, gain: .rank)
        // DCG@2 = 7/1 + 1/log2(3); IDCG@2 = 7 + 3/log2(3).
        XCTAssertEqual(try XCTUnwrap(result.ndcg), (7 + 1 / log2(3.0)) / (7 + 3 / log2(3.0)), accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(result.randomNDCG), try XCTUnwrap(RankingMetrics.expectedRandomNDCG([3, 1, 2], k: 2)), accuracy: 1e-15)
        // Regret@k and ρ stay on the observed scores.
        let byScore = TransferEvaluation.evaluate(target: "t", candidates: candidates, k: 2)
        XCTAssertNotEqual(byScore.ndcg, result.ndcg)
        XCTAssertEqual(result.regret, byScore.regret)
        XCTAssertEqual(result.rho, byScore.rho)
        XCTAssertEqual(result.randomRegret, byScore.randomRegret)
        XCTAssertEqual(result.randomRho, byScore.randomRho)
        // Regret@1 of predicting b first among scores 0.3, 0.1, 0.2 would be 100·(0.3−0.1)/0.3; here a is first.
        XCTAssertEqual(try XCTUnwrap(result.regret), 0, accuracy: 1e-12)
        let worse = TransferEvaluation.evaluate(target: "t", candidates: candidates.map {
            RankedCandidate(name: $0.name, similarity: -$0.similarity, relevance: $0.relevance)
        }, k: 1, gain: .rank)
        XCTAssertEqual(try XCTUnwrap(worse.regret), 100 * (0.3 - 0.2) / 0.3, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(worse.ndcg), 3.0 / 7.0, accuracy: 1e-15)   // c (rel 2) first: (2²−1)/(2³−1)
    }

    func testRankGainBreaksGoldTiesByNameAndNeverSkipsNonPositiveScores() throws {
        // a and b tie on 0.5: a ranks above b in the gold order (rel 3 vs 2), whatever the predicted order.
        let candidates = [RankedCandidate(name: "b", similarity: 0.9, relevance: 0.5),
                          RankedCandidate(name: "a", similarity: 0.1, relevance: 0.5),
                          RankedCandidate(name: "c", similarity: 0.5, relevance: -0.2)]
        let result = TransferEvaluation.evaluate(target: "t", candidates: candidates, k: 1, gain: .rank)
        XCTAssertEqual(try XCTUnwrap(result.ndcg), 3.0 / 7.0, accuracy: 1e-15)   // b first: (2²−1)/(2³−1)
        // All scores negative: score gain skips the target, rank gain still evaluates it.
        let harmful = candidates.map { RankedCandidate(name: $0.name, similarity: $0.similarity, relevance: -1 - $0.relevance) }
        XCTAssertNotNil(TransferEvaluation.evaluate(target: "t", candidates: harmful, k: 2).skipped)
        let ranked = TransferEvaluation.evaluate(target: "t", candidates: harmful, k: 2, gain: .rank)
        XCTAssertNil(ranked.skipped)
        XCTAssertNotNil(ranked.ndcg)
        XCTAssertNil(ranked.regret, "Regret@k is a share of the best score; undefined when it is not positive")
    }

    /// TaskWeb's published dev figures (t5l, NDCG@3, rank gain): RoE 0.545, TaskShop/RoE 0.643,
    /// random 0.141 — from ../shared/data/transfer, which is not part of the package.
    func testRankGainReproducesTaskWebPublishedFigures() throws {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/transfer")
        let baselinesURL = directory.appendingPathComponent("baselines-dev.json"), observedURL = directory.appendingPathComponent("observed.jsonl")
        guard FileManager.default.fileExists(atPath: baselinesURL.path), FileManager.default.fileExists(atPath: observedURL.path) else {
            throw XCTSkip("TaskWeb data not found at \(directory.path) (baselines-dev.json, observed.jsonl); skipping the published-figure check")
        }
        let baselines = try JSONDecoder().decode([String: [String: [String: Double]]].self, from: Data(contentsOf: baselinesURL))
        struct Observation: Decodable { var source: String; var target: String; var score: Double; var metric: String }
        var observed: [String: [String: Double]] = [:]
        for line in try String(contentsOf: observedURL, encoding: .utf8).split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let o = try JSONDecoder().decode(Observation.self, from: Data(line.utf8))
            if o.metric == "taskweb-t5l" { observed[o.target, default: [:]][o.source] = o.score }
        }
        XCTAssertEqual(observed.count, 10)
        for (method, expected) in [("roe", 0.545), ("taskshop_roe", 0.643)] {
            let predicted = try XCTUnwrap(baselines[method], method)
            var candidatesByTarget: [String: [RankedCandidate]] = [:]
            for (target, scores) in observed {
                let similarity = try XCTUnwrap(predicted[target], "\(method) \(target)")
                candidatesByTarget[target] = try scores.map { source, score in
                    RankedCandidate(name: source, similarity: try XCTUnwrap(similarity[source], "\(method) \(target) \(source)"), relevance: score)
                }
            }
            let summary = TransferEvaluation.evaluate(candidatesByTarget, k: 3, gain: .rank)
            XCTAssertEqual(summary.targets, 10, method)
            XCTAssertEqual(try XCTUnwrap(summary.ndcg), expected, accuracy: 0.0005, method)
            XCTAssertEqual(try XCTUnwrap(summary.randomNDCG), 0.141, accuracy: 0.0005, method)
        }
    }

    private func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[Int]] in
            var rest = items
            let head = rest.remove(at: index)
            return permutations(rest).map { [head] + $0 }
        }
    }
}
