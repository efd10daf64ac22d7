import Foundation

/// One candidate source for a target, as `fute-db query transfer` prints it.
public struct TransferRow: Sendable, Equatable {
    /// Source subject.
    public var source: String
    /// `dataset` or `model`.
    public var kind: String
    /// Cosine similarity of the source's and the target's embeddings (the Vu et al. / FUTE ranking;
    /// centered in spaces compared that way, see ``TaskSpaceSnapshot/centeredComparison``).
    public var similarity: Double
    /// Predicted relative transfer score from the target's neighbours' observed transfers
    /// (a weighted mean of per-target z-scores; `nil` without evidence).
    public var predicted: Double?
    /// The observed score for (source → target), if stored. Never used by `blended`.
    public var observed: Double?
    /// How many neighbour targets have an observation from this source.
    public var evidence: Int
    /// The blended score (see `TransferQueries`); rows are ordered by it.
    public var blended: Double
}

/// Transferability: which sources to train on before a target.
///
/// Blended score, for target t and candidate source s (all similarities are cosine):
/// 1. sim(s) = cos(e_s, e_t); zsim(s) = (sim(s) − mean sim) / sd sim over the candidates.
/// 2. Observed targets t' ≠ t (with an embedding and ≥ 2 observed sources): per-target z-scores
///    z_t'(s) = (obs(s, t') − mean_t') / sd_t' (0 when sd is 0). Observations of t itself are
///    never used, so the blend is a prediction, and eval can score it leave-one-target-out.
/// 3. Neighbours N = the `neighbours` observed targets most similar to t with cos(e_t, e_t') > 0,
///    weight w(t') = cos(e_t, e_t'). Evidence E_s = {t' ∈ N : obs(s, t') exists}, W_s = Σ w.
/// 4. predicted(s) = Σ_{E_s} w · z_t'(s) / W_s;
///    blended(s) = (zsim(s) + W_s · predicted(s)) / (1 + W_s).
/// Without evidence the blend is zsim, so the order is the pure similarity order; with strong,
/// close evidence it moves towards what similar targets actually observed.
public enum TransferQueries {
    /// Default number of neighbour targets consulted.
    public static let defaultNeighbours = 5

    /// Ranks candidate sources for `target` by blended score (ties: similarity, then name).
    /// - Parameters:
    ///   - sources: `"dataset"`, `"model"`, or `nil` for all kinds.
    ///   - metric: which observation metric to use (default `"score"`).
    public static func rank(in snapshot: TaskSpaceSnapshot, target: String, k: Int, sources: String? = nil,
                            metric: String = "score", neighbours: Int = defaultNeighbours) throws(QueryError) -> [TransferRow] {
        let targetEntry = try snapshot.entry(target)
        let candidates = snapshot.entries.filter { $0.name != target && (sources == nil || $0.kind == sources) }
        let rows = score(target: targetEntry, candidates: candidates, snapshot: snapshot, metric: metric, neighbours: neighbours)
        return Array(rows.prefix(k))
    }

    /// Scores `candidates` for `target`; the target's own observations are shown as `observed`
    /// but never used for `predicted`/`blended`.
    public static func score(target: TaskEntry, candidates: [TaskEntry], snapshot: TaskSpaceSnapshot,
                             metric: String, neighbours: Int) -> [TransferRow] {
        let relevant = snapshot.observations.filter { $0.metric == metric && $0.source != $0.target }
        var observedForTarget: [String: Double] = [:]
        var byTarget: [String: [String: Double]] = [:]
        for record in relevant {
            if record.target == target.name {
                observedForTarget[record.source] = record.score
            } else {
                byTarget[record.target, default: [:]][record.source] = record.score
            }
        }
        let similarity = snapshot.cosine(to: target.vector)
        // Per-target z-scores of observed transfers.
        let vectors = Dictionary(snapshot.entries.map { ($0.name, $0.vector) }, uniquingKeysWith: { first, _ in first })
        var neighbourList: [(name: String, weight: Double, z: [String: Double])] = []
        for (name, scores) in byTarget where scores.count >= 2 {
            guard let vector = vectors[name] else { continue }
            let weight = similarity(vector)
            guard weight > 0 else { continue }
            neighbourList.append((name, weight, standardized(scores)))
        }
        neighbourList.sort { $0.weight != $1.weight ? $0.weight > $1.weight : $0.name < $1.name }
        neighbourList = Array(neighbourList.prefix(max(0, neighbours)))

        let similarities = candidates.map { similarity($0.vector) }
        let zsim = standardized(Dictionary(uniqueKeysWithValues: zip(candidates.map(\.name), similarities)))
        var rows: [TransferRow] = []
        for (candidate, similarity) in zip(candidates, similarities) {
            var weightSum = 0.0, weighted = 0.0, evidence = 0
            for neighbour in neighbourList {
                guard let z = neighbour.z[candidate.name], neighbour.name != candidate.name else { continue }
                weightSum += neighbour.weight
                weighted += neighbour.weight * z
                evidence += 1
            }
            let predicted = evidence > 0 ? weighted / weightSum : nil
            let base = zsim[candidate.name] ?? 0
            let blended = (base + weightSum * (predicted ?? 0)) / (1 + weightSum)
            rows.append(TransferRow(source: candidate.name, kind: candidate.kind, similarity: similarity, predicted: predicted,
                                    observed: observedForTarget[candidate.name], evidence: evidence, blended: blended))
        }
        rows.sort { (a: TransferRow, b: TransferRow) -> Bool in
            if a.blended != b.blended { return a.blended > b.blended }
            if a.similarity != b.similarity { return a.similarity > b.similarity }
            return a.source < b.source
        }
        return rows
    }

