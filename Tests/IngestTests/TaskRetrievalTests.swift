import Foundation
import FuteDB
import XCTest
@testable import Embedders
@testable import Encoder
@testable import Readers

/// Real-data checks on `../shared/data/tasks` (skipped when absent): 300 examples per task.
final class TaskRetrievalTests: XCTestCase {
    static let examplesPerTask = 300

    /// A task's sample with its encodings: sentence embeddings (TextEmb, the classifiers) and the token
    /// states entering the encoder's last layer (FUTE DTE).
    struct EncodedTask {
        var dataset: TaskDataset
        var features: [[Float]]
        var states: [[Float]]
    }

    /// Encodings of the tasks' samples, computed once per test process (encoding dominates).
    /// `nonisolated(unsafe)`: XCTest runs these tests one after another on one thread.
    nonisolated(unsafe) static var cache: (encoder: TextEncoder, tasks: [String: EncodedTask])?
    nonisolated(unsafe) static var dteCache: [String: [Float]]?

    static func loadTasks() throws -> (encoder: TextEncoder, tasks: [String: EncodedTask]) {
        if let cache { return cache }
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let directory = try TestResources.shared("data/tasks")
        let names = ["sst2", "yelp", "ag_news", "snli", "rte", "mrpc", "cola", "trec", "subj"]
        var tasks: [String: EncodedTask] = [:]
        for name in names {
            let dataset = try TaskDataset.read(path: "\(directory)/\(name).jsonl", requireTargets: true)
                .sample(atMost: examplesPerTask, seed: 0)
            let inputs = dataset.examples.map(\.input)
            tasks[name] = EncodedTask(dataset: dataset, features: encoder.encode(inputs),
                                      states: encoder.hiddenStates(inputs, droppingLastLayers: 1))
        }
        cache = (encoder, tasks)
        return (encoder, tasks)
    }

    /// The query layer's view of `vectors` as datasets of one space, compared the way a space of
    /// `method` compares them (FUTE: centered cosine; TextEmb: cosine).
    static func snapshot(_ vectors: [String: [Float]], method: TaskEmbeddingMethod) -> TaskSpaceSnapshot {
        let entries = vectors.keys.sorted().map { TaskEntry(name: $0, kind: .dataset, vector: vectors[$0]!) }
        let comparison = method == .fute ? SurrogateSettings().comparison : .metric
        return TaskSpaceSnapshot(space: "test", metric: .cosine, comparison: comparison, dimension: entries[0].vector.count, entries: entries)
    }

    /// The other datasets, nearest first, as `fute-db query` ranks them.
    static func neighbours(of name: String, in snapshot: TaskSpaceSnapshot) throws -> [String] {
        try TaskQueries.nearest(in: snapshot, toSubject: name, k: snapshot.entries.count).map(\.name)
    }

    /// For each name, the nearest other name.
    static func nearest(_ snapshot: TaskSpaceSnapshot) throws -> [String: String] {
        var out: [String: String] = [:]
        for entry in snapshot.entries { out[entry.name] = try neighbours(of: entry.name, in: snapshot).first }
        return out
    }

