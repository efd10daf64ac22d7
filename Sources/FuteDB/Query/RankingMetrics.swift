import Foundation

/// Ranking metrics for transferability evaluation (issue 4), as pure functions.
///
/// All functions take the relevance of the candidate sources *in predicted order*
/// (position 0 = ranked first): the observed score, or TaskWeb's rank relevance
/// (`rankRelevances`, `RelevanceGain.rank`). With n candidates and m = min(k, n):
/// - gain(rel) = 2^rel − 1; DCG@k = Σ_{i=1..m} gain(rel(π_i)) / log2(i + 1);
///   NDCG@k = DCG@k / IDCG@k, IDCG@k = DCG@k of the ideal (descending relevance) order.
///   Undefined (`nil`) when IDCG@k ≤ 0 (the "IDCG = 0" case, extended to negative
///   gains): such targets are skipped.
/// - Regret@k = 100 · (max rel − max rel among the first m) / max rel; `nil` when max rel ≤ 0.
/// - ρ (rank of best) = 1-based predicted rank of the truly best source; when several sources
///   tie for the best observed score, the best-ranked of them counts.
public enum RankingMetrics {
    /// Rank relevances as TaskWeb defines them: with n scores, the relevance of score i is
    /// n − (its 0-based rank in descending score order), so the best gets n and the worst 1.
    /// Ties are broken by position in `scores` (earlier ranks higher): pass the scores in name order
    /// to break ties by name, as `TransferEvaluation.evaluate(target:candidates:k:gain:)` does.
    public static func rankRelevances(_ scores: [Double]) -> [Double] {
        let goldOrder = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var relevances = [Double](repeating: 0, count: scores.count)
        for (rank, index) in goldOrder.enumerated() { relevances[index] = Double(scores.count - rank) }
        return relevances
    }

    /// 2^rel − 1.
    @inlinable public static func gain(_ relevance: Double) -> Double { pow(2, relevance) - 1 }

    /// 1 / log2(i + 1) for 1-based position i.
    @inlinable public static func discount(position: Int) -> Double { 1 / log2(Double(position) + 1) }

    /// DCG@k of relevances in the given order.
    public static func dcg(_ relevanceInOrder: [Double], k: Int) -> Double {
        var total = 0.0
        for (index, relevance) in relevanceInOrder.prefix(max(0, k)).enumerated() {
            total += gain(relevance) * discount(position: index + 1)
        }
        return total
    }

    /// NDCG@k, or `nil` when IDCG@k ≤ 0.
    public static func ndcg(_ relevanceInPredictedOrder: [Double], k: Int) -> Double? {
        let ideal = dcg(relevanceInPredictedOrder.sorted(by: >), k: k)
        guard ideal > 0 else { return nil }
        return dcg(relevanceInPredictedOrder, k: k) / ideal
    }

    /// Regret@k in percent, or `nil` when there are no candidates or max rel ≤ 0.
    public static func regret(_ relevanceInPredictedOrder: [Double], k: Int) -> Double? {
        guard let best = relevanceInPredictedOrder.max(), best > 0, k > 0 else { return nil }
        let bestInTop = relevanceInPredictedOrder.prefix(k).max() ?? best
        return 100 * (best - bestInTop) / best
    }

    /// 1-based predicted rank of the truly best source (best-ranked among ties), or `nil` when empty.
    public static func rankOfBest(_ relevanceInPredictedOrder: [Double]) -> Int? {
        guard let best = relevanceInPredictedOrder.max() else { return nil }
        return relevanceInPredictedOrder.firstIndex(of: best).map { $0 + 1 }
    }

    // MARK: - Expected values under a uniformly random ranking (the baseline)

