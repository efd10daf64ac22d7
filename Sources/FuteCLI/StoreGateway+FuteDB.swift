import Foundation
import FuteDB
import Ingest

// TEMPORARY stand-in until the store helper's FuteDB API lands in main: a JSON file in the
// store directory, written atomically per batch. Replaced by the FuteDB-backed gateway.
final class FuteDBGateway: StoreGateway {
    private struct Space: Codable { var name: String; var dimension: Int; var metric: String }
    private struct Subject: Codable { var name: String; var kind: String; var metadata: [String: String] }
    private struct Embedding: Codable { var space: String; var subject: String; var vector: [Float] }
    private struct Observation: Codable { var source: String; var target: String; var metric: String; var score: Double }
    private struct State: Codable { var spaces: [Space] = []; var subjects: [Subject] = []; var embeddings: [Embedding] = []; var observations: [Observation] = [] }

    private let path: String
    private var file: String { (path as NSString).appendingPathComponent("fallback.json") }

    init(path: String) throws { self.path = path }

    private func load() throws -> State {
        guard let data = FileManager.default.contents(atPath: file) else { return State() }
        return try JSONDecoder().decode(State.self, from: data)
    }

    private func save(_ state: State) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: file), options: .atomic)
    }

    func spaces() throws -> [SpaceInfo] {
        let state = try load()
        return state.spaces.map { space in
            SpaceInfo(name: space.name, dimension: space.dimension, metric: space.metric,
                      count: state.embeddings.filter { $0.space == space.name }.count)
        }.sorted { $0.name < $1.name }
    }

    func stats() throws -> StoreStats {
        let state = try load()
        return StoreStats(path: path, fileSize: Stores.directorySize(path), spaces: try spaces(),
                          datasets: state.subjects.filter { $0.kind == "dataset" }.count,
                          models: state.subjects.filter { $0.kind == "model" }.count, observations: state.observations.count)
    }

    func ingest(space: String, creation: SpaceCreation, records: [VectorRecord], defaultKind: String, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws {
        var state = try load()
        if !state.spaces.contains(where: { $0.name == space }) {
            state.spaces.append(Space(name: space, dimension: records.first?.vector.count ?? 0, metric: creation.metric))
        }
        for (batch, start) in stride(from: 0, to: records.count, by: batchSize).enumerated() {
            for record in records[start..<min(records.count, start + batchSize)] {
                let metadata = (record.meta ?? [:]).compactMapValues(MetadataText.render)
                state.subjects.removeAll { $0.name == record.name }
                state.subjects.append(Subject(name: record.name, kind: record.kind ?? defaultKind, metadata: metadata))
                state.embeddings.removeAll { $0.space == space && $0.subject == record.name }
                state.embeddings.append(Embedding(space: space, subject: record.name, vector: record.vector))
            }
            try save(state)
            try committed(batch, start..<min(records.count, start + batchSize))
        }
    }

    func nearest(space: SpaceInfo, vector: [Float], k: Int, kind: String?, exact: Bool, ef: Int?, excluding: String?) throws -> [TaskMatch] {
        try TaskQueries.nearest(in: snapshot(space: space.name), to: vector, k: k, kind: kind, excluding: excluding)
    }

    func snapshot(space name: String) throws -> TaskSpaceSnapshot {
        let state = try load()
        guard let space = state.spaces.first(where: { $0.name == name }) else { throw CommandError("unknown space '\(name)'") }
        let subjects = Dictionary(state.subjects.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let entries = state.embeddings.filter { $0.space == name }.compactMap { embedding -> TaskEntry? in
            guard let subject = subjects[embedding.subject] else { return nil }
            return TaskEntry(name: subject.name, kind: subject.kind, metadata: subject.metadata, vector: embedding.vector)
        }
        let placement = state.embeddings.map { ($0.subject, $0.space) }
        return TaskSpaceSnapshot(space: name, metric: space.metric, dimension: space.dimension, entries: entries,
                                 observations: state.observations.map { TransferRecord(source: $0.source, target: $0.target, metric: $0.metric, score: $0.score) },
                                 otherSpacesOf: { subject in placement.filter { $0.0 == subject && $0.1 != name }.map(\.1).sorted() })
    }

    func addObservations(_ records: [ObservationRecord]) throws {
        var state = try load()
        for record in records {
            state.observations.removeAll { $0.source == record.source && $0.target == record.target && $0.metric == record.metric }
            state.observations.append(Observation(source: record.source, target: record.target, metric: record.metric, score: record.score))
        }
        try save(state)
    }

    func observations() throws -> [TransferRecord] {
        try load().observations.map { TransferRecord(source: $0.source, target: $0.target, metric: $0.metric, score: $0.score) }
    }
}

/// Renders top-level metadata values as text for filters and tables.
enum MetadataText {
    static func render(_ value: ParsedJSON) -> String? {
        switch value {
        case .string(let text): return text
        case .number(let number): return number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : "\(number)"
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }
}
