import Foundation

/// One candidate source for a target, as `fute-db query transfer` prints it.
public struct TransferRow: Sendable, Equatable {
    /// Source subject.
    public var source: String
    /// What the source is.
    public var kind: SubjectKind
    /// Similarity of the source to the target: example-level retrieval (``ExampleRetrieval``) when
    /// the space keeps examples, else the cosine of the embeddings (the Vu et al. / FUTE ranking;
    /// centered in spaces compared that way, see ``Comparison/centeredCosine``).
    public var similarity: Double
    /// Predicted relative transfer score from the target's neighbours' observed transfers
    /// (the mean of their per-target z-scores; `nil` without evidence).
    public var predicted: Double?
    /// The observed score for (source → target), if stored. Never used by `blended`.
    public var observed: Double?
    /// How many neighbour targets have an observation from this source.
    public var evidence: Int
    /// The blended score (see `TransferQueries`); rows are ordered by it.
    public var blended: Double
}

/// How a transfer ranking scored its candidates' similarity to the target.
public enum TransferSimilarity: String, Sendable, Equatable {
    /// Example-level retrieval in the space's example space (``ExampleRetrieval``).
    case exampleRetrieval = "example-retrieval"
    /// Cosine of the task vectors.
    case cosine
    /// Centered cosine of the task vectors (``Comparison/centeredCosine``).
    case centeredCosine = "centered-cosine"
}

/// A ranked list of sources and how it was made.
public struct TransferRanking: Sendable, Equatable {
    /// How similarity was scored.
    public var similarity: TransferSimilarity
    /// Observed neighbour targets consulted (0: the order is the similarity order).
    public var neighbourTargets: [String]
    /// The candidates, best first.
    public var rows: [TransferRow]

    /// One line naming the method, e.g. `example-retrieval similarity + observations of 5 neighbour targets`.
    public var method: String {
        let base = "\(similarity.rawValue) similarity"
        guard !neighbourTargets.isEmpty else { return base }
        return base + " + observed transfers of \(neighbourTargets.count) neighbour target\(neighbourTargets.count == 1 ? "" : "s") (\(neighbourTargets.joined(separator: ", ")))"
    }
}

/// Transferability: which sources to train on before a target.
///
/// Blended score, for target t and candidate source s:
/// 1. sim(s): example-level retrieval when the space keeps its datasets' examples
///    (``ExampleRetrieval``), else the (centered) cosine of the task vectors;
///    zsim(s) = (sim(s) − mean) / sd over the candidates.
/// 2. Observed targets t' ≠ t (with ≥ 2 observed sources and a similarity to t): per-target
///    z-scores z_t'(s) = (obs(s, t') − mean_t') / sd_t' over t''s sources other than t.
///    Observations of t itself are never used, so the blend is a prediction, and eval can score it
///    leave-one-target-out.
/// 3. Neighbours N = the `neighbours` observed targets most similar to t (by rank: whatever the
///    space's scale of similarities, the nearest ones are used). Evidence E_s = {t' ∈ N : obs(s, t')}.
/// 4. predicted(s) = mean of z_t'(s) over E_s; zpred(s) = predicted(s) standardized over the
///    candidates with evidence (0 without); blended(s) = zsim(s) + zpred(s). Both signals are put
///    on the same scale before they are added, with no weight to tune: a mean of a few z-scores
///    has a smaller spread than one, so adding it raw (the first release used 0.5 · predicted)
///    let similarity drown the evidence.
/// Measured on TaskWeb's real transfers (fute-bench transfer, README table).
public enum TransferQueries {
    /// Default number of neighbour targets consulted.
    public static let defaultNeighbours = 5

