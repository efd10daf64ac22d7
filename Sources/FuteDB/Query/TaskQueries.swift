import Foundation

/// One subject's embedding in a space, as the query layer sees it.
public struct TaskEntry: Sendable, Equatable {
    /// Subject name.
    public var name: String
    /// `"dataset"` or `"model"`.
    public var kind: String
    /// Top-level scalar metadata rendered as text (`"sentiment"`, `"0.5"`, `"true"`), for filters and display.
    public var metadata: [String: String]
    /// The embedding.
    public var vector: [Float]

    /// Creates an entry.
    public init(name: String, kind: String, metadata: [String: String] = [:], vector: [Float]) {
        self.name = name
        self.kind = kind
        self.metadata = metadata
        self.vector = vector
    }
}

/// Everything the query layer reads about one space, loaded once per query (task libraries are
/// small: hundreds to thousands of subjects, so exact scoring in Double is cheap and exact).
public struct TaskSpaceSnapshot: Sendable {
    /// Space name.
    public var space: String
    /// The space's metric name (`cosine`, `l2`, `ip`), used by `nearest`.
    public var metric: String
    /// Vector dimension.
    public var dimension: Int
    /// Every embedded subject, in any order.
    public var entries: [TaskEntry]
    /// Observed transfer results (all metrics; filtered by `metric` where used).
    public var observations: [TransferRecord]
    /// For subjects that are not in this space: the other spaces that hold them (for the
    /// "refuses to mix spaces" error).
    public var otherSpacesOf: @Sendable (String) -> [String]

    /// When set, scores are cosines of unit vectors minus this center (see ``centeredComparison``);
    /// `nil`: the space's metric as is.
    public var center: [Float]?

    /// The `comparison` a space's provenance records (in `extra`) to have its tasks compared by
    /// centered cosine: each vector is scaled to unit length and the mean unit vector of the space's
    /// datasets is subtracted before the cosine. It removes what every task of the space shares
    /// (a "hub" direction that makes some tasks near to all others), as CSLS does for word vectors.
    public static let centeredComparison = "centered-cosine"
    /// Fewer datasets than this leave the comparison plain cosine (a center of one or two tasks
    /// would cancel them).
    public static let minimumDatasetsForCentering = 3

    /// Creates a snapshot. With `centering`, a cosine space that holds at least
    /// ``minimumDatasetsForCentering`` datasets gets `center` = the mean of its datasets' unit vectors.
    public init(space: String, metric: String, dimension: Int, entries: [TaskEntry], observations: [TransferRecord] = [],
                centering: Bool = false, otherSpacesOf: @escaping @Sendable (String) -> [String] = { _ in [] }) {
        self.space = space
        self.metric = metric
        self.dimension = dimension
        self.entries = entries
        self.observations = observations
        self.otherSpacesOf = otherSpacesOf
        let datasets = entries.filter { $0.kind == "dataset" && $0.vector.count == dimension }
        if centering && metric == "cosine" && datasets.count >= Self.minimumDatasetsForCentering {
            var sum = [Double](repeating: 0, count: dimension)
            for entry in datasets {
                let norm = TaskScoring.norm(entry.vector)
                guard norm > 0 else { continue }
                for i in 0..<dimension { sum[i] += Double(entry.vector[i]) / norm }
            }
            center = sum.map { Float($0 / Double(datasets.count)) }
        }
    }

    /// `vector` as this space compares it: unit length minus `center`, or unchanged without a center.
    public func comparable(_ vector: [Float]) -> [Float] {
        guard let center else { return vector }
        let norm = TaskScoring.norm(vector)
        guard norm > 0 else { return vector }
        return zip(vector, center).map { Float(Double($0) / norm - Double($1)) }
    }

    /// Scores entries against `vector` as this space compares (see ``TaskMatch/score``): the space's
    /// metric, or centered cosine when the snapshot has a center. `vector` is prepared once.
    public func scorer(for vector: [Float]) -> (TaskEntry) -> Double {
        guard center != nil else { return { TaskScoring.score(metric, vector, $0.vector) } }
        let cosine = cosine(to: vector)
        return { cosine($0.vector) }
    }

    /// Cosine similarity to `vector` whatever the space's metric (transfer weighting), centered when
    /// the snapshot has a center. `vector` is prepared once.
    public func cosine(to vector: [Float]) -> ([Float]) -> Double {
        guard center != nil else { return { TaskScoring.cosine(vector, $0) } }
        let query = comparable(vector)
        return { TaskScoring.cosine(query, comparable($0)) }
    }

    /// The entry named `name`, or an error that names the space (and the space that does hold it).
    public func entry(_ name: String) throws(QueryError) -> TaskEntry {
        if let entry = entries.first(where: { $0.name == name }) { return entry }
        let others = otherSpacesOf(name)
        if let other = others.first {
            throw QueryError(.otherSpace,
                             "'\(name)' has no embedding in space '\(space)' but has one in space '\(other)'; vectors from different spaces are never compared — query with --space \(other), or embed '\(name)' in '\(space)'")
        }
        throw QueryError(.unknownSubject, "subject '\(name)' has no embedding in space '\(space)' nor in any other space; check the name, or ingest it first (fute-db ingest)")
    }
}

/// An observed transfer result, as the query layer uses it: the stored record itself.
public typealias TransferRecord = TransferObservation

