import Foundation
import FuteDB
import Ingest

/// `fute-db ingest --dataset FILE` (DTE or TextEmb) and `--predictions FILE` (MTE): embed a
/// labelled dataset or a model's predictions with the encoder and store the task embedding.
///
/// Every subject stored this way carries its provenance in its metadata (`encoder`,
/// `encoder_sha256`, `method`, `seed`, `rank`, …); ingesting into a space whose vectors were made
/// with another encoder, method or surrogate setting is refused, naming both.
struct TaskIngestExtension: IngestExtension {
    static var options: [OptionSpec] {
        [
            OptionSpec("encoder", valueName: "DIR", help: "Encoder folder for --dataset/--predictions (Tools/fetch-minilm.sh DIR)."),
            OptionSpec("dataset", valueName: "FILE", help: "Labelled JSONL {\"text\",\"text_pair\"?,\"label\"|\"probs\"|\"value\"}: store its task embedding."),
            OptionSpec("predictions", valueName: "FILE", help: "A model's predictions on U (same format): store its model task embedding (MTE)."),
            OptionSpec("name", valueName: "NAME", help: "Subject name for --dataset/--predictions."),
            OptionSpec("method", valueName: "fute|textemb", help: "Embedding method for --dataset (default: fute)."),
            OptionSpec("max-examples", valueName: "N", help: "Use at most N examples, a seeded sample (default: 300 for --dataset, all for --predictions)."),
            OptionSpec("seed", valueName: "S", help: "Surrogate seed: part of the space's identity (default: 0)."),
            OptionSpec("meta", valueName: "JSON", help: "Metadata object for the subject, e.g. '{\"family\":\"sentiment\"}'."),
        ]
    }

    static func handles(_ arguments: ParsedArguments) -> Bool {
        arguments.has("dataset") || arguments.has("predictions")
    }

    let database: String
    let space: String
    let encoderDirectory: String
    let file: String
    let isPredictions: Bool
    let name: String
    let method: TaskEmbeddingMethod
    let maxExamples: Int?
    let seed: UInt64
    let meta: [String: ParsedJSON]
    let m: Int?
    let efConstruction: Int?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        guard let space = arguments.value("space") else {
            throw UsageError("--space is required: the space to store the task embedding in, e.g. --space tasks")
        }
        self.space = space
        switch (arguments.value("dataset"), arguments.value("predictions")) {
        case (let d?, nil): file = d; isPredictions = false
        case (nil, let p?): file = p; isPredictions = true
        default: throw UsageError("give either --dataset FILE or --predictions FILE, not both (ingest one subject at a time)")
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
        let all = try TaskDataset.read(path: file, requireTargets: true)
        let encoder = try TextEncoder(directory: encoderDirectory)
        let checksum = try encoder.weightsChecksum()
        let settings = SurrogateSettings(seed: seed)
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: checksum, method: method, settings: settings)
        let provenance = ProvenanceKeys.metadata(embedder.provenance)
        // 2. Refuse a space made another way before spending time on encoding.
        let store = try Stores.open(database, mustExist: false)
        if try store.spaces().contains(where: { $0.name == space }) {
            try ProvenanceKeys.check(store.snapshot(space: space), expected: provenance, space: space)
        }
        let dataset = maxExamples.map { all.sample(atMost: $0, seed: seed) } ?? all
        let progress = EncoderProgress(io: io, label: "encoding \(dataset.examples.count) inputs of \(file)")
        let embedding = isPredictions
            ? try embedder.embed(predictions: dataset) { _, done, total in progress.update(done, total) }
            : try embedder.embed(dataset: dataset) { _, done, total in progress.update(done, total) }
        progress.finish()
        var metadata = meta
        for (key, value) in provenance { metadata[key] = .string(value) }
        metadata[ProvenanceKeys.embedding] = .string(embedding.kind.rawValue)
        metadata[ProvenanceKeys.examples] = .number(Double(embedding.exampleCount))
        metadata[ProvenanceKeys.source] = .string((file as NSString).lastPathComponent)
        let record = VectorRecord(name: name, vector: embedding.vector, kind: isPredictions ? "model" : "dataset", meta: metadata, line: 1)
        try store.ingest(space: space, creation: SpaceCreation(metric: "cosine", m: m, efConstruction: efConstruction),
                         records: [record], defaultKind: isPredictions ? "model" : "dataset", batchSize: 1) { _, _ in }
        io.note("fute-db: stored \(embedding.kind.rawValue.uppercased()) of '\(name)' (\(embedding.exampleCount) examples, dimension \(embedding.vector.count)) in space '\(space)'")
    }
}

/// The metadata keys that record how a task embedding was made.
enum ProvenanceKeys {
    static let embedding = "embedding", examples = "examples", source = "source_file"
    static let identity = ["encoder", "encoder_sha256", "method", "seed", "rank", "activation", "epochs", "learning_rate", "batch_size"]
    static let all = identity + [embedding, examples, source]

    /// The identity fields of a space, as subject metadata.
    static func metadata(_ p: EmbeddingProvenance) -> [String: String] {
        var m = ["encoder": p.encoder, "encoder_sha256": p.encoderChecksum, "method": p.method.rawValue]
        if p.method == .fute {
            m["seed"] = String(p.surrogate.seed)
            m["rank"] = String(p.surrogate.rank)
            m["activation"] = p.surrogate.activation.rawValue
            m["epochs"] = String(p.surrogate.epochs)
            m["learning_rate"] = String(p.surrogate.learningRate)
            m["batch_size"] = String(p.surrogate.batchSize)
        }
        return m
    }

    /// Throws when any vector in the space was made differently, naming both settings.
    static func check(_ snapshot: TaskSpaceSnapshot, expected: [String: String], space: String) throws {
        for entry in snapshot.entries {
            let theirs = entry.metadata.filter { identity.contains($0.key) }
            guard theirs["encoder_sha256"] != nil else {
                throw CommandError("space '\(space)' holds vectors not made by an encoder (e.g. '\(entry.name)'); store task embeddings in another --space")
            }
            // When the method differs, the surrogate fields are beside the point: name the method alone.
            let keys = theirs["method"] != expected["method"] ? ["encoder", "encoder_sha256", "method"] : Set(expected.keys).union(theirs.keys).sorted()
            let differences = keys.compactMap { key -> String? in
                let mine = expected[key] ?? "(none)", other = theirs[key] ?? "(none)"
                return mine == other ? nil : "\(key) \(other) (space) vs \(mine) (this ingest)"
            }
            if !differences.isEmpty {
                throw CommandError("space '\(space)' was made with another encoder/method/seed than this ingest (e.g. '\(entry.name)'): \(differences.joined(separator: "; ")); use the space's settings or another --space")
            }
        }
    }
}

