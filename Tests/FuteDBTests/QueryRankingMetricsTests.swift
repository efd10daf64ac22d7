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

    private func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[Int]] in
            var rest = items
            let head = rest.remove(at: index)
            return permutations(rest).map { [head] + $0 }
        }
    }
}
