import Foundation

/// The issue-4 query layer on a store: nearest tasks with metadata filters, transfer sources,
/// model selection and evaluation. Each loads one space's snapshot inside the read transaction
/// and answers with exact Double scoring (task libraries are small).
extension DatabaseReader {
    /// Everything the query layer needs about `space`: embeddings with subjects' kinds and
    /// top-level scalar metadata, and every observation.
    /// - Throws: ``FuteError`` `notFound` for an unknown space.
    public func taskSnapshot(space name: String) throws -> TaskSpaceSnapshot {
        guard let space = try space(named: name) else {
            let known = try spaces().map(\.name)
            throw FuteError(.notFound, "unknown space \"\(name)\"; \(known.isEmpty ? "the store has no spaces yet" : "spaces: \(known.joined(separator: ", "))")", field: "space")
        }
        // Only the space's subjects are read: the cost follows the space, not the store (whose
        // subjects include every example of every example space).
        let entries = try subjectEmbeddings(in: name).map { subject, embedding in
            TaskEntry(name: subject.name, kind: subject.kind, metadata: Self.metadataText(subject.metadata), vector: embedding.vector)
        }
        let observations = try self.observations()
        let store = self.store
        return TaskSpaceSnapshot(space: name, metric: space.metric, comparison: space.comparison, dimension: space.dimension,
                                 entries: entries, observations: observations,
                                 otherSpacesOf: { subject in try store.read { try $0.spaces(of: subject) }.filter { $0 != name } })
    }

    /// Subjects nearest to `subject` in `space` by the space's metric, filtered by kind and
    /// metadata (`filters` all must match), leaving `subject` out.
    public func nearestTasks(space: String, to subject: String, k: Int, kind: SubjectKind? = nil,
                             filters: [MetadataFilter] = []) throws -> [TaskMatch] {
        try TaskQueries.nearest(in: taskSnapshot(space: space), toSubject: subject, k: k, kind: kind, filters: filters)
    }

    /// Candidate sources for `target`, best first by the blended score (see ``TransferQueries``).
    /// When the space keeps its datasets' examples (``ExampleSpaces``) and the target has some,
    /// similarity is example-level retrieval (``ExampleRetrieval``; `retrieval: nil` turns it off);
    /// the ranking says which it used.
    public func transferSources(space: String, target: String, k: Int, sources: SubjectKind? = nil, metric: String = "score",
                                neighbours: Int = TransferQueries.defaultNeighbours,
                                retrieval: ExampleRetrieval? = .standard) throws -> TransferRanking {
        let snapshot = try taskSnapshot(space: space)
        _ = try snapshot.entry(target, field: "target")
        let similarities = try retrieval?.similarities(space: space, target: target,
                                                       candidates: snapshot.entries.map(\.name), in: self)
        return try TransferQueries.rank(in: snapshot, target: target, k: k, sources: sources,
                                        metric: metric, neighbours: neighbours, similarities: similarities)
    }

    /// Model subjects ranked by cosine similarity to the dataset `task`.
    public func models(space: String, task: String, k: Int, filters: [MetadataFilter] = []) throws -> [TaskMatch] {
        try TaskQueries.models(in: taskSnapshot(space: space), forTask: task, k: k, filters: filters)
    }

    /// NDCG@k, Regret@k and ρ of the similarity and blended rankings against `truth`
    /// (default: the stored observations). When `truth` is given, the blended ranking is also made
    /// from it (leave-one-target-out), not from the stored observations. `gain` chooses NDCG's
    /// relevance: the observed score, or TaskWeb's rank relevance (`RelevanceGain`).
    public func evaluateTransfer(space: String, truth: [TransferObservation]? = nil, k: Int = 3, metric: String = "score",
                                 neighbours: Int = TransferQueries.defaultNeighbours, gain: RelevanceGain = .score,
                                 retrieval: ExampleRetrieval? = .standard) throws -> TransferEvaluationReport {
        var snapshot = try taskSnapshot(space: space)
        if let truth { snapshot = snapshot.observing(truth) }
        var similarities: [String: [String: Double]] = [:]
        if let retrieval {
            let names = snapshot.entries.map(\.name)
            for target in Set(snapshot.observations.filter { $0.metric == metric }.map(\.target)) where names.contains(target) {
                similarities[target] = try retrieval.similarities(space: space, target: target, candidates: names, in: self)
            }
        }
        return TransferEvaluation.evaluate(snapshot: snapshot, truth: snapshot.observations, k: k, metric: metric, neighbours: neighbours, gain: gain,
                                           similarities: similarities)
    }

    /// Top-level scalar metadata rendered as text (strings as is, integral numbers without a
    /// fraction, booleans as true/false); nested values are left out.
    static func metadataText(_ metadata: JSONValue) -> [String: String] {
        guard case .object(let object) = metadata else { return [:] }
        return object.compactMapValues { value in
            switch value {
            case .string(let text): return text
            case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : "\(number)"
            case .bool(let flag): return flag ? "true" : "false"
            default: return nil
            }
        }
    }
}
