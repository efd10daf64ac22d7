import Foundation

/// One subject's embedding in a space, as the query layer sees it.
public struct TaskEntry: Sendable, Equatable {
    /// Subject name.
    public var name: String
    /// What the subject is.
    public var kind: SubjectKind
    /// Top-level scalar metadata rendered as text (`"sentiment"`, `"0.5"`, `"true"`), for filters and display.
    public var metadata: [String: String]
    /// The embedding.
    public var vector: [Float]

    /// Creates an entry.
    public init(name: String, kind: SubjectKind, metadata: [String: String] = [:], vector: [Float]) {
        self.name = name
        self.kind = kind
        self.metadata = metadata
        self.vector = vector
    }
}

/// Everything the query layer reads about one space, loaded once per query (task libraries are
/// small: hundreds to thousands of subjects, so exact scoring in Double is cheap and exact).
/// Immutable: ``observing(_:)`` makes a copy with other observations.
public struct TaskSpaceSnapshot: Sendable {
    /// Space name.
    public let space: String
    /// The space's metric, used by `nearest`.
    public let metric: Metric
    /// How the space's tasks are compared (``Space/comparison``).
    public let comparison: Comparison
    /// Vector dimension.
    public let dimension: Int
    /// Every embedded subject, in any order.
    public let entries: [TaskEntry]
    /// Observed transfer results (all metrics; filtered by `metric` where used).
    public let observations: [TransferRecord]
    /// For subjects that are not in this space: the other spaces that hold them (for the
    /// "refuses to mix spaces" error). A failure to read them is reported, not taken for "none".
    public let otherSpacesOf: @Sendable (String) throws -> [String]

    /// The mean unit vector of the space's datasets when they are compared by centered cosine
    /// (``Comparison/centeredCosine``, a cosine space, at least ``minimumDatasetsForCentering``
    /// datasets); `nil`: the space's metric as is.
    public let center: [Float]?

    /// Fewer datasets than this leave the comparison plain cosine (a center of one or two tasks
    /// would cancel them).
    public static let minimumDatasetsForCentering = 3

    /// Creates a snapshot; `center` follows from `comparison` and the entries.
    public init(space: String, metric: Metric, comparison: Comparison = .metric, dimension: Int, entries: [TaskEntry],
                observations: [TransferRecord] = [], otherSpacesOf: @escaping @Sendable (String) throws -> [String] = { _ in [] }) {
        self.space = space
        self.metric = metric
        self.comparison = comparison
        self.dimension = dimension
        self.entries = entries
        self.observations = observations
        self.otherSpacesOf = otherSpacesOf
        let datasets = entries.filter { $0.kind == .dataset && $0.vector.count == dimension }
        guard comparison == .centeredCosine && metric == .cosine && datasets.count >= Self.minimumDatasetsForCentering else {
            center = nil
            return
        }
        var sum = [Double](repeating: 0, count: dimension)
        for entry in datasets {
            let norm = TaskScoring.norm(entry.vector)
            guard norm > 0 else { continue }
            for i in 0..<dimension { sum[i] += Double(entry.vector[i]) / norm }
        }
        center = sum.map { Float($0 / Double(datasets.count)) }
    }

    /// This snapshot with `observations` in place of its own (e.g. a truth file's).
    public func observing(_ observations: [TransferRecord]) -> TaskSpaceSnapshot {
        TaskSpaceSnapshot(space: space, metric: metric, comparison: comparison, dimension: dimension, entries: entries,
                          observations: observations, otherSpacesOf: otherSpacesOf)
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
        guard center != nil else { return { [metric] in TaskScoring.score(metric, vector, $0.vector) } }
        let cosine = cosine(to: vector)
        return { cosine($0.vector) }
    }

    /// Cosine similarity to `vector` whatever the space's metric (transfer weighting, model
    /// selection), centered when the snapshot has a center. `vector` is prepared once.
    public func cosine(to vector: [Float]) -> ([Float]) -> Double {
        guard center != nil else { return { TaskScoring.cosine(vector, $0) } }
        let query = comparable(vector)
        return { TaskScoring.cosine(query, comparable($0)) }
    }

