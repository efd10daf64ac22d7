import Embedders
import Encoder
import Foundation
import FuteDB
import Readers

/// `fute-db ingest --dataset FILE` (DTE or TextEmb) and `--predictions FILE` (MTE): embed a
/// labelled dataset or a model's predictions with the encoder and store the task embedding.
///
/// The space records the provenance (encoder + sha256 of its weights, method, seed and surrogate
/// settings) when it is created; ingesting into a space made with another encoder, method or seed
/// is refused, naming both, before anything is encoded.
///
/// With `--out RECORD.jsonl` no store is opened: the embedding is written as one task record
/// (``TaskRecord``: vector, metadata, provenance, and the example vectors of `--method examples`)
/// for `fute-db ingest RECORD.jsonl --space S` to store later, on this machine or another.
struct TaskIngestExtension: IngestExtension {
    static var options: [OptionSpec] {
        [
            OptionSpec("encoder", valueName: "DIR", help: "Encoder folder for --dataset/--predictions (Tools/fetch-minilm.sh DIR)."),
            OptionSpec("dataset", valueName: "FILE", help: "Labelled JSONL {\"text\",\"text_pair\"?,\"label\"|\"probs\"|\"value\"} or multiple choice {\"text\",\"choices\":[..],\"label\":INDEX}; unknown keys are refused. Stores its task embedding."),
            OptionSpec("predictions", valueName: "FILE", help: "A model's predictions on U (same format): store its model task embedding (MTE)."),
            OptionSpec("predict-cmd", valueName: "CMD", help: "With --inputs U.jsonl: run CMD (sh -c) with U on stdin; its stdout is the predictions (MTE)."),
            OptionSpec("inputs", valueName: "FILE", help: "Unsupervised inputs U for --predict-cmd (from fute-db unsupervised)."),
            OptionSpec("name", valueName: "NAME", help: "Subject name for --dataset/--predictions."),
            OptionSpec("method", valueName: "fute|textemb|examples", help: "Embedding method for --dataset (default: fute); examples = TextEmb + every example kept for example-level transfer retrieval (the best transfer ranking, see README)."),
            OptionSpec("max-examples", valueName: "N", help: "Use at most N examples, a seeded sample (default: 300 for --dataset, all for --predictions)."),
            OptionSpec("seed", valueName: "S", help: "Surrogate seed: part of the space's identity (default: 0)."),
            OptionSpec("sketch", valueName: "N", help: "FUTE: store the tuned attention delta as its count sketch of N floats (default: 4096, or what an existing space recorded); 0 keeps the whole delta (591,360 floats for MiniLM; finds same-family tasks more reliably, see README)."),
            OptionSpec("meta", valueName: "JSON", help: "Metadata object for the subject, e.g. '{\"family\":\"sentiment\"}'."),
            OptionSpec("out", valueName: "RECORD.jsonl", help: "Compute only: write the task embedding as one JSON record line (vector, metadata, provenance) to this file instead of storing it; store records later with fute-db ingest RECORD.jsonl --space NAME. No --db/--space/--m/--ef-construction."),
        ]
    }

    static func handles(_ arguments: ParsedArguments) -> Bool {
        arguments.has("dataset") || arguments.has("predictions") || arguments.has("predict-cmd")
    }

    /// Where the embedding goes.
    enum Destination {
        /// Stored in `space` of the store at `database`.
        case store(database: String, space: String)
        /// Written as a task record line to `path` (`--out`); no store is opened.
        case record(path: String)
    }