    /// E[NDCG@k] over uniformly random orders: every position holds the mean gain in
    /// expectation, so E[DCG@k] = mean gain · Σ_{i=1..m} 1/log2(i+1); IDCG is order-free.
    public static func expectedRandomNDCG(_ relevance: [Double], k: Int) -> Double? {
        let ideal = dcg(relevance.sorted(by: >), k: k)
        guard ideal > 0, !relevance.isEmpty else { return nil }
        let meanGain = relevance.map(gain).reduce(0, +) / Double(relevance.count)
        let m = min(k, relevance.count)
        let discounts = (1...max(1, m)).prefix(m).map { discount(position: $0) }.reduce(0, +)
        return meanGain * discounts / ideal
    }

    /// E[Regret@k] over uniformly random orders. With relevances sorted descending
    /// r(1) ≥ … ≥ r(n), the best of a random m-subset is r(j) with probability
    /// C(n−j, m−1) / C(n, m) (j = smallest sorted index drawn).
    public static func expectedRandomRegret(_ relevance: [Double], k: Int) -> Double? {
        let sorted = relevance.sorted(by: >)
        guard let best = sorted.first, best > 0, k > 0 else { return nil }
        let n = sorted.count
        let m = min(k, n)
        var probability = Double(m) / Double(n)  // P(j = 1)
        var expectedTop = 0.0
        for j in 1...n {
            expectedTop += probability * sorted[j - 1]
            // P(j+1) = P(j) · (n − j − m + 1) / (n − j)
            if j < n { probability *= Double(max(0, n - j - m + 1)) / Double(n - j) }
        }
        return 100 * (best - expectedTop) / best
    }

    /// E[rank of best] over uniformly random orders: with t sources tied for the best among n,
    /// the best-ranked of them sits at expected position (n + 1) / (t + 1).
    public static func expectedRandomRankOfBest(_ relevance: [Double]) -> Double? {
        guard let best = relevance.max() else { return nil }
        let ties = relevance.filter { $0 == best }.count
        return Double(relevance.count + 1) / Double(ties + 1)
    }
}

/// What NDCG takes as a source's relevance.
public enum RelevanceGain: String, Sendable, CaseIterable {
    /// The observed score itself: gain 2^score − 1 (this package's original definition).
    case score
    /// TaskWeb's (Kim et al. 2023): n − the source's 0-based rank in the gold order (descending
    /// observed score, ties by name), so gain 2^(n − rank) − 1 for n candidate sources
    /// (`RankingMetrics.rankRelevances`). Regret@k and ρ stay on the observed scores.
    case rank
}

/// One candidate source for a target: its predicted similarity and observed relevance.
public struct RankedCandidate: Sendable, Equatable, Codable {
    /// Source name.
    public var name: String
    /// Predicted similarity (higher = predicted to transfer better).
    public var similarity: Double
    /// Observed score (relevance).
    public var relevance: Double

    /// Creates a candidate.
    public init(name: String, similarity: Double, relevance: Double) {
        self.name = name
        self.similarity = similarity
        self.relevance = relevance
    }
}

/// Metrics for one target, or why it was skipped.
public struct TargetEvaluation: Sendable, Equatable {
    /// Target name.
    public var target: String
    /// Number of candidate sources (observed for this target, source ≠ target).
    public var candidates: Int
    /// NDCG@k (nil when skipped).
    public var ndcg: Double?
    /// Regret@k in percent (nil when skipped).
    public var regret: Double?
    /// 1-based predicted rank of the truly best source (nil when skipped).
    public var rho: Double?
    /// Name of the truly best source.
    public var best: String?
    /// Expected NDCG@k, Regret@k, ρ of a random ranking.
    public var randomNDCG: Double?, randomRegret: Double?, randomRho: Double?
    /// Predicted order of the candidates (names).
    public var predictedOrder: [String]
    /// Why the target was skipped (`nil` when evaluated).
    public var skipped: String?
}

