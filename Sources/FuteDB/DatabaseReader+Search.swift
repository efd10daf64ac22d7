import Foundation
import Kernels
import Storage

extension DatabaseReader {
    /// The `k` subjects of `space` whose embeddings are nearest to `vector`, best first.
    ///
    /// Only embeddings of `space` are compared: vectors of different spaces never are.
    ///
    /// - Parameters:
    ///   - space: the space to search.
    ///   - vector: the query; its length must be the space's dimension, its values finite.
    ///   - k: how many results at most (≥ 1).
    ///   - kind: only subjects of this kind (e.g. `.model` to select a model for a dataset).
    ///   - exact: compare against every embedding instead of using the approximate index.
    ///   - ef: the index's search beam width (default: the space's `efSearch`); ignored when exact.
    ///   - excluding: leave out this subject (typically the query's own subject).
    /// - Returns: results with ``SearchResult/score``: cosine similarity or dot product (descending),
    ///   or squared L2 distance (ascending). Ties keep the order subjects were created in.
    ///
    /// A space compared by ``Comparison/centeredCosine`` (FUTE task spaces) is searched exactly by
    /// centered cosine, as the query layer compares it (``TaskQueries``; ties by name): its center
    /// moves with every dataset, so no index can hold centered vectors, and task spaces are small.
    public func nearest(space: String, vector: [Float], k: Int, kind: SubjectKind? = nil, exact: Bool = false,
                        ef: Int? = nil, excluding: String? = nil) throws -> [SearchResult] {
        let stored = try requireSpace(space)
        try Validation.vector(vector, dimension: stored.space.dimension, space: space)
        try Validation.k(k)
        try Validation.ef(ef)
        if stored.space.comparison == .centeredCosine {
            return try TaskQueries.nearest(in: taskSnapshot(space: space), to: vector, k: k, kind: kind, excluding: excluding)
                .map { SearchResult(name: $0.name, kind: $0.kind, score: $0.score) }
        }
        let excludedID = try excluding.flatMap { try subjectID(named: $0) }
        let (isIncluded, allowedCount) = try inclusionTest(kind: kind, excluding: excludedID)

        if !exact {
            // A search inside a write sees that write's own changes: apply its queued index updates first.
            if let writer = self as? DatabaseWriter { try writer.applyPendingIndexUpdates() }
        }
        if !exact, let hits = try SpaceIndexing.search(space: stored, query: vector, k: k, ef: ef, isIncluded: isIncluded,
                                                       allowedCount: allowedCount, embeddings: layout.embeddings, in: transaction) {
            return try results(hits.map { ($0.key, $0.distance) }, metric: stored.space.metric)
        }
        return try results(try exactSearch(stored, query: vector, k: k, isIncluded: isIncluded), metric: stored.space.metric)
    }