    /// Ranks candidate sources for `target` by blended score (ties: similarity, then name).
    /// - Parameters:
    ///   - sources: only candidates of this kind; `nil` for all kinds.
    ///   - metric: which observation metric to use (default `"score"`).
    ///   - similarities: name → similarity to the target (e.g. ``ExampleRetrieval``); `nil`: cosine of the vectors.
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` (field `target`) when the target has no embedding in the space.
    public static func rank(in snapshot: TaskSpaceSnapshot, target: String, k: Int, sources: SubjectKind? = nil,
                            metric: String = "score", neighbours: Int = defaultNeighbours,
                            similarities: [String: Double]? = nil) throws(FuteError) -> TransferRanking {
        let targetEntry = try snapshot.entry(target, field: "target")
        let candidates = snapshot.entries.filter { $0.name != target && (sources == nil || $0.kind == sources) }
        var ranking = scored(target: targetEntry, candidates: candidates, snapshot: snapshot, metric: metric, neighbours: neighbours,
                             similarities: similarities)
        ranking.rows = Array(ranking.rows.prefix(k))
        return ranking
    }

    /// Scores `candidates` for `target`; the target's own observations are shown as `observed`
    /// but never used for `predicted`/`blended`.
    public static func score(target: TaskEntry, candidates: [TaskEntry], snapshot: TaskSpaceSnapshot,
                             metric: String, neighbours: Int, similarities: [String: Double]? = nil) -> [TransferRow] {
        scored(target: target, candidates: candidates, snapshot: snapshot, metric: metric, neighbours: neighbours,
               similarities: similarities).rows
    }

    static func scored(target: TaskEntry, candidates: [TaskEntry], snapshot: TaskSpaceSnapshot,
                       metric: String, neighbours: Int, similarities: [String: Double]?) -> TransferRanking {
        let relevant = snapshot.observations.filter { $0.metric == metric && $0.source != $0.target }
        var observedForTarget: [String: Double] = [:]
        var byTarget: [String: [String: Double]] = [:]
        for record in relevant {
            if record.target == target.name {
                observedForTarget[record.source] = record.score
            } else if record.source != target.name {
                byTarget[record.target, default: [:]][record.source] = record.score
            }
        }
        let cosine = snapshot.cosine(to: target.vector)
        let vectors = Dictionary(snapshot.entries.map { ($0.name, $0.vector) }, uniquingKeysWith: { first, _ in first })
        func similarity(_ name: String) -> Double? {
            if let similarities { return similarities[name] }
            return vectors[name].map(cosine)
        }
        // Neighbour targets by rank of similarity, with their per-target z-scores.
        var neighbourList: [(name: String, similarity: Double, z: [String: Double])] = []
        for (name, scores) in byTarget where scores.count >= 2 && name != target.name {
            guard let s = similarity(name) else { continue }
            neighbourList.append((name, s, standardized(scores)))
        }
        neighbourList.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.name < $1.name }
        neighbourList = Array(neighbourList.prefix(max(0, neighbours)))

        let candidateSimilarities = candidates.map { similarity($0.name) ?? cosine($0.vector) }
        let zsim = standardized(Dictionary(zip(candidates.map(\.name), candidateSimilarities), uniquingKeysWith: { first, _ in first }))
        var predictions: [(predicted: Double?, evidence: Int)] = []
        var withEvidence: [String: Double] = [:]
        for candidate in candidates {
            var sum = 0.0, evidence = 0
            for neighbour in neighbourList {
                guard neighbour.name != candidate.name, let z = neighbour.z[candidate.name] else { continue }
                sum += z
                evidence += 1
            }
            let predicted = evidence > 0 ? sum / Double(evidence) : nil
            predictions.append((predicted, evidence))
            if let predicted { withEvidence[candidate.name] = predicted }
        }
        let zpred = standardized(withEvidence)
        var rows: [TransferRow] = []
        for ((candidate, similarity), prediction) in zip(zip(candidates, candidateSimilarities), predictions) {
            let blended = (zsim[candidate.name] ?? 0) + (zpred[candidate.name] ?? 0)
            rows.append(TransferRow(source: candidate.name, kind: candidate.kind, similarity: similarity, predicted: prediction.predicted,
                                    observed: observedForTarget[candidate.name], evidence: prediction.evidence, blended: blended))
        }
        rows.sort { (a: TransferRow, b: TransferRow) -> Bool in
            if a.blended != b.blended { return a.blended > b.blended }
            if a.similarity != b.similarity { return a.similarity > b.similarity }
            return a.source < b.source
        }
        let kind: TransferSimilarity = similarities != nil ? .exampleRetrieval : (snapshot.center != nil ? .centeredCosine : .cosine)
        return TransferRanking(similarity: kind, neighbourTargets: neighbourList.map(\.name), rows: rows)
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
    /// Ranking by cosine similarity (the issue's "predicted order").
    public var similarity: EvaluationSummary
    /// Ranking by the blended score, leave-one-target-out (the target's observations are hidden).
    public var blended: EvaluationSummary
    /// How similarity was scored.
    public var similarityKind: TransferSimilarity = .cosine
}

extension TransferEvaluation {
    /// Evaluates the similarity ranking and the blended ranking of every target in `truth`.
    ///
    /// Candidates S_t are the sources observed for t (source ≠ t) that have an embedding in the
    /// space; targets without an embedding in the space are skipped (and counted). The blended
    /// ranking sees the snapshot's observations minus every observation of t (to blend from other
    /// observations than the stored ones, e.g. a truth file's, pass a snapshot whose `observations`
    /// are those). `gain` chooses NDCG's relevance (`RelevanceGain`). `similarities[t]`, when
    /// present, replaces the cosine similarities to target t (e.g. ``ExampleRetrieval``'s).
    public static func evaluate(snapshot: TaskSpaceSnapshot, truth: [TransferRecord], k: Int,
                                metric: String = "score", neighbours: Int = TransferQueries.defaultNeighbours,
                                gain: RelevanceGain = .score, similarities: [String: [String: Double]] = [:]) -> TransferEvaluationReport {
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
            let hidden = snapshot.observing(snapshot.observations.filter { $0.target != target })
            let rows = TransferQueries.score(target: targetEntry, candidates: sources, snapshot: hidden, metric: metric, neighbours: neighbours,
                                             similarities: similarities[target])
            similarityCandidates[target] = rows.map { RankedCandidate(name: $0.source, similarity: $0.similarity, relevance: scores[$0.source] ?? 0) }
            blendedCandidates[target] = rows.map { RankedCandidate(name: $0.source, similarity: $0.blended, relevance: scores[$0.source] ?? 0) }
        }
        var similarity = evaluate(similarityCandidates, k: k, gain: gain)
        var blended = evaluate(blendedCandidates, k: k, gain: gain)
        similarity.perTarget = (similarity.perTarget + missing).sorted { $0.target < $1.target }
        blended.perTarget = (blended.perTarget + missing).sorted { $0.target < $1.target }
        let kind: TransferSimilarity = !similarities.isEmpty ? .exampleRetrieval : (snapshot.center != nil ? .centeredCosine : .cosine)
        return TransferEvaluationReport(similarity: similarity, blended: blended, similarityKind: kind)
    }
}