    /// The entry named `name`.
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` naming the space (and the spaces that do
    ///   hold the subject: vectors of different spaces are never compared).
    public func entry(_ name: String, field: String = "subject") throws(FuteError) -> TaskEntry {
        if let entry = entries.first(where: { $0.name == name }) { return entry }
        let others: [String]
        do {
            others = try otherSpacesOf(name)
        } catch let error as FuteError {
            throw error
        } catch {
            throw FuteError(.storage, "subject \"\(name)\" has no embedding in space \"\(space)\", and the spaces that hold it could not be read: \(error)", field: field)
        }
        if !others.isEmpty {
            throw FuteError(.notFound,
                            "subject \"\(name)\" has no embedding in space \"\(space)\" but has one in space\(others.count == 1 ? "" : "s") \(others.map { "\"\($0)\"" }.joined(separator: ", ")); vectors of different spaces are never compared — query one of those, or embed \"\(name)\" in \"\(space)\"",
                            field: field)
        }
        throw FuteError(.notFound, "subject \"\(name)\" has no embedding in space \"\(space)\" nor in any other space; check the name, or ingest it first", field: field)
    }
}

/// An observed transfer result, as the query layer uses it: the stored record itself.
public typealias TransferRecord = TransferObservation

/// A metadata filter `key=value`: the subject's top-level metadata `key`, rendered as text, equals `value`.
public struct MetadataFilter: Sendable, Equatable {
    /// Metadata key.
    public var key: String
    /// Required value (text).
    public var value: String

    /// Parses `key=value`.
    /// - Throws: ``FuteError/Code-swift.enum/invalidArgument`` (field `filter`) without a key.
    public init(parsing text: String) throws(FuteError) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw FuteError(.invalidArgument, "filter \"\(text)\" must look like key=value, e.g. family=sentiment", field: "filter")
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
    /// What the subject is.
    public var kind: SubjectKind
    /// Similarity for cosine/ip (higher is nearer; centered cosine in spaces compared that way),
    /// squared L2 for l2 (lower is nearer).
    public var score: Double
    /// The subject's metadata.
    public var metadata: [String: String]

    /// Creates a match.
    public init(name: String, kind: SubjectKind, score: Double, metadata: [String: String] = [:]) {
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
    public static func score(_ metric: Metric, _ a: [Float], _ b: [Float]) -> Double {
        var total = 0.0
        switch metric {
        case .l2:
            for i in 0..<min(a.count, b.count) {
                let difference = Double(a[i]) - Double(b[i])
                total += difference * difference
            }
            return total
        case .ip:
            for i in 0..<min(a.count, b.count) { total += Double(a[i]) * Double(b[i]) }
            return total
        case .cosine:
            return cosine(a, b)
        }
    }

    /// Whether higher scores are nearer under `metric`.
    public static func higherIsNearer(_ metric: Metric) -> Bool { metric != .l2 }
}

/// Nearest tasks and model selection over a snapshot.
public enum TaskQueries {
    /// Subjects nearest to `vector` as the space compares (``TaskSpaceSnapshot/scorer(for:)``),
    /// filtered by kind and metadata, leaving `excluding` out. Ties are broken by name.
    /// - Throws: ``FuteError/Code-swift.enum/dimensionMismatch`` when the vector's dimension is wrong.
    public static func nearest(in snapshot: TaskSpaceSnapshot, to vector: [Float], k: Int, kind: SubjectKind? = nil,
                               filters: [MetadataFilter] = [], excluding: String? = nil) throws(FuteError) -> [TaskMatch] {
        guard vector.count == snapshot.dimension else {
            throw FuteError(.dimensionMismatch, "the query vector has \(vector.count) numbers but space \"\(snapshot.space)\" has dimension \(snapshot.dimension)", field: "vector")
        }
        let score = snapshot.scorer(for: vector)
        return ranked(snapshot, k: k, kind: kind, filters: filters, excluding: excluding,
                      higherIsNearer: snapshot.center != nil || TaskScoring.higherIsNearer(snapshot.metric), score: score)
    }

    /// Subjects nearest to the stored subject `name` (which is left out of the results).
    public static func nearest(in snapshot: TaskSpaceSnapshot, toSubject name: String, k: Int, kind: SubjectKind? = nil,
                               filters: [MetadataFilter] = []) throws(FuteError) -> [TaskMatch] {
        let entry = try snapshot.entry(name)
        return try nearest(in: snapshot, to: entry.vector, k: k, kind: kind, filters: filters, excluding: name)
    }

    /// Model (and model+prompt) subjects ranked by cosine similarity to the dataset `task` (centered
    /// when the space is compared that way), whatever the space's metric.
    public static func models(in snapshot: TaskSpaceSnapshot, forTask task: String, k: Int,
                              filters: [MetadataFilter] = []) throws(FuteError) -> [TaskMatch] {
        let entry = try snapshot.entry(task, field: "task")
        let cosine = snapshot.cosine(to: entry.vector)
        return ranked(snapshot, k: k, kind: .model, filters: filters, excluding: task, higherIsNearer: true) { cosine($0.vector) }
    }

    private static func ranked(_ snapshot: TaskSpaceSnapshot, k: Int, kind: SubjectKind?, filters: [MetadataFilter], excluding: String?,
                               higherIsNearer higher: Bool, score: (TaskEntry) -> Double) -> [TaskMatch] {
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
}