    let destination: Destination
    let encoderDirectory: String
    let file: String
    let isPredictions: Bool
    /// `--predict-cmd`: the command that turns `file` (U) into predictions.
    let predictCommand: String?
    let name: String
    let method: TaskEmbeddingMethod
    let maxExamples: Int?
    let seed: UInt64
    /// `--sketch`: the FUTE sketch width asked for (nil: the space's, or the default).
    let sketch: Int?
    let meta: [String: ParsedJSON]
    let m: Int?
    let efConstruction: Int?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        if let out = arguments.value("out") {
            for flag in ["db", "space", "m", "ef-construction"] where arguments.has(flag) {
                throw UsageError("--\(flag) does not apply with --out \(out): --out computes the record without a store; give --\(flag) to the ingest that stores it (fute-db ingest \(out) --space NAME)")
            }
            destination = .record(path: out)
        } else {
            guard let space = arguments.value("space") else {
                throw UsageError("--space is required: the space to store the task embedding in, e.g. --space tasks (or --out RECORD.jsonl to compute without a store)")
            }
            destination = .store(database: CommonOptions.databasePath(arguments, io: io), space: space)
        }
        predictCommand = arguments.value("predict-cmd")
        switch (arguments.value("dataset"), arguments.value("predictions"), predictCommand) {
        case (let d?, nil, nil): file = d; isPredictions = false
        case (nil, let p?, nil): file = p; isPredictions = true
        case (nil, nil, _?):
            guard let inputs = arguments.value("inputs") else {
                throw UsageError("--predict-cmd needs --inputs U.jsonl: the unsupervised inputs piped to the command (make them with fute-db unsupervised)")
            }
            file = inputs; isPredictions = true
        default: throw UsageError("give one of --dataset FILE, --predictions FILE or --predict-cmd CMD --inputs U.jsonl (ingest one subject at a time)")
        }
        if arguments.has("inputs") && predictCommand == nil {
            throw UsageError("--inputs only applies with --predict-cmd; for a file of predictions use --predictions FILE")
        }
        guard arguments.positionals.isEmpty else {
            throw UsageError("FILE arguments cannot be combined with --dataset/--predictions (got \(arguments.positionals.joined(separator: " ")))")
        }
        guard let encoder = arguments.value("encoder") else {
            throw UsageError("--encoder DIR is required with --dataset/--predictions, e.g. --encoder .build/models/all-MiniLM-L6-v2 (fetch it with Tools/fetch-minilm.sh DIR)")
        }
        encoderDirectory = encoder
        guard let name = arguments.value("name"), !name.isEmpty else {
            throw UsageError("--name NAME is required with --dataset/--predictions: the subject's name, e.g. --name sst2")
        }
        self.name = name
        let methodName = try arguments.choice("method", TaskEmbeddingMethod.allCases.map(\.rawValue), default: "fute") ?? "fute"
        method = TaskEmbeddingMethod(rawValue: methodName) ?? .fute
        if isPredictions && method != .fute {
            throw UsageError("--method \(methodName) does not apply to --predictions: a model task embedding is made with --method fute")
        }
        maxExamples = arguments.has("max-examples") ? try arguments.integer("max-examples", default: 300) : (isPredictions ? nil : 300)
        seed = try SeedOption.parse(arguments)
        sketch = arguments.has("sketch") ? try arguments.integer("sketch", default: 4096, minimum: 0) : nil
        if sketch != nil && method != .fute {
            throw UsageError("--sketch applies to --method fute (the tuned attention delta); \(methodName) vectors are not sketched")
        }
        if let text = arguments.value("meta") {
            guard case .object(let object) = try ParsedJSON.parse(text, source: "--meta") else {
                throw UsageError("--meta must be a JSON object, e.g. --meta '{\"family\":\"sentiment\"}'")
            }
            meta = object
        } else {
            meta = [:]
        }
        for key in ProvenanceKeys.all where meta[key] != nil {
            throw UsageError("--meta key '\(key)' is reserved for provenance; rename it")
        }
        if let metric = arguments.value("metric"), metric != "cosine" {
            throw UsageError("--metric \(metric): task embeddings are compared by cosine similarity; drop --metric")
        }
        m = arguments.has("m") ? try arguments.integer("m", default: 16, minimum: 2) : nil
        efConstruction = arguments.has("ef-construction") ? try arguments.integer("ef-construction", default: 200) : nil
    }

    func run(io: CommandIO) throws {
        // 1. Validate the whole input before loading the model or touching the store.
        let all = try predictCommand.map { try PredictCommand.run($0, inputs: file, io: io) }
            ?? TaskDataset.read(path: file, requireTargets: true)
        let encoder = try TextEncoder(directory: encoderDirectory)
        let checksum = try encoder.weightsChecksum()
        // 2. Embed as the space's first tasks were (its recorded surrogate settings); refuse a space
        //    made another way before spending time on encoding.
        var store: (any StoreGateway)?
        var settings = SurrogateSettings(seed: seed)
        if case .store(let path, let space) = destination {
            let opened = try Stores.open(path, mustExist: false)
            if method == .fute { settings = try opened.surrogateSettings(space: space, seed: seed) }
            store = opened
        }
        // An explicit width wins; a space recorded with another one refuses it below, naming both.
        if let sketch { settings.sketchWidth = sketch }
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: checksum, method: method, settings: settings)
        if case .store(_, let space) = destination, let store {
            try store.checkCompatible(space: space, provenance: embedder.provenance, dimension: embedder.dimension)
        }
        // 3. Encode, train, store (one write transaction) or write the record.
        let dataset = maxExamples.map { all.sample(atMost: $0, seed: seed) } ?? all
        // The encoder counts inputs, so a multiple-choice line counts once per (text, choice) pair.
        let inputCount = dataset.examples.reduce(0) { $0 + $1.inputs.count }
        let progress = EncoderProgress(io: io, label: "encoding \(inputCount) inputs of \(file)")
        let embedding = isPredictions
            ? try embedder.embed(predictions: dataset) { _, done, total in progress.update(done, total) }
            : try embedder.embed(dataset: dataset) { _, done, total in progress.update(done, total) }
        progress.finish()
        var metadata = JSONConversion.value(object: meta).objectValue ?? [:]
        metadata["source_file"] = .string((file as NSString).lastPathComponent)
        metadata["examples"] = .number(Double(embedding.exampleCount))
        let kept = embedding.examples.isEmpty ? "" : " and \(embedding.examples.count) example vectors"
        // With --out no store was opened: write the record instead.
        guard case .store(_, let space) = destination, let store else {
            if case .record(let path) = destination {
                try TaskRecordOutput.write(TaskRecord(embedding, name: name, metadata: metadata), to: path)
                io.note("fute-db: wrote the \(embedding.kind.rawValue.uppercased()) record of '\(name)' (\(embedding.exampleCount) examples, dimension \(embedding.vector.count)\(kept)) to \(path)")
            }
            return
        }
        let index = SpaceCreation(metric: .cosine, m: m, efConstruction: efConstruction).index
        try store.store(embedding, name: name, space: space, metadata: metadata, index: index)
        let inExamples = kept.isEmpty ? "" : "\(kept) in '\(ExampleSpaces.name(of: space))'"
        io.note("fute-db: stored \(embedding.kind.rawValue.uppercased()) of '\(name)' (\(embedding.exampleCount) examples, dimension \(embedding.vector.count)) in space '\(space)'\(inExamples)")
    }
}

