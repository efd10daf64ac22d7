import Encoder
import Foundation
import FuteDB
import Readers

/// How a task embedding is made.
public enum TaskEmbeddingMethod: String, Sendable, Codable, CaseIterable {
    /// FUTE: train the surrogate on the labelled data (DTE) or on a model's predictions (MTE) and take its tuned parameters.
    case fute
    /// TextEmb (Vu et al. 2020): mean of the sentence embeddings; ignores labels (captures domain).
    case textemb
    /// TextEmb as the task vector, plus every example's sentence embedding kept in the space's
    /// example space, for example-level transfer retrieval (``ExampleRetrieval`` in FuteDB).
    case examples
}

/// Where a vector came from. Two vectors are comparable only when every field but `exampleCount` agrees.
public struct EmbeddingProvenance: Sendable, Equatable, Codable {
    /// The encoder's identifier (its folder name, e.g. `all-MiniLM-L6-v2`).
    public var encoder: String
    /// sha256 of the encoder's `model.safetensors`.
    public var encoderChecksum: String
    /// The method.
    public var method: TaskEmbeddingMethod
    /// The surrogate settings (seed, rank, activation, epochs, …); irrelevant for TextEmb but recorded.
    public var surrogate: SurrogateSettings

    /// Creates a provenance record.
    public init(encoder: String, encoderChecksum: String, method: TaskEmbeddingMethod, surrogate: SurrogateSettings) {
        self.encoder = encoder
        self.encoderChecksum = encoderChecksum
        self.method = method
        self.surrogate = surrogate
    }
}

/// Whether a vector describes a dataset or a model.
public enum TaskEmbeddingKind: String, Sendable, Codable {
    /// Dataset task embedding: made from gold labels.
    case dte
    /// Model task embedding: made from a model's predictions on unsupervised inputs.
    case mte
    /// TextEmb: mean sentence embedding of a dataset.
    case textemb
}

/// A task embedding and how it was made.
public struct TaskEmbedding: Sendable, Equatable {
    /// The vector.
    public var vector: [Float]
    /// DTE, MTE or TextEmb.
    public var kind: TaskEmbeddingKind
    /// How it was made.
    public var provenance: EmbeddingProvenance
    /// Examples used: dataset lines, so a multiple-choice line counts once however many choices it has.
    public var exampleCount: Int
    /// Per-input sentence embeddings (method `examples`; empty otherwise).
    public var examples: [[Float]] = []
}

/// Turns labelled datasets (DTE, TextEmb) and model predictions (MTE) into task embeddings of one
/// space, defined by the encoder, the method and the surrogate settings.
public struct TaskEmbedder: Sendable {
    /// The frozen encoder.
    public let encoder: TextEncoder
    /// What every vector from this embedder records.
    public let provenance: EmbeddingProvenance

    /// Creates an embedder; `encoderChecksum` is `encoder.weightsChecksum()` (pass it in to hash the weights once).
    public init(encoder: TextEncoder, encoderChecksum: String, method: TaskEmbeddingMethod, settings: SurrogateSettings = .init()) {
        self.encoder = encoder
        provenance = EmbeddingProvenance(encoder: encoder.identifier, encoderChecksum: encoderChecksum, method: method, surrogate: settings)
    }

    /// Vector width: d for TextEmb; for FUTE the sketch width (last layer's attention; 4d² + 4d
    /// unsketched) or rank·(d+1) (bottleneck).
    public var dimension: Int {
        let d = encoder.dimension
        if provenance.method != .fute { return d }
        switch provenance.surrogate.part {
        case .lastLayerAttention:
            let sketch = provenance.surrogate.sketchWidth
            return sketch > 0 ? sketch : AttentionSurrogate.embeddingDimension(hiddenSize: d)
        case .bottleneck: return provenance.surrogate.rank * (d + 1)
        }
    }

    /// Whether the surrogate trains on the states entering the last layer (else on sentence embeddings).
    public var trainsOnLastLayerInputs: Bool {
        provenance.method == .fute && provenance.surrogate.part == .lastLayerAttention
    }

