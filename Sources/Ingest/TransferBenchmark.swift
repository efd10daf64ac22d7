import Embedders
import Encoder
import Foundation
import FuteDB
import Readers

/// Transfer rankings measured against real transfer results (e.g. TaskWeb): what
/// `fute-bench transfer` runs, and what its test runs on a small fixture.
///
/// For each method and seed it ingests every `NAME.jsonl` of a folder into a temporary store
/// through the path of `fute-db ingest --dataset` (``TaskEmbedder`` + ``TaskEmbeddingStore``), stores
/// the observations (all targets: the query layer never uses a target's own observations, so every
/// blended ranking is leave-one-target-out), and ranks each observed target's sources with
/// `DatabaseReader.transferSources`, the code behind `fute-db query transfer`.
public struct TransferBenchmark {
    /// What to measure.
    public struct Configuration: Sendable {
        /// Folder of `NAME.jsonl` labelled datasets (every task is a candidate source).
        public var tasks: String
        /// Observed transfers, `fute-db observe` lines.
        public var observed: String
        /// Observation metrics to score against (e.g. `taskweb-t5l`).
        public var metrics: [String]
        /// Embedding methods; `examples` also yields the TextEmb ranking of its mean vectors.
        public var methods: [TaskEmbeddingMethod]
        /// Seeds (data sample and surrogate seed, as `ingest --seed`).
        public var seeds: [UInt64]
        /// Examples per task (`ingest --max-examples`).
        public var examples: Int
        /// The FUTE surrogate's part (method `fute`).
        public var part: SurrogateSettings.TrainablePart = .lastLayerAttention
        /// When set, every ranking's rows (source, similarity, blended score) are written to this
        /// file as JSON lines `{"ranking", "seed", "metric", "target", "rows"}`, for offline study.
        public var dump: String?

        /// Creates a configuration.
        public init(tasks: String, observed: String, metrics: [String] = ["taskweb-t5l"], methods: [TaskEmbeddingMethod] = [.examples],
                    seeds: [UInt64] = [0], examples: Int = 300) {
            self.tasks = tasks
            self.observed = observed
            self.metrics = metrics
            self.methods = methods
            self.seeds = seeds
            self.examples = examples
        }
    }

    /// One ranking's results on one metric.
    public struct Line: Sendable {
        /// The ranking, e.g. `examples`, `examples + observed (leave-one-target-out)`, `published: roe`.
        public var ranking: String
        /// The observation metric.
        public var metric: String
        /// Mean scores (over seeds).
        public var scores: TransferScores
    }

    /// Ingest cost of a method (first seed).
    public struct Cost: Sendable {
        /// Seconds per task: encode, embed and store.
        public var secondsPerTask: Double
        /// Floats stored per task (task vector plus example vectors).
        public var floatsPerTask: Double
        /// Store bytes in use per task (LMDB pages, index included).
        public var bytesPerTask: Double
    }

    /// The report.
    public struct Report: Sendable {
        /// Rankings × metrics.
        public var lines: [Line]
        /// Per method name.
        public var costs: [String: Cost]
        /// Tasks and observed targets.
        public var tasks: Int, targets: Int
    }