    /// (x − mean) / population sd; all 0 when sd is 0.
    static func standardized(_ values: [String: Double]) -> [String: Double] {
        guard !values.isEmpty else { return [:] }
        let mean = values.values.reduce(0, +) / Double(values.count)
        let variance = values.values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        let sd = variance.squareRoot()
        guard sd > 1e-12 else { return values.mapValues { _ in 0 } }
        return values.mapValues { ($0 - mean) / sd }
    }
}

/// `fute-db eval`: transferability rankings scored against observed results.
public struct TransferEvaluationReport: Sendable {
    /// Ranking by cosine similarity (the "predicted order").
    public var similarity: EvaluationSummary
    /// Ranking by the blended score, leave-one-target-out (the target's observations are hidden).
    public var blended: EvaluationSummary
}

extension TransferEvaluation {
    /// Evaluates the similarity ranking and the blended ranking of every target in `truth`.
    ///
    /// Candidates S_t are the sources observed for t (source ≠ t) that have an embedding in the
    /// space; targets without an embedding in the space are skipped (and counted). The blended
    /// ranking sees the snapshot's observations minus every observation of t (to blend from other
    /// observations than the stored ones, e.g. a truth file's, pass a snapshot whose `observations`
    /// are those). `gain` chooses NDCG's relevance (`RelevanceGain`).
    public static func evaluate(snapshot: TaskSpaceSnapshot, truth: [TransferRecord], k: Int,
                                metric: String = "score", neighbours: Int = TransferQueries.defaultNeighbours,
                                gain: RelevanceGain = .score) -> TransferEvaluationReport {
        let entries = Dictionary(snapshot.entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var truthByTarget: [String: [String: Double]] = [:]
        for record in truth where record.metric == metric && record.source != record.target {
            truthByTarget[record.target, default: [:]][record.source] = record.score
        }
        var similarityCandidates: [String: [RankedCandidate]] = [:]
        var blendedCandidates: [String: [RankedCandidate]] = [:]
        var missing: [TargetEvaluation] = []
        for (target, scores) in truthByTarget {
            guard let targetEntry = entries[target] else {
                missing.append(TargetEvaluation(target: target, candidates: scores.count, predictedOrder: [],
                                                skipped: "no embedding in space '\(snapshot.space)'"))
                continue
            }
            let sources = scores.keys.sorted().compactMap { entries[$0] }
            var hidden = snapshot
            hidden.observations = snapshot.observations.filter { $0.target != target }
            let rows = TransferQueries.score(target: targetEntry, candidates: sources, snapshot: hidden, metric: metric, neighbours: neighbours)
            similarityCandidates[target] = rows.map { RankedCandidate(name: $0.source, similarity: $0.similarity, relevance: scores[$0.source] ?? 0) }
            blendedCandidates[target] = rows.map { RankedCandidate(name: $0.source, similarity: $0.blended, relevance: scores[$0.source] ?? 0) }
        }
        var similarity = evaluate(similarityCandidates, k: k, gain: gain)
        var blended = evaluate(blendedCandidates, k: k, gain: gain)
        similarity.perTarget = (similarity.perTarget + missing).sorted { $0.target < $1.target }
        blended.perTarget = (blended.perTarget + missing).sorted { $0.target < $1.target }
        return TransferEvaluationReport(similarity: similarity, blended: blended)
    }
}