/// A query-layer failure: what happened and what to do.
public struct QueryError: Error, CustomStringConvertible, Equatable {
    /// Categories callers may branch on.
    public enum Code: Sendable, Equatable { case unknownSubject, otherSpace, dimensionMismatch, noObservations, badFilter }
    /// The category.
    public var code: Code
    /// The message.
    public var message: String
    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    /// The message.
    public var description: String { message }
}

/// A metadata filter `key=value`: the subject's top-level metadata `key`, rendered as text, equals `value`.
public struct MetadataFilter: Sendable, Equatable {
    /// Metadata key.
    public var key: String
    /// Required value (text).
    public var value: String

    /// Parses `key=value`.
    public init(parsing text: String) throws(QueryError) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw QueryError(.badFilter, "filter '\(text)' must look like key=value, e.g. --where family=sentiment")
        }
        key = String(text[..<equals])
        value = String(text[text.index(after: equals)...])
    }

    /// Creates a filter.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Whether `entry` passes.
    public func matches(_ entry: TaskEntry) -> Bool { entry.metadata[key] == value }
}

/// One row of a nearest-task answer.
public struct TaskMatch: Sendable, Equatable {
    /// Subject name.
    public var name: String
    /// `dataset` or `model`.
    public var kind: String
    /// Similarity for cosine/ip (higher is nearer; centered cosine in spaces compared that way),
    /// squared L2 for l2 (lower is nearer).
    public var score: Double
    /// The subject's metadata.
    public var metadata: [String: String]

    /// Creates a match.
    public init(name: String, kind: String, score: Double, metadata: [String: String] = [:]) {
        self.name = name
        self.kind = kind
        self.score = score
        self.metadata = metadata
    }
}

/// Scoring in Double (exact for ranking on small task libraries).
public enum TaskScoring {
    /// Euclidean norm, in Double.
    public static func norm(_ a: [Float]) -> Double {
        var total = 0.0
        for x in a { total += Double(x) * Double(x) }
        return total.squareRoot()
    }

    /// Cosine similarity; 0 when either vector is zero.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[i]), y = Double(b[i])
            dot += x * y
            na += x * x
            nb += y * y
        }
        guard na > 0, nb > 0 else { return 0 }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    /// The user-facing score of `metric`: cosine similarity, dot product, or squared L2.
    public static func score(_ metric: String, _ a: [Float], _ b: [Float]) -> Double {
        var total = 0.0
        switch metric {
        case "l2":
            for i in 0..<min(a.count, b.count) {
                let difference = Double(a[i]) - Double(b[i])
                total += difference * difference
            }
            return total
        case "ip":
            for i in 0..<min(a.count, b.count) { total += Double(a[i]) * Double(b[i]) }
            return total
        default:
            return cosine(a, b)
        }
    }

    /// Whether higher scores are nearer under `metric`.
    public static func higherIsNearer(_ metric: String) -> Bool { metric != "l2" }
}

/// Nearest tasks and model selection over a snapshot.
public enum TaskQueries {
    /// Subjects nearest to `vector` by the space's metric, filtered by kind and metadata, leaving
    /// `excluding` out. Ties are broken by name. Throws when the vector's dimension is wrong.
    public static func nearest(in snapshot: TaskSpaceSnapshot, to vector: [Float], k: Int, kind: String? = nil,
                               filters: [MetadataFilter] = [], excluding: String? = nil) throws(QueryError) -> [TaskMatch] {
        guard vector.count == snapshot.dimension else {
            throw QueryError(.dimensionMismatch, "query vector has \(vector.count) numbers but space '\(snapshot.space)' has dimension \(snapshot.dimension)")
        }
        let higher = TaskScoring.higherIsNearer(snapshot.metric)
        let score = snapshot.scorer(for: vector)
        var matches: [TaskMatch] = []
        for entry in snapshot.entries {
            if entry.name == excluding { continue }
            if let kind, entry.kind != kind { continue }
            if !filters.allSatisfy({ $0.matches(entry) }) { continue }
            matches.append(TaskMatch(name: entry.name, kind: entry.kind, score: score(entry), metadata: entry.metadata))
        }
        matches.sort { (a: TaskMatch, b: TaskMatch) -> Bool in
            if a.score != b.score { return higher ? a.score > b.score : a.score < b.score }
            return a.name < b.name
        }
        return Array(matches.prefix(k))
    }

    /// Subjects nearest to the stored subject `name` (which is left out of the results).
    public static func nearest(in snapshot: TaskSpaceSnapshot, toSubject name: String, k: Int, kind: String? = nil,
                               filters: [MetadataFilter] = []) throws(QueryError) -> [TaskMatch] {
        let entry = try snapshot.entry(name)
        return try nearest(in: snapshot, to: entry.vector, k: k, kind: kind, filters: filters, excluding: name)
    }

    /// Model (and model+prompt) subjects ranked by cosine similarity to the dataset `task` (centered
    /// when the space is compared that way).
    public static func models(in snapshot: TaskSpaceSnapshot, forTask task: String, k: Int,
                              filters: [MetadataFilter] = []) throws(QueryError) -> [TaskMatch] {
        let entry = try snapshot.entry(task)
        var cosineSnapshot = snapshot
        cosineSnapshot.metric = "cosine"
        return try nearest(in: cosineSnapshot, to: entry.vector, k: k, kind: "model", filters: filters, excluding: task)
    }
}