    /// A dataset task embedding (FUTE DTE) or TextEmb of a labelled dataset.
    public func embed(dataset: TaskDataset, progress: ((String, Int, Int) -> Void)? = nil) throws -> TaskEmbedding {
        try embed(examples: dataset, kind: provenance.method == .fute ? .dte : .textemb, progress: progress)
    }

    /// A model task embedding (FUTE MTE) from a model's predictions on unsupervised inputs.
    public func embed(predictions: TaskDataset, progress: ((String, Int, Int) -> Void)? = nil) throws -> TaskEmbedding {
        guard provenance.method == .fute else {
            throw DatasetError(path: predictions.path, line: nil, message: "a model task embedding needs --method fute; TextEmb of predictions ignores them")
        }
        return try embed(examples: predictions, kind: .mte, progress: progress)
    }

    /// Encodes `examples` as this embedder's method needs (token states entering the last layer, or
    /// sentence embeddings) and embeds them with their targets. Multiple-choice examples are first
    /// expanded into their `(text, choice)` pairs (`expandingChoices`); `exampleCount` stays the
    /// number of dataset lines.
    private func embed(examples: TaskDataset, kind: TaskEmbeddingKind, progress: ((String, Int, Int) -> Void)?) throws -> TaskEmbedding {
        let pairs = Self.expandingChoices(examples)
        let targets = pairs.examples.map(\.target)
        var embedding = trainsOnLastLayerInputs
            ? try embed(lastLayerInputs: lastLayerInputs(pairs, progress: progress), targets: targets, path: examples.path, kind: kind)
            : try embed(features: encode(pairs, progress: progress), targets: targets, path: examples.path, kind: kind)
        embedding.exampleCount = examples.examples.count
        return embedding
    }

    /// `dataset` with every multiple-choice example replaced by one example per choice: input
    /// `(text, choice)`, target `.label("correct")` for the labelled choice and `.label("incorrect")`
    /// for the others (nil when the example has no target). Other examples are kept as they are.
    ///
    /// This is the current approximation for multiple choice: the surrogate learns a binary
    /// correct/incorrect classifier over pairs, where the task really asks for a softmax over each
    /// example's own choices. TextEmb uses the same pairs, so it is the mean over all
    /// `(text, choice)` pair embeddings.
    public static func expandingChoices(_ dataset: TaskDataset) -> TaskDataset {
        guard dataset.examples.contains(where: { $0.choices != nil }) else { return dataset }
        var expanded: [TaskExample] = []
        for example in dataset.examples {
            guard example.choices != nil else { expanded.append(example); continue }
            var correct: Int?
            if case .choice(let index)? = example.target { correct = index }
            for (index, input) in example.inputs.enumerated() {
                let target: TaskTarget? = correct.map { .label($0 == index ? "correct" : "incorrect") }
                expanded.append(TaskExample(input: input, target: target, line: example.line))
            }
        }
        return TaskDataset(path: dataset.path, examples: expanded)
    }

    /// The FUTE embedding (last-layer attention part) from precomputed states entering the encoder's last
    /// layer (`states[i]`: tokens × d for example i, from `encoder.hiddenStates(_:droppingLastLayers: 1)`).
    public func embed(lastLayerInputs states: [[Float]], targets: [TaskTarget?], path: String, kind: TaskEmbeddingKind) throws -> TaskEmbedding {
        precondition(trainsOnLastLayerInputs, "embed(lastLayerInputs:) is for FUTE with the last-layer attention part")
        guard !states.isEmpty else { throw DatasetError(path: path, line: nil, message: "no examples") }
        guard let layer = encoder.model.layers.last else { throw EncoderError("\(encoder.directory): the encoder has no layers") }
        let surrogateTargets = try Self.surrogateTargets(targets, path: path)
        let vector = AttentionSurrogate.embedding(states: states, layer: layer, configuration: encoder.model.configuration,
                                                  targets: surrogateTargets, settings: provenance.surrogate)
        return TaskEmbedding(vector: vector, kind: kind, provenance: provenance, exampleCount: states.count)
    }