    /// Scores every included embedding of a space where it lies in the memory map (zero copy),
    /// with the Kernels' SIMD distance and top-k heap: the same arithmetic as `ExactSearch.search`
    /// without first copying the space into one matrix.
    private func exactSearch(_ stored: StoredSpace, query: [Float], k: Int,
                             isIncluded: ((UInt64) -> Bool)?) throws -> [(UInt64, Float)] {
        let dimension = stored.space.dimension
        let metric = stored.space.metric
        var top = TopK(k: k)
        var ids: [UInt64] = []
        var scratch = [Float](repeating: 0, count: dimension)
        try query.withUnsafeBufferPointer { queryBuffer in
            try scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                // safe: validated vectors are non-empty, so both buffers have addresses
                let q = queryBuffer.baseAddress!, aligned = scratchBuffer.baseAddress!
                try transaction.forEach(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { key, value in
                    let id = try RecordCoding.subjectID(embeddingKey: key)
                    if let isIncluded, !isIncluded(id) { return }
                    _ = try RecordCoding.embeddingHeader(value, dimension: dimension)
                    let floats = UnsafeRawBufferPointer(rebasing: value[StorageLayout.embeddingHeaderSize...])
                    let distance: Float
                    if let base = floats.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                        // safe: 4-byte aligned, `dimension` floats long (checked by embeddingHeader), read-only,
                        // and only used inside this closure while the transaction keeps the page mapped.
                        distance = Distance.distance(metric, q, base.assumingMemoryBound(to: Float.self), count: dimension)
                    } else {
                        UnsafeMutableRawBufferPointer(scratchBuffer).copyMemory(from: floats)
                        distance = Distance.distance(metric, q, aligned, count: dimension)
                    }
                    top.offer(id: ids.count, distance: distance)
                    ids.append(id)
                }
            }
        }
        return top.sorted().map { (ids[$0.id], $0.distance) }
    }

    /// The `k` nearest subjects to the embedding `subject` already has in `space`, leaving itself out.
    /// - Throws: ``FuteError/Code-swift.enum/notFound`` when the subject has no embedding in `space`
    ///   (the message names the spaces where it has one).
    public func nearest(space: String, to subject: String, k: Int, kind: SubjectKind? = nil, exact: Bool = false,
                        ef: Int? = nil) throws -> [SearchResult] {
        guard let embedding = try embedding(space: space, subject: subject) else {
            let others = try spaces(of: subject)
            let hint = others.isEmpty ? "embed it in \"\(space)\" first"
                : "it has embeddings in \(others.joined(separator: ", ")); vectors of different spaces are never compared — query one of those, or embed it in \"\(space)\""
            throw FuteError(.notFound, "subject \"\(subject)\" has no embedding in space \"\(space)\"; \(hint)", field: "subject")
        }
        return try nearest(space: space, vector: embedding.vector, k: k, kind: kind, exact: exact, ef: ef, excluding: subject)
    }

    /// The `k` nearest subjects for each of many query vectors, computed exactly as one matrix
    /// product (BLAS), best first. Faster than one ``nearest(space:vector:k:kind:exact:ef:excluding:)``
    /// per query when there are many queries.
    ///
    /// Scores may differ from the single-query path in the last float digits (the matrix product
    /// rounds differently).
    public func nearest(space: String, vectors: [[Float]], k: Int, kind: SubjectKind? = nil,
                        excluding: String? = nil) throws -> [[SearchResult]] {
        let stored = try requireSpace(space)
        let dimension = stored.space.dimension
        for (index, vector) in vectors.enumerated() {
            try Validation.vector(vector, dimension: dimension, space: space, field: "vectors[\(index)]")
        }
        try Validation.k(k)
        guard !vectors.isEmpty else { return [] }
        if stored.space.comparison == .centeredCosine {
            let snapshot = try taskSnapshot(space: space)
            return try vectors.map { vector in
                try TaskQueries.nearest(in: snapshot, to: vector, k: k, kind: kind, excluding: excluding)
                    .map { SearchResult(name: $0.name, kind: $0.kind, score: $0.score) }
            }
        }
        let excludedID = try excluding.flatMap { try subjectID(named: $0) }
        let rows = try loadRows(of: stored, isIncluded: try inclusionTest(kind: kind, excluding: excludedID).test)
        let queries = vectors.flatMap { $0 }
        let neighbors = ExactSearch.batchSearch(queries: queries, base: rows.vectors, dimension: dimension,
                                                metric: stored.space.metric, k: k)
        return try neighbors.map { list in
            try results(list.map { (rows.ids[$0.id], $0.distance) }, metric: stored.space.metric)
        }
    }

    /// Structural problems of the HNSW index of `space` (unreachable nodes, a key set that differs
    /// from the space's embeddings…), one ``IndexProblem`` each (match on its case; show its
    /// `description`); empty when sound or when the space has no index yet.
    /// Repair with ``DatabaseWriter/rebuildIndex(space:)``.
    public func indexProblems(space: String) throws -> [IndexProblem] {
        let stored = try requireSpace(space)
        if let writer = self as? DatabaseWriter { try writer.applyPendingIndexUpdates() }
        return try SpaceIndexing.problems(of: stored, embeddings: layout.embeddings, in: transaction)
    }

    /// Builds the filter on subject ids (`nil` when everything is included) and an upper bound
    /// of how many subjects pass it (`nil`: no bound known).
    private func inclusionTest(kind: SubjectKind?, excluding: UInt64?) throws -> (test: ((UInt64) -> Bool)?, allowedCount: Int?) {
        guard kind != nil || excluding != nil else { return (nil, nil) }
        var allowed: Set<UInt64>?
        if let kind {
            if kindMembers.isEmpty {
                // One pass files every subject under its kind; the kind sits in the second byte of a
                // subject record, so there is no JSON decoding per subject.
                var members: [SubjectKind: Set<UInt64>] = Dictionary(uniqueKeysWithValues: SubjectKind.allCases.map { ($0, []) })
                try transaction.forEach(in: layout.subjects) { key, value in
                    guard let stored = RecordCoding.subjectKind(value) else {
                        throw FuteError(.corrupted, "a subject record is unreadable; restore the store from a backup")
                    }
                    members[stored, default: []].insert(try RecordCoding.subjectID(subjectKey: key))
                }
                kindMembers = members
            }
            allowed = kindMembers[kind] ?? []
        }
        return ({ [allowed] id in id != excluding && (allowed?.contains(id) ?? true) }, allowed?.count)
    }

    /// Copies the included embeddings of a space into one row-major matrix.
    func loadRows(of stored: StoredSpace, isIncluded: ((UInt64) -> Bool)?) throws -> (ids: [UInt64], vectors: [Float]) {
        let dimension = stored.space.dimension
        var ids: [UInt64] = []
        var vectors: [Float] = []
        let rows = try transaction.scan(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { _, _ in .continue }
        ids.reserveCapacity(rows)
        vectors.reserveCapacity(rows * dimension)
        try transaction.forEach(in: layout.embeddings, prefix: FixedWidthKey(stored.id)) { key, value in
            let id = try RecordCoding.subjectID(embeddingKey: key)
            if let isIncluded, !isIncluded(id) { return }
            _ = try RecordCoding.embeddingHeader(value, dimension: dimension)
            ids.append(id)
            RecordCoding.appendVector(value, dimension: dimension, to: &vectors)
        }
        return (ids, vectors)
    }

    /// Turns (subject id, engine distance) pairs into named, scored results.
    private func results(_ hits: [(UInt64, Float)], metric: Metric) throws -> [SearchResult] {
        try hits.map { id, distance in
            guard let subject = try subject(id: id) else {
                throw FuteError(.corrupted, "an embedding belongs to a missing subject; restore the store from a backup")
            }
            return SearchResult(name: subject.name, kind: subject.kind, score: Double(metric.score(fromDistance: distance)))
        }
    }
}
