import Embedders
import Foundation
import FuteDB
import Readers

/// A space as the commands show it.
struct SpaceInfo: Sendable, Equatable {
    var name: String
    var dimension: Int
    var metric: Metric
    /// Embeddings in the space; counted (a scan of the space) only by ``StoreGateway/stats()``.
    var count: Int? = nil
    /// How the library compares the space's tasks (centered cosine for FUTE task spaces).
    var comparison: Comparison = .metric
    /// How its index stores vectors (nil: a store that predates the choice; its graph says).
    var encoding: VectorEncoding? = nil
}

/// How to create a space on first ingest.
struct SpaceCreation: Sendable {
    var metric: Metric
    var m: Int?
    var efConstruction: Int?
    /// How the graph stores vectors (nil: float16 for cosine on a CPU with F16C, else float32).
    var encoding: VectorEncoding? = nil

    /// FuteDB's default index parameters with `m` / `efConstruction` / `encoding` where given;
    /// nil when none is.
    var index: IndexParameters? {
        guard m != nil || efConstruction != nil || encoding != nil else { return nil }
        var parameters = IndexParameters()
        if let m { parameters.m = m }
        if let efConstruction { parameters.efConstruction = efConstruction }
        parameters.encoding = encoding
        return parameters
    }
}

/// What `fute-db query` asks: the nearest subjects to a stored subject or to given vectors.
struct NearestRequest: Sendable {
    enum Query: Sendable {
        /// A stored subject's vector; the subject is left out of its own results.
        case subject(String)
        /// Given vectors, each with the label the output shows (e.g. `FILE:LINE`).
        case vectors([(label: String, vector: [Float])])
    }
    var space: String
    var query: Query
    var k: Int
    var kind: SubjectKind?
    var filters: [MetadataFilter]
    var exact: Bool
    var ef: Int?
}

/// The answer to a ``NearestRequest``: one result list per query vector.
struct NearestAnswer: Sendable {
    var space: SpaceInfo
    /// True when the scores are centered cosines (a FUTE task space), not the space's metric.
    var centered: Bool
    var results: [(label: String, matches: [TaskMatch])]
}

/// Totals for `fute-db stats`.
struct StoreStats: Sendable {
    var path: String
    var fileSize: Int
    var spaces: [SpaceInfo]
    var datasets: Int
    var models: Int
    /// Example subjects (``SubjectKind/example``) of example spaces.
    var examples: Int
    var observations: Int
}

/// Everything the commands do with a store, in one place, so the commands stay thin and the
/// seam to `FuteDB` is a single file (`StoreGateway+FuteDB.swift`).
protocol StoreGateway {
    /// Every space, by name (not counted).
    func spaces() throws -> [SpaceInfo]
    /// The named space (one lookup, not counted), or an error listing the spaces that exist.
    func space(_ name: String) throws -> SpaceInfo
    func stats() throws -> StoreStats
    /// Writes `records` into `space` in batches of `batchSize`, one write transaction each;
    /// `committed` is called after each batch's transaction has committed, with the batch's index
    /// and its record range.
    func ingest(space: String, creation: SpaceCreation, records: [VectorRecord], defaultKind: SubjectKind?, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws
    /// Stores task records in `space`: checks every record's provenance and dimension against the
    /// space's (or, for a new space, the first record's) before writing anything, then writes batches
    /// of `batchSize`, one write transaction each; `committed` as for ``ingest(space:creation:records:defaultKind:batchSize:committed:)``.
    func ingest(records files: [TaskRecordFile], space: String, creation: SpaceCreation, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws
    /// `query`: nearest subjects, in one read transaction. Filters and centered (FUTE) spaces are
    /// scored exactly by the query layer; many exact queries without filters as one BLAS product;
    /// otherwise the space's index. A query vector of another dimension is an error.
    func nearest(_ request: NearestRequest) throws -> NearestAnswer
    /// `query models`: model subjects for a dataset, in one read transaction.
    func models(space: String, task: String, k: Int, filters: [MetadataFilter]) throws -> (space: SpaceInfo, centered: Bool, matches: [TaskMatch])
    /// The surrogate settings a FUTE space recorded (defaults for a new or non-FUTE space).
    func surrogateSettings(space: String, seed: UInt64) throws -> SurrogateSettings
    /// Throws when `space` exists with another provenance or dimension than a task embedding made
    /// with `provenance` would have (checked before spending time on encoding).
    func checkCompatible(space: String, provenance: EmbeddingProvenance, dimension: Int) throws
    /// Stores one task embedding (and its examples) in `space`, in one write transaction.
    func store(_ embedding: TaskEmbedding, name: String, space: String, metadata: [String: JSONValue], index: IndexParameters?) throws
    /// `map`: the library's 2-D projection of `space` (examples left out of task spaces), from one snapshot.
    func taskMap(space: String) throws -> TaskMap
    /// `eval`: the library's evaluation of the similarity and blended rankings against `truth` (read
    /// from `truthFile`; default: the stored observations), in one read transaction.
    func evaluateTransfer(space: String, truth: [TransferRecord]?, truthFile: String?, k: Int, metric: String, neighbours: Int,
                          gain: RelevanceGain) throws -> TransferEvaluationReport
    /// `query transfer`: the library's ranking of sources for `target`, in one read transaction.
    func transferRanking(space: String, target: String, k: Int, sources: SubjectKind?, metric: String, neighbours: Int) throws -> (SpaceInfo, TransferRanking)
    /// Validates that every source and target exists (errors name `file`:line), then writes in one transaction.
    func addObservations(_ records: [ObservationRecord], file: String) throws
    /// A consistent copy of the store in `path` (a new or empty directory).
    func backup(to path: String, compact: Bool) throws
    /// For each name, whether it has an embedding in `space` (or, with `space` nil, is a stored subject); one snapshot.
    func present(names: [String], space: String?) throws -> [Bool]
    /// Removes the embeddings of `names` from `space` (or, with `space` nil, the whole subjects with their
    /// embeddings and observations) in batches of `batchSize`, one write transaction each; `committed`
    /// is called after each batch's transaction has committed. Throws if a name is missing at write time.
    func delete(names: [String], space: String?, batchSize: Int,
                committed: (_ batch: Int, _ range: Range<Int>) throws -> Void) throws
}

/// A runtime failure reported by a command (exit 1): what happened and what to do.
struct CommandError: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Opens the store the commands use.
enum Stores {
    /// Opens `path`. With `mustExist`, a missing directory is an error instead of a new store and
    /// read-only commands never create stores.
    /// With `writable` an existing store is opened read-write (commands that change but never create one).
    static func open(_ path: String, mustExist: Bool, writable: Bool = false) throws -> any StoreGateway {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let hasData = FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("data.mdb"))
        if mustExist && (!exists || (isDirectory.boolValue && !hasData)) {
            throw CommandError("no store at \(path); create one with fute-db ingest --db \(path) --space NAME FILE, or pass --db / set FUTE_DB")
        }
        if exists && !isDirectory.boolValue {
            throw CommandError("\(path) is a file, not a store directory; pass --db DIR")
        }
        return try FuteDBGateway(path: path, mustExist: mustExist, writable: writable)
    }

    /// Total size of the regular files in the store directory.
    static func directorySize(_ path: String) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return files.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent(name))
            return total + ((attributes?[.size] as? NSNumber)?.intValue ?? 0)
        }
    }
}