    /// The embedding from precomputed sentence embeddings (`features[i]` for example i): TextEmb, or FUTE
    /// with the bottleneck part (the last-layer attention part needs `embed(lastLayerInputs:…)`).
    public func embed(features: [[Float]], targets: [TaskTarget?], path: String, kind: TaskEmbeddingKind) throws -> TaskEmbedding {
        precondition(!trainsOnLastLayerInputs, "FUTE with the last-layer attention part trains on token states: use embed(lastLayerInputs:…)")
        let d = encoder.dimension
        let n = features.count
        guard n > 0 else { throw DatasetError(path: path, line: nil, message: "no examples") }
        if provenance.method != .fute {
            var mean = [Float](repeating: 0, count: d)
            for f in features { for k in 0..<d { mean[k] += f[k] } }
            return TaskEmbedding(vector: mean.map { $0 / Float(n) }, kind: .textemb, provenance: provenance, exampleCount: n,
                                 examples: provenance.method == .examples ? features : [])
        }
        let surrogateTargets = try Self.surrogateTargets(targets, path: path)
        let flat = features.flatMap { $0 }
        let vector = SurrogateTrainer.embedding(features: flat, dimension: d, targets: surrogateTargets, settings: provenance.surrogate)
        return TaskEmbedding(vector: vector, kind: kind, provenance: provenance, exampleCount: n)
    }

    /// Gold labels become one-hot rows over the sorted label names (the zero-initialised head makes
    /// the embedding independent of that order); soft labels are used as given; values are regression.
    /// Multiple-choice targets must first be expanded into `correct`/`incorrect` labels of their
    /// pairs (`expandingChoices`), which are then ordinary labels.
    static func surrogateTargets(_ targets: [TaskTarget?], path: String) throws -> SurrogateTargets {
        guard let first = targets.first, let first else {
            throw DatasetError(path: path, line: nil, field: "label", message: "no targets; FUTE needs \"label\", \"probs\" or \"value\" on every line")
        }
        switch first {
        case .label:
            var names: [String] = []
            for t in targets { if case .label(let s)? = t { names.append(s) } }
            guard names.count == targets.count else {
                throw DatasetError(path: path, line: nil, field: "label", message: "some lines lack a class label")
            }
            let classes = Array(Set(names)).sorted()
            let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
            var y = [Float](repeating: 0, count: names.count * classes.count)
            for (i, name) in names.enumerated() { if let c = index[name] { y[i * classes.count + c] = 1 } }
            return .distributions(y, classes: classes.count)
        case .probabilities(let p0):
            var y: [Float] = []
            for t in targets {
                guard case .probabilities(let p)? = t, p.count == p0.count else {
                    throw DatasetError(path: path, line: nil, field: "probs", message: "every line needs probs of the same length")
                }
                y += p
            }
            return .distributions(y, classes: p0.count)
        case .value:
            var v: [Float] = []
            for t in targets {
                guard case .value(let x)? = t else {
                    throw DatasetError(path: path, line: nil, field: "value", message: "every line needs a numeric value")
                }
                v.append(Float(x))
            }
            return .values(v)
        case .choice:
            throw DatasetError(path: path, line: nil, field: "label",
                               message: "multiple-choice targets reached the surrogate unexpanded; expand them into (text, choice) pairs with TaskEmbedder.expandingChoices first")
        }
    }

    func lastLayerInputs(_ dataset: TaskDataset, progress: ((String, Int, Int) -> Void)?) -> [[Float]] {
        encoder.hiddenStates(dataset.examples.map(\.input), droppingLastLayers: 1) { done, total in progress?("encoding", done, total) }
    }

    func encode(_ dataset: TaskDataset, progress: ((String, Int, Int) -> Void)?) -> [[Float]] {
        encoder.encode(dataset.examples.map(\.input)) { done, total in progress?("encoding", done, total) }
    }
}

extension EmbeddingProvenance {
    /// The space provenance FuteDB records: method, encoder, weights checksum, seed, and the
    /// surrogate settings in `extra` (all of them define the space for FUTE).
    public var spaceProvenance: Provenance {
        guard method == .fute else {
            return Provenance(method: method.rawValue, encoder: encoder, encoderChecksum: encoderChecksum)
        }
        return Provenance(method: method.rawValue, encoder: encoder, encoderChecksum: encoderChecksum, seed: surrogate.seed,
                          comparison: surrogate.comparison, extra: surrogate.recordedFields)
    }
}