/// Runs a model given as a shell command on U: U's lines on stdin, one prediction line per input on stdout.
enum PredictCommand {
    static func run(_ command: String, inputs: String, io: CommandIO) throws -> TaskDataset {
        let u = try TaskDataset.read(path: inputs, requireTargets: false)
        guard let stdin = FileHandle(forReadingAtPath: inputs) else {
            throw CommandError("cannot open --inputs \(inputs) for reading")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fute-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("predict-cmd-output.jsonl")
        guard FileManager.default.createFile(atPath: output.path, contents: nil), let stdout = FileHandle(forWritingAtPath: output.path) else {
            throw CommandError("cannot create \(output.path) for the command's output")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = stdin
        process.standardOutput = stdout
        do { try process.run() } catch {
            throw CommandError("--predict-cmd could not start: \(error.localizedDescription)")
        }
        process.waitUntilExit()
        try? stdout.close()
        guard process.terminationStatus == 0 else {
            throw CommandError("--predict-cmd exited with status \(process.terminationStatus); its output is in \(output.path)")
        }
        let predictions = try TaskDataset.read(path: output.path, requireTargets: true)
        guard predictions.examples.count == u.examples.count else {
            throw CommandError("--predict-cmd printed \(predictions.examples.count) predictions for \(u.examples.count) inputs in \(inputs); it must print one line per input (output kept in \(output.path))")
        }
        try? FileManager.default.removeItem(at: directory)
        io.note("fute-db: --predict-cmd gave \(predictions.examples.count) predictions")
        return TaskDataset(path: inputs, examples: predictions.examples)
    }
}

/// Metadata keys reserved for what ingest records itself.
enum ProvenanceKeys {
    static let all = ["source_file", "examples"]
}