    /// DTEs (FUTE, default settings, seed 0; computed once) or TextEmb of the 9 tasks.
    func embeddings(method: TaskEmbeddingMethod) throws -> [String: [Float]] {
        if method == .fute, let cached = Self.dteCache { return cached }
        let (encoder, tasks) = try Self.loadTasks()
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: "test", method: method, settings: SurrogateSettings(seed: 0))
        var out: [String: [Float]] = [:]
        for (name, task) in tasks {
            let targets = task.dataset.examples.map(\.target)
            out[name] = method == .fute
                ? try embedder.embed(lastLayerInputs: task.states, targets: targets, path: task.dataset.path, kind: .dte).vector
                : try embedder.embed(features: task.features, targets: targets, path: task.dataset.path, kind: .textemb).vector
        }
        if method == .fute { Self.dteCache = out }
        return out
    }

    /// 1-based rank of `partner` among `name`'s neighbours.
    static func rank(of partner: String, for name: String, in snapshot: TaskSpaceSnapshot) throws -> Int {
        let order = try neighbours(of: name, in: snapshot)
        return (order.firstIndex(of: partner) ?? order.count) + 1
    }

    func testSameFamilyTasksAreNearestUnderFuteDTE() throws {
        let dte = Self.snapshot(try embeddings(method: .fute), method: .fute)
        let textemb = Self.snapshot(try embeddings(method: .textemb), method: .textemb)
        XCTAssertNotNil(dte.center, "a FUTE space of 9 datasets is compared by centered cosine")
        let nearestDTE = try Self.nearest(dte), nearestText = try Self.nearest(textemb)
        print("| task | nearest (FUTE DTE) | nearest (TextEmb) |")
        print("|---|---|---|")
        for name in nearestDTE.keys.sorted() { print("| \(name) | \(nearestDTE[name] ?? "-") | \(nearestText[name] ?? "-") |") }
        for (a, b) in [("sst2", "yelp"), ("yelp", "sst2"), ("snli", "rte"), ("rte", "snli")] {
            print("rank of \(b) for \(a): DTE \(try Self.rank(of: b, for: a, in: dte)), TextEmb \(try Self.rank(of: b, for: a, in: textemb))")
        }
        // Each task with a same-family partner finds it as its nearest dataset.
        XCTAssertEqual(nearestDTE["sst2"], "yelp")
        XCTAssertEqual(nearestDTE["yelp"], "sst2")
        XCTAssertEqual(nearestDTE["snli"], "rte")
        XCTAssertEqual(nearestDTE["rte"], "snli")
    }
}

extension TaskRetrievalTests {
    /// A classifier trained on one task, run as a black box on unsupervised inputs U (other corpora),
    /// gets an MTE whose nearest DTE is a task of its family.
    func testModelTaskEmbeddingOfAClassifierIsNearestToItsFamily() throws {
        let (encoder, tasks) = try Self.loadTasks()
        let directory = try TestResources.shared("data/tasks")
        let dte = try embeddings(method: .fute)
        let snapshot = Self.snapshot(dte, method: .fute)
        let corpora = tasks.keys.sorted().map { "\(directory)/\($0).jsonl" }
        let u = try UnsupervisedSampler.sample(from: corpora, count: 800, exclude: ["sst2"], seed: 0)
        let uFeatures = encoder.encode(u.map(\.input))
        let uStates = encoder.hiddenStates(u.map(\.input), droppingLastLayers: 1)
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: "test", method: .fute, settings: SurrogateSettings(seed: 0))
        let expectations = ["sst2": ["sst2", "yelp"], "trec": ["trec"], "ag_news": ["ag_news"]]
        var failures: [String] = []
        for (modelTask, family) in expectations.sorted(by: { $0.key < $1.key }) {
            let task = try XCTUnwrap(tasks[modelTask])
            let labels = task.dataset.examples.map { ex -> String in if case .label(let s)? = ex.target { return s }; return "" }
            let classifier = SoftmaxClassifier(features: task.features.flatMap { $0 }, dimension: encoder.dimension, labels: labels)
            let probs = classifier.probabilities(features: uFeatures.flatMap { $0 })
            let c = classifier.classes.count
            let targets: [TaskTarget?] = (0..<u.count).map { .probabilities(Array(probs[$0 * c ..< ($0 + 1) * c])) }
            let mte = try embedder.embed(lastLayerInputs: uStates, targets: targets, path: "U", kind: .mte)
            let ranked = try TaskQueries.nearest(in: snapshot, to: mte.vector, k: dte.count).map(\.name)
            print("MTE of a classifier trained on \(modelTask): nearest DTEs \(ranked.prefix(3))")
            if !family.contains(ranked[0]) { failures.append("\(modelTask) → \(ranked[0])") }
        }
        // Every classifier's MTE is nearest a DTE of its own family (sentiment, question type, topic).
        XCTAssertEqual(failures, [], "each classifier's MTE should be nearest a DTE of its family")
    }
}