    /// Runs the benchmark with `encoder`. `baselines`: published rankings, method → target → source →
    /// score (higher = predicted better), scored by the same code. `progress` gets one line per step.
    public static func run(_ configuration: Configuration, encoder: TextEncoder,
                           baselines: [String: [String: [String: Double]]] = [:],
                           progress: (String) -> Void = { _ in }) throws -> Report {
        let names = try FileManager.default.contentsOfDirectory(atPath: configuration.tasks)
            .filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }.sorted()
        guard !names.isEmpty else {
            throw DatasetError(path: configuration.tasks, line: nil, message: "no NAME.jsonl task files in this folder")
        }
        let datasets = try names.map { try TaskDataset.read(path: "\(configuration.tasks)/\($0).jsonl", requireTargets: true) }
        let known = Set(names)
        let observed = try ObservationReader.read(configuration.observed).filter { known.contains($0.source) && known.contains($0.target) }
        for metric in configuration.metrics where !observed.contains(where: { $0.metric == metric }) {
            throw DatasetError(path: configuration.observed, line: nil, field: "metric",
                               message: "no observation with metric '\(metric)' between tasks of \(configuration.tasks)")
        }
        let checksum = try encoder.weightsChecksum()
        var dumpHandle: FileHandle?
        if let dump = configuration.dump {
            guard FileManager.default.createFile(atPath: dump, contents: nil), let handle = FileHandle(forWritingAtPath: dump) else {
                throw DatasetError(path: dump, line: nil, message: "cannot create the dump file")
            }
            dumpHandle = handle
        }
        defer { try? dumpHandle?.close() }
        // ranking → seed → metric → target → orders
        var orders: [String: [UInt64: [String: [String: TransferOrders]]]] = [:]
        var costs: [String: Cost] = [:]
        var rankingNames: [String] = []
        for method in configuration.methods {
            for seed in configuration.seeds {
                let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: checksum, method: method,
                                            settings: SurrogateSettings(seed: seed, part: configuration.part))
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fute-transfer-bench-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: directory) }
                let database = try FuteDatabase(path: directory.path)
                var seconds = 0.0, floats = 0
                for dataset in datasets {
                    let start = DispatchTime.now().uptimeNanoseconds
                    let embedding = try embedder.embed(dataset: dataset.sample(atMost: configuration.examples, seed: seed))
                    try TaskEmbeddingStore.store(embedding, name: dataset.name, space: "tasks", in: database)
                    seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    floats += embedding.vector.count + embedding.examples.reduce(0) { $0 + $1.count }
                    progress("\(method.rawValue) seed \(seed): embedded \(dataset.name) (\(embedding.exampleCount) examples)")
                }
                try database.write { writer in
                    for record in observed {
                        try writer.addObservation(TransferObservation(source: record.source, target: record.target, metric: record.metric, score: record.score))
                    }
                }
                if seed == configuration.seeds.first {
                    let bytes = try database.read { try $0.stats().usedBytes }
                    let n = Double(datasets.count)
                    costs[method.rawValue] = Cost(secondsPerTask: seconds / n, floatsPerTask: Double(floats) / n, bytesPerTask: Double(bytes) / n)
                }
                // The examples method also stores the mean vector, which ranks as TextEmb does: shown
                // unless the textemb method itself runs (the same vectors, the same figures).
                let rankings: [(String, ExampleRetrieval?)] = method != .examples
                    ? [(method == .fute ? "fute (\(configuration.part.rawValue))" : method.rawValue, nil)]
                    : configuration.methods.contains(.textemb) ? [("examples", .standard)]
                    : [("examples", .standard), ("textemb (mean of the examples)", nil)]
                for (name, retrieval) in rankings {
                    if !rankingNames.contains(name) { rankingNames.append(name) }
                    for metric in configuration.metrics {
                        var perTarget: [String: TransferOrders] = [:]
                        for target in Set(observed.filter { $0.metric == metric }.map(\.target)).sorted() {
                            let ranking = try database.read { reader in
                                try reader.transferSources(space: "tasks", target: target, k: Int.max, sources: .dataset,
                                                           metric: metric, retrieval: retrieval)
                            }
                            perTarget[target] = TransferOrders(rows: ranking.rows)
                            if let dump = dumpHandle {
                                let line: [String: Any] = ["ranking": name, "seed": seed, "metric": metric, "target": target,
                                                           "rows": ranking.rows.map { ["source": $0.source, "similarity": $0.similarity, "blended": $0.blended] }]
                                dump.write(try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) + Data("\n".utf8))
                            }
                        }
                        orders[name, default: [:]][seed, default: [:]][metric] = perTarget
                    }
                }
            }
        }

        var lines: [Line] = []
        var targets = 0
        for metric in configuration.metrics {
            var truth: [String: [String: Double]] = [:]
            for record in observed where record.metric == metric && record.source != record.target {
                truth[record.target, default: [:]][record.source] = record.score
            }
            targets = max(targets, truth.count)
            for name in rankingNames {
                let bySeed = orders[name] ?? [:]
                let similarity = bySeed.mapValues { ($0[metric] ?? [:]).mapValues(\.similarity) }
                let blended = bySeed.mapValues { ($0[metric] ?? [:]).mapValues(\.blended) }
                var scores = TransferScores.mean(configuration.seeds.map { TransferScores(orders: similarity[$0] ?? [:], truth: truth) })
                scores.seedStability = TransferScores.stability(similarity, truth: truth)
                lines.append(Line(ranking: name, metric: metric, scores: scores))
                var withObservations = TransferScores.mean(configuration.seeds.map { TransferScores(orders: blended[$0] ?? [:], truth: truth) })
                withObservations.seedStability = TransferScores.stability(blended, truth: truth)
                lines.append(Line(ranking: "\(name) + observed (leave-one-target-out)", metric: metric, scores: withObservations))
            }
            for (name, scores) in baselines.sorted(by: { $0.key < $1.key }) {
                let published = scores.mapValues { bySource in
                    bySource.keys.sorted { bySource[$0]! != bySource[$1]! ? bySource[$0]! > bySource[$1]! : $0 < $1 }
                }
                lines.append(Line(ranking: "published: \(name)", metric: metric,
                                  scores: TransferScores(orders: published.filter { truth[$0.key] != nil }, truth: truth)))
            }
            lines.append(Line(ranking: "random (exact expectation)", metric: metric, scores: TransferScores.random(truth: truth)))
        }
        return Report(lines: lines, costs: costs, tasks: names.count, targets: targets)
    }
}

/// One target's source orders by similarity alone and by the blended score.
struct TransferOrders {
    var similarity: [String]
    var blended: [String]

    init(rows: [TransferRow]) {
        blended = rows.map(\.source)
        similarity = rows.sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.source < $1.source }.map(\.source)
    }
}

