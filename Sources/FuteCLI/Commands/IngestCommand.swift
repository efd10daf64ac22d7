import Embedders
import Foundation
import FuteDB
import Readers

/// Another input mode for `fute-db ingest`, contributed by another module (e.g. the encoder's
/// `--dataset DIR` / `--predictions FILE`). Its options join ingest's option table and help;
/// when `handles` says yes, it does the whole ingest instead of the file readers.
public protocol IngestExtension {
    /// Extra options (shown in `fute-db ingest --help`).
    static var options: [OptionSpec] { get }
    /// Whether the parsed arguments select this mode (e.g. `--dataset` was given).
    static func handles(_ arguments: ParsedArguments) -> Bool
    /// Validates (throw `UsageError` for bad combinations).
    init(parsing arguments: ParsedArguments, io: CommandIO) throws
    /// Does the ingest.
    func run(io: CommandIO) throws
}

/// `fute-db ingest`: store vectors from files in a space.
struct IngestCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "ingest",
            abstract: "Store embeddings from .jsonl, .npy or .fvecs files in a space.",
            discussion: """
                JSONL: one object per line, {"name": str, "vector": [numbers], "kind"?: "dataset"|"model", "meta"?: {...}}; \
                other top-level keys are refused. .npy: a 2-D float32/float64 little-endian C-order matrix. .fvecs: texmex \
                format. Names for .npy/.fvecs come from --names FILE (one per line) or are row-0, row-1, ...

                The space is created on first ingest (dimension from the data, --metric, --m, --ef-construction); later \
                ingests must match its dimension. Re-ingesting a name replaces its vector. Every file is read and validated \
                completely before anything is written, so bad input (exit 1, `fute-db: error: FILE:LINE: ...`) leaves the \
                store unchanged. Records are then written in batches of --batch-size, one transaction each.

                Task records (JSONL lines with a "provenance" field, written by ingest --dataset/--predictions --out \
                RECORD.jsonl, possibly on other machines) are recognised by that field and stored as task embeddings: \
                a record made with another encoder, method, seed or surrogate settings than the space (or, for a new \
                space, than the first record) is refused at its FILE:LINE, naming each differing field with both values; \
                nothing is stored then. The space is created by the first record with its provenance.

                Options after --progress-log come from ingest extensions (e.g. --dataset / --predictions compute task \
                embeddings instead of reading vectors; FILE arguments are then not needed).
                """,
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("metric", valueName: "cosine|l2|ip", help: "Metric of a new space (default: cosine)."),
                OptionSpec("kind", valueName: "dataset|model", help: "Kind of subjects without a \"kind\" field (default: dataset)."),
                OptionSpec("batch-size", valueName: "N", help: "Records per write transaction (default: 1000)."),
                OptionSpec("names", valueName: "FILE", help: "Names for .npy/.fvecs rows, one per line."),
                OptionSpec("m", valueName: "N", help: "HNSW M (links per node) of a new space (default: 16)."),
                OptionSpec("ef-construction", valueName: "N", help: "HNSW efConstruction of a new space (default: 200)."),
                OptionSpec("encoding", valueName: "float32|float16", help: "How the index of a new space stores vectors (default: float16 for cosine on a CPU with F16C, else float32; results are re-scored from the exact vectors)."),
                OptionSpec("progress-log", valueName: "FILE", help: "After each committed batch, append and fsync a line 'batch N records FIRST-LAST committed TOTAL'."),
            ] + CommandRegistry.ingestExtensions.flatMap { $0.options },
            positionals: PositionalSpec("FILE", minimum: 0, maximum: nil, help: "Input files (.jsonl, .npy, .fvecs), or task record files (.jsonl from --out)."))
    }

    let database: String
    let space: String
    let metric: Metric?
    let kind: SubjectKind?
    let batchSize: Int
    let names: String?
    let m: Int?
    let efConstruction: Int?
    let encoding: VectorEncoding?
    let files: [String]
    let progressLog: String?
    let delegate: (any IngestExtension)?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        if let mode = CommandRegistry.ingestExtensions.first(where: { $0.handles(arguments) }) {
            delegate = try mode.init(parsing: arguments, io: io)
        } else {
            delegate = nil
        }
        database = CommonOptions.databasePath(arguments, io: io)
        // An extension validates its own options (`--out` needs no space).
        guard let space = arguments.value("space") ?? (delegate != nil ? "" : nil) else {
            throw UsageError("--space is required: the space to store the vectors in, e.g. --space tasks")
        }
        self.space = space
        metric = try arguments.choice("metric", Metric.allCases.map(\.rawValue), default: nil).flatMap(Metric.init(rawValue:))
        kind = try arguments.choice("kind", ["dataset", "model"], default: nil).flatMap(SubjectKind.init(rawValue:))
        batchSize = try arguments.integer("batch-size", default: 1000)
        m = arguments.has("m") ? try arguments.integer("m", default: 16, minimum: 2) : nil
        efConstruction = arguments.has("ef-construction") ? try arguments.integer("ef-construction", default: 200) : nil
        encoding = try arguments.choice("encoding", VectorEncoding.allCases.map(\.rawValue), default: nil).flatMap(VectorEncoding.init(rawValue:))
        names = arguments.value("names")
        progressLog = arguments.value("progress-log")
        files = arguments.positionals
        guard delegate != nil || !files.isEmpty else {
            throw UsageError("missing input: give one or more FILE arguments (.jsonl, .npy, .fvecs)")
        }
        for file in files {
            let ext = (file as NSString).pathExtension.lowercased()
            guard VectorReader.extensions.contains(ext) || ext == "ndjson" else {
                throw UsageError("cannot ingest '\(file)': unknown file type '.\(ext)'; use .jsonl, .npy or .fvecs")
            }
        }
        if let names {
            guard files.count == 1 else {
                throw UsageError("--names \(names) applies to a single .npy or .fvecs file; ingest files one at a time")
            }
            guard ["npy", "fvecs"].contains((files[0] as NSString).pathExtension.lowercased()) else {
                throw UsageError("--names applies to .npy and .fvecs files; \(files[0]) carries its own names")
            }
        }
    }

    func run(io: CommandIO) throws {
        if let delegate { return try delegate.run(io: io) }
        // 1. Read and validate every file completely; nothing is written if any of them is bad.
        var vectorFiles: [VectorFile] = []
        var recordFiles: [TaskRecordFile] = []
        for file in files {
            // A JSONL file is parsed once, then decoded as task records or as vectors.
            guard names == nil, ["jsonl", "ndjson"].contains((file as NSString).pathExtension.lowercased()) else {
                vectorFiles.append(try VectorReader.read(file, namesFile: names))
                continue
            }
            let lines = try JSONLinesReader.read(file)
            if TaskRecordReader.isRecordFile(lines) {
                recordFiles.append(TaskRecordFile(file: file, records: try TaskRecordReader.decode(lines, file: file)))
            } else {
                vectorFiles.append(try VectorReader.decode(lines, file: file))
            }
        }
        if let records = recordFiles.first {
            if let vectors = vectorFiles.first {
                throw UsageError("\(records.file) holds task records and \(vectors.file) plain vectors; ingest them separately (records carry their provenance, vectors none)")
            }
            return try ingestRecords(recordFiles, io: io)
        }
        var all: [VectorRecord] = []
        var dimension: (value: Int, file: String)?
        for vectors in vectorFiles {
            let file = vectors.file
            if let dimension, dimension.value != vectors.dimension {
                throw ReaderError(.dimensionMismatch, file: file, line: 1,
                                  "vectors have dimension \(vectors.dimension) but \(dimension.file) has \(dimension.value); ingest them into different spaces")
            }
            dimension = dimension ?? (vectors.dimension, file)
            all += vectors.records
        }
        guard let dimension else { return }
        let store = try Stores.open(database, mustExist: false)
        let existing = try store.spaces().first(where: { $0.name == space })
        try checkHalfRange(vectorFiles, existing: existing)
        if let existing {
            guard existing.dimension == dimension.value else {
                throw ReaderError(.dimensionMismatch, file: dimension.file, line: 1,
                                  "vectors have dimension \(dimension.value) but space '\(space)' has dimension \(existing.dimension); use another --space")
            }
            if let metric, metric != existing.metric {
                throw CommandError("space '\(space)' already exists with metric \(existing.metric.rawValue); --metric \(metric.rawValue) only applies when creating a space (drop it, or use another --space)")
            }
        }
        // 2. Write in batches.
        let showProgress = io.stderrIsTerminal && all.count > batchSize
        let log = try progressLog.map(ProgressLog.init(path:))
        try store.ingest(space: space, creation: SpaceCreation(metric: metric ?? .cosine, m: m, efConstruction: efConstruction, encoding: encoding),
                         records: all, defaultKind: kind, batchSize: batchSize) { batch, range in
            try log?.append("batch \(batch) records \(range.lowerBound)-\(range.upperBound - 1) committed \(range.upperBound)")
            if showProgress { io.progress("\rfute-db: ingested \(range.upperBound)/\(all.count)") }
        }
        if showProgress { io.progress("\n") }
        io.note("fute-db: stored \(all.count) vectors (dimension \(dimension.value)) in space '\(space)' from \(files.joined(separator: ", "))")
    }

    /// A float16 index of metric l2 or ip holds components up to ±65,504: refuses a vector beyond
    /// that, naming its file, line and component, before anything is written (cosine vectors are
    /// normalised first, so never beyond).
    private func checkHalfRange(_ files: [VectorFile], existing: SpaceInfo?) throws {
        let metric = existing?.metric ?? self.metric ?? .cosine
        let encoding = existing?.encoding ?? self.encoding ?? .preferred(for: metric)
        for file in files {
            let json = ["jsonl", "ndjson"].contains((file.file as NSString).pathExtension.lowercased())
            for record in file.records {
                guard let i = encoding.firstUnrepresentable(in: record.vector, metric: metric) else { continue }
                let field = json ? "vector[\(i)]" : "[\(i)]"
                throw ReaderError(.unsupported, file: file.file, line: record.line, field: field,
                                  "\(field) = \(record.vector[i]) is beyond the ±65,504 of the space's float16 index; scale the vectors, or create the space with --encoding float32")
            }
        }
    }

    /// Stores task records: every record checked against the space's provenance first, then
    /// batches of `--batch-size`, one transaction each.
    private func ingestRecords(_ files: [TaskRecordFile], io: CommandIO) throws {
        if let kind { throw UsageError("--kind \(kind.rawValue) does not apply to task records: each record says whether it is a dataset or a model") }
        if let metric, metric != .cosine {
            throw UsageError("--metric \(metric.rawValue): task embeddings are compared by cosine similarity; drop --metric")
        }
        let count = files.reduce(0) { $0 + $1.records.count }
        let store = try Stores.open(database, mustExist: false)
        let showProgress = io.stderrIsTerminal && count > batchSize
        let log = try progressLog.map(ProgressLog.init(path:))
        try store.ingest(records: files, space: space, creation: SpaceCreation(metric: .cosine, m: m, efConstruction: efConstruction, encoding: encoding),
                         batchSize: batchSize) { batch, range in
            try log?.append("batch \(batch) records \(range.lowerBound)-\(range.upperBound - 1) committed \(range.upperBound)")
            if showProgress { io.progress("\rfute-db: ingested \(range.upperBound)/\(count)") }
        }
        if showProgress { io.progress("\n") }
        io.note("fute-db: stored \(count) task records in space '\(space)' from \(files.map(\.file).joined(separator: ", "))")
    }
}

/// An append-only log of committed batches, flushed to disk (fsync) line by line, so a crash
/// harness can tell which batches were acknowledged before the process died.
final class ProgressLog {
    private let handle: FileHandle
    private let path: String

    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CommandError("cannot create --progress-log \(path); check the directory exists and is writable")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CommandError("cannot open --progress-log \(path) for writing; check permissions")
        }
        self.handle = handle
        handle.seekToEndOfFile()
    }

    deinit { try? handle.close() }

    func append(_ line: String) throws {
        do {
            try handle.write(contentsOf: Data((line + "\n").utf8))
            try handle.synchronize()
        } catch {
            throw CommandError("writing --progress-log \(path) failed: \(error.localizedDescription)")
        }
    }
}
