import Foundation

/// Example spaces: the per-example vectors of a space's datasets, HNSW-indexed like any space.
///
/// A task space `S` may have a companion space `S#examples` holding one vector per example of
/// each dataset (e.g. the sentence embedding of each (text, text pair) or (text, choice) input).
/// Each example is a subject of kind ``SubjectKind/example`` named `<dataset>#<i>` whose metadata
/// says `{"of": "<dataset>"}`. The query layer scores transfer by how a target's examples
/// retrieve each source's examples in this space (see ``ExampleRetrieval``); deleting the dataset
/// deletes its examples.
public enum ExampleSpaces {
    /// The example space of the task space `space`.
    public static func name(of space: String) -> String { space + "#examples" }

    /// The subject name of example `index` of `dataset`.
    public static func subjectName(dataset: String, index: Int) -> String { "\(dataset)#\(index)" }

    /// The dataset an example subject belongs to (the name up to its last `#`), or `nil`.
    public static func dataset(ofExample name: String) -> String? {
        guard let hash = name.lastIndex(of: "#") else { return nil }
        return String(name[..<hash])
    }

    /// The metadata key naming an example's dataset.
    public static let ofKey = "of"
}

extension DatabaseReader {
    /// The names of the example subjects of `dataset` (any space), in name order.
    public func exampleSubjects(of dataset: String) throws -> [String] {
        var names: [String] = []
        let prefix = Array((dataset + "#").utf8)
        try transaction.forEach(in: layout.subjectIDs, prefix: prefix) { key, value in
            guard let name = String(bytes: key, encoding: .utf8), ExampleSpaces.dataset(ofExample: name) == dataset else { return }
            let id = try RecordCoding.subjectID(nameMapValue: value)
            if let subject = try subject(id: id), subject.kind == .example { names.append(name) }
        }
        return names
    }

    /// The example vectors of `dataset` in the example space of `space`, in example order; empty
    /// when the space has no example space or the dataset no examples there.
    public func exampleVectors(space: String, dataset: String) throws -> [[Float]] {
        let exampleSpace = ExampleSpaces.name(of: space)
        guard try self.space(named: exampleSpace) != nil else { return [] }
        var indexed: [(Int, [Float])] = []
        for name in try exampleSubjects(of: dataset) {
            guard let embedding = try embedding(space: exampleSpace, subject: name) else { continue }
            let index = Int(name[name.index(after: name.lastIndex(of: "#")!)...]) ?? Int.max
            indexed.append((index, embedding.vector))
        }
        return indexed.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

extension DatabaseWriter {
    /// Replaces the examples of dataset `dataset` in the example space of `space` by `vectors`
    /// (all of one dimension), creating the example space on first use with `space`'s metric
    /// (cosine), provenance and index parameters. `dataset` must be a dataset subject embedded in
    /// `space`. Part of the caller's write transaction: commit it with the dataset's own vector.
    /// - Throws: ``FuteError`` — `notFound` for an unknown space or a dataset without an embedding
    ///   there, `invalidArgument` for no vectors or vectors of different lengths.
    public func putExamples(space: String, dataset: String, vectors: [[Float]]) throws {
        guard let taskSpace = try self.space(named: space) else {
            throw FuteError(.notFound, "unknown space \"\(space)\"; store the dataset's vector first", field: "space")
        }
        guard let subject = try subject(named: dataset), subject.kind == .dataset,
              try embedding(space: space, subject: dataset) != nil else {
            throw FuteError(.notFound, "\"\(dataset)\" is not a dataset embedded in space \"\(space)\"; store its vector first", field: "subject")
        }
        guard let dimension = vectors.first?.count, dimension > 0 else {
            throw FuteError(.invalidArgument, "no example vectors for \"\(dataset)\"", field: "vectors")
        }
        if let index = vectors.firstIndex(where: { $0.count != dimension }) {
            throw FuteError(.dimensionMismatch, "example \(index) of \"\(dataset)\" has \(vectors[index].count) values, example 0 has \(dimension)", field: "vectors")
        }
        let exampleSpace = ExampleSpaces.name(of: space)
        _ = try ensureSpace(Space(name: exampleSpace, dimension: dimension, metric: .cosine,
                                  provenance: taskSpace.provenance, index: taskSpace.index))
        // Examples beyond the new count leave this space (and the store, when no other space holds them).
        for name in try exampleSubjects(of: dataset) {
            let index = Int(name[name.index(after: name.lastIndex(of: "#")!)...]) ?? Int.max
            guard index >= vectors.count else { continue }
            try removeEmbedding(space: exampleSpace, subject: name)
            if try spaces(of: name).isEmpty { try deleteSubject(named: name) }
        }
        let metadata = JSONValue.object([ExampleSpaces.ofKey: .string(dataset)])
        for (index, vector) in vectors.enumerated() {
            let name = ExampleSpaces.subjectName(dataset: dataset, index: index)
            if let existing = try self.subject(named: name) {
                guard existing.kind == .example else {
                    throw FuteError(.conflict, "\"\(name)\" is a \(existing.kind.rawValue) subject; example \(index) of \"\(dataset)\" needs that name — rename one of them", field: "subject")
                }
            } else {
                try upsertSubject(Subject(name: name, kind: .example, metadata: metadata))
            }
            try putEmbedding(space: exampleSpace, subject: name, vector: vector, kind: .textemb)
        }
    }

    /// Deletes every example subject of `dataset` (with their vectors in every example space).
    /// - Returns: how many were deleted.
    @discardableResult
    public func removeExamples(of dataset: String) throws -> Int {
        let names = try exampleSubjects(of: dataset)
        for name in names { try deleteSubject(named: name) }
        return names.count
    }
}