/// Mean transfer-ranking metrics over targets, with TaskWeb's NDCG (relevance = n − gold rank).
public struct TransferScores: Sendable, Equatable {
    /// NDCG@3 and NDCG@5 with TaskWeb's rank relevance (``RankingMetrics/rankRelevances(_:)``).
    public var ndcg3 = 0.0, ndcg5 = 0.0
    /// Regret@3 in percent of the best source's observed score.
    public var regret3 = 0.0
    /// 1-based predicted rank of the best source.
    public var rankOfBest = 0.0
    /// Targets scored.
    public var targets = 0
    /// Mean Spearman correlation of a target's order between seeds (`nil` with one seed).
    public var seedStability: Double?

    /// Zero scores.
    public init() {}

    /// Scores `orders` (target → predicted source order) against `truth` (target → source → observed
    /// score), over each target's observed sources; observed sources missing from an order go last.
    public init(orders: [String: [String]], truth: [String: [String: Double]]) {
        for (target, scores) in truth.sorted(by: { $0.key < $1.key }) {
            guard let order = orders[target] else { continue }
            let ranked = order.filter { scores[$0] != nil && $0 != target }
            let rankedSet = Set(ranked)
            let full = ranked + scores.keys.filter { !rankedSet.contains($0) && $0 != target }.sorted()
            let observed = full.map { scores[$0]! }
            // Gold ties broken by name, as `fute-db eval --gain rank` does.
            let byName = scores.keys.filter { $0 != target }.sorted()
            let rankRelevance = Dictionary(uniqueKeysWithValues: zip(byName, RankingMetrics.rankRelevances(byName.map { scores[$0]! })))
            let relevance = full.map { rankRelevance[$0]! }
            ndcg3 += RankingMetrics.ndcg(relevance, k: 3) ?? 0
            ndcg5 += RankingMetrics.ndcg(relevance, k: 5) ?? 0
            regret3 += RankingMetrics.regret(observed, k: 3) ?? 0
            rankOfBest += Double(RankingMetrics.rankOfBest(observed) ?? 0)
            targets += 1
        }
        divide(by: Double(max(targets, 1)))
    }

    /// Exact expectations of a uniformly random order.
    public static func random(truth: [String: [String: Double]]) -> TransferScores {
        var s = TransferScores()
        for (target, scores) in truth {
            let observed = scores.filter { $0.key != target }.sorted { $0.key < $1.key }.map(\.value)
            let relevance = RankingMetrics.rankRelevances(observed)
            s.ndcg3 += RankingMetrics.expectedRandomNDCG(relevance, k: 3) ?? 0
            s.ndcg5 += RankingMetrics.expectedRandomNDCG(relevance, k: 5) ?? 0
            s.regret3 += RankingMetrics.expectedRandomRegret(observed, k: 3) ?? 0
            s.rankOfBest += RankingMetrics.expectedRandomRankOfBest(observed) ?? 0
            s.targets += 1
        }
        s.divide(by: Double(max(s.targets, 1)))
        return s
    }

    /// The mean of several runs (e.g. seeds).
    public static func mean(_ runs: [TransferScores]) -> TransferScores {
        var s = TransferScores()
        guard let first = runs.first else { return s }
        for run in runs {
            s.ndcg3 += run.ndcg3; s.ndcg5 += run.ndcg5; s.regret3 += run.regret3; s.rankOfBest += run.rankOfBest
        }
        s.divide(by: Double(runs.count))
        s.targets = first.targets
        return s
    }

    /// Mean Spearman correlation of each target's order (over its observed sources) between every
    /// pair of seeds; `nil` with fewer than two seeds.
    public static func stability(_ bySeed: [UInt64: [String: [String]]], truth: [String: [String: Double]]) -> Double? {
        let seeds = bySeed.keys.sorted()
        guard seeds.count > 1 else { return nil }
        var total = 0.0, count = 0
        for (i, a) in seeds.enumerated() {
            for b in seeds[(i + 1)...] {
                for (target, scores) in truth {
                    guard let x = bySeed[a]?[target], let y = bySeed[b]?[target] else { continue }
                    if let rho = spearman(x.filter { scores[$0] != nil }, y.filter { scores[$0] != nil }) {
                        total += rho
                        count += 1
                    }
                }
            }
        }
        return count > 0 ? total / Double(count) : nil
    }

    /// Spearman's ρ of two orders of the same items (1 − 6Σd²/(n(n²−1))); `nil` unless they hold the same ≥ 2 items.
    public static func spearman(_ x: [String], _ y: [String]) -> Double? {
        guard x.count == y.count, x.count > 1, Set(x) == Set(y), Set(x).count == x.count else { return nil }
        let position = Dictionary(uniqueKeysWithValues: y.enumerated().map { ($1, $0) })
        let n = Double(x.count)
        let d2 = x.enumerated().reduce(0.0) { sum, pair in
            let d = Double(pair.offset - position[pair.element]!)
            return sum + d * d
        }
        return 1 - 6 * d2 / (n * (n * n - 1))
    }

    private mutating func divide(by c: Double) {
        ndcg3 /= c; ndcg5 /= c; regret3 /= c; rankOfBest /= c
    }
}