/// Averages over evaluated targets.
public struct EvaluationSummary: Sendable, Equatable {
    /// The k of NDCG@k and Regret@k.
    public var k: Int
    /// Per-target results, evaluated and skipped, ordered by target name.
    public var perTarget: [TargetEvaluation]
    /// Number of evaluated (not skipped) targets.
    public var targets: Int { perTarget.filter { $0.skipped == nil }.count }
    /// Number of skipped targets.
    public var skipped: Int { perTarget.count - targets }
    /// Mean NDCG@k over evaluated targets (nil when none).
    public var ndcg: Double? { mean(\.ndcg) }
    /// Mean Regret@k.
    public var regret: Double? { mean(\.regret) }
    /// Mean ρ.
    public var rho: Double? { mean(\.rho) }
    /// Mean expected NDCG@k of a random ranking.
    public var randomNDCG: Double? { mean(\.randomNDCG) }
    /// Mean expected Regret@k of a random ranking.
    public var randomRegret: Double? { mean(\.randomRegret) }
    /// Mean expected ρ of a random ranking.
    public var randomRho: Double? { mean(\.randomRho) }

    private func mean(_ path: KeyPath<TargetEvaluation, Double?>) -> Double? {
        let values = perTarget.filter { $0.skipped == nil }.compactMap { $0[keyPath: path] }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}

/// Evaluates transferability rankings against observed scores.
public enum TransferEvaluation {
    /// Predicted order: descending similarity, ties by ascending name.
    public static func predictedOrder(_ candidates: [RankedCandidate]) -> [RankedCandidate] {
        candidates.sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.name < $1.name }
    }

    /// Metrics for one target. Candidates named like the target are dropped first.
    ///
    /// With `gain: .rank`, NDCG@k and its random expectation use TaskWeb's rank relevances
    /// (`RelevanceGain.rank`); Regret@k, ρ and their random expectations always use the observed
    /// scores (Regret@k is a share of the best source's score).
    public static func evaluate(target: String, candidates: [RankedCandidate], k: Int, gain: RelevanceGain = .score) -> TargetEvaluation {
        let ordered = predictedOrder(candidates.filter { $0.name != target })
        let relevance = ordered.map(\.relevance)
        var result = TargetEvaluation(target: target, candidates: ordered.count, predictedOrder: ordered.map(\.name))
        guard !ordered.isEmpty else {
            result.skipped = "no observed sources other than the target"
            return result
        }
        let gainRelevance: [Double]
        switch gain {
        case .score:
            gainRelevance = relevance
        case .rank:
            // Gold ties are broken by name: rank the scores in name order, then map back to predicted order.
            let byName = ordered.indices.sorted { ordered[$0].name < ordered[$1].name }
            let ranked = RankingMetrics.rankRelevances(byName.map { relevance[$0] })
            var inPredictedOrder = [Double](repeating: 0, count: ordered.count)
            for (position, index) in byName.enumerated() { inPredictedOrder[index] = ranked[position] }
            gainRelevance = inPredictedOrder
        }
        guard let ndcg = RankingMetrics.ndcg(gainRelevance, k: k) else {
            result.skipped = "IDCG@\(k) is 0 (no source has a positive observed score)"
            return result
        }
        result.ndcg = ndcg
        result.regret = RankingMetrics.regret(relevance, k: k)
        result.rho = RankingMetrics.rankOfBest(relevance).map(Double.init)
        result.best = RankingMetrics.rankOfBest(relevance).map { ordered[$0 - 1].name }
        result.randomNDCG = RankingMetrics.expectedRandomNDCG(gainRelevance, k: k)
        result.randomRegret = RankingMetrics.expectedRandomRegret(relevance, k: k)
        result.randomRho = RankingMetrics.expectedRandomRankOfBest(relevance)
        return result
    }

    /// Evaluates every target; `candidatesByTarget` maps target → its candidates; `gain` as in
    /// `evaluate(target:candidates:k:gain:)`.
    public static func evaluate(_ candidatesByTarget: [String: [RankedCandidate]], k: Int, gain: RelevanceGain = .score) -> EvaluationSummary {
        EvaluationSummary(k: k, perTarget: candidatesByTarget.keys.sorted().map {
            evaluate(target: $0, candidates: candidatesByTarget[$0] ?? [], k: k, gain: gain)
        })
    }
}
