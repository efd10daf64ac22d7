import Foundation
import FuteDB
import Ingest
import Kernels

/// `fute-bench transfer`: transfer rankings against real measured transfers (e.g. TaskWeb).
///
/// For each method and seed: ingests every `NAME.jsonl` of `--tasks` into a temporary store
/// through the library (`TaskEmbedder` + `TaskEmbeddingStore`, the path of `fute-db ingest
/// --dataset`), stores the observations of `--observed` (all targets: the query layer never uses
/// a target's own observations, so every blended ranking is leave-one-target-out), and ranks each
/// observed target's sources with `DatabaseReader.transferSources` — the code behind
/// `fute-db query transfer`. Reported per ranking and metric, over the observed targets: NDCG@3
/// and @5 with TaskWeb's gains (relevance = n − gold rank), Regret@3 of the best source's score,
/// the rank of the best source, their exact random expectations, seed stability (mean Spearman
/// of a target's ranking between seeds) and ingest seconds and store bytes per task.
func runTransferBenchmark(_ o: Options) throws {
    let directory = try o.require("tasks")
    let observedPath = try o.require("observed")
    let encoderDirectory = try o.require("encoder")
    let metrics = (o.string("metric") ?? "taskweb-t5l").split(separator: ",").map(String.init)
    let methods = try (o.string("methods") ?? "examples,textemb").split(separator: ",").map { name -> TaskEmbeddingMethod in
        guard let method = TaskEmbeddingMethod(rawValue: String(name)) else {
            throw BenchError("--methods: unknown method '\(name)'; use \(TaskEmbeddingMethod.allCases.map(\.rawValue).joined(separator: ", "))", usage: true)
        }
        return method
    }
    let seeds = try o.ints("seeds", default: [0], allowingZero: true).map(UInt64.init)
    let examples = try o.int("examples", default: 300)
    let json = o.flag("json")
    BLAS.setThreads(try o.int("threads", default: 2))

    let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        .filter { $0.hasSuffix(".jsonl") }.map { String($0.dropLast(6)) }.sorted()
    guard !names.isEmpty else { throw BenchError("\(directory) holds no NAME.jsonl task files") }
    let datasets = try names.map { try TaskDataset.read(path: "\(directory)/\($0).jsonl", requireTargets: true) }
    let observed = try readObservations(observedPath).filter { names.contains($0.source) && names.contains($0.target) }
    for metric in metrics where !observed.contains(where: { $0.metric == metric }) {
        throw BenchError("\(observedPath) has no observations with metric '\(metric)' between tasks of \(directory)")
    }

    let encoder = try TextEncoder(directory: encoderDirectory)
    let checksum = try encoder.weightsChecksum()
    // ranking name → seed → metric → target → (similarity order, blended order)
    var orders: [String: [UInt64: [String: [String: TransferOrders]]]] = [:]
    var costs: [String: (seconds: Double, bytes: Double, floats: Double)] = [:]
    for method in methods {
        for seed in seeds {
            let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: checksum, method: method, settings: SurrogateSettings(seed: seed))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fute-bench-transfer-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = try FuteDatabase(path: directory.path)
            var seconds = 0.0, floats = 0
            for dataset in datasets {
                let start = nanoseconds()
                let embedding = try embedder.embed(dataset: dataset.sample(atMost: examples, seed: seed))
                try TaskEmbeddingStore.store(embedding, name: dataset.name, space: "tasks", in: database)
                seconds += Double(nanoseconds() - start) / 1e9
                floats += embedding.vector.count + embedding.examples.reduce(0) { $0 + $1.count }
                if !json { log("\(method.rawValue) seed \(seed): embedded \(dataset.name) (\(embedding.exampleCount) examples)") }
            }
            try database.write { writer in
                for record in observed { try writer.addObservation(record) }
            }
            let bytes = try database.read { try $0.stats().usedBytes }
            if seed == seeds[0] {
                costs[method.rawValue] = (seconds / Double(datasets.count), Double(bytes) / Double(datasets.count), Double(floats) / Double(datasets.count))
            }
            let rankings: [(String, Bool)] = method == .examples
                ? [("examples", true), ("textemb (examples' mean vector)", false)] : [(method.rawValue, false)]
            for (rankingName, useExamples) in rankings {
                for metric in metrics {
                    var perTarget: [String: TransferOrders] = [:]
                    for target in Set(observed.filter { $0.metric == metric }.map(\.target)).sorted() {
                        let ranking = try database.read { reader in
                            try reader.transferSources(space: "tasks", target: target, k: Int.max, sources: .dataset, metric: metric,
                                                       retrieval: useExamples ? .standard : nil)
                        }
                        perTarget[target] = TransferOrders(rows: ranking.rows)
                    }
                    orders[rankingName, default: [:]][seed, default: [:]][metric] = perTarget
                }
            }
        }
    }

    var baselineScores: [String: [String: [String: Double]]] = [:]
    if let path = o.string("baselines") {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let methods = object as? [String: [String: [String: Double]]] else {
            throw BenchError("\(path): expected {method: {target: {source: score}}}")
        }
        baselineScores = methods
    }

    var report: [[String: Any]] = []
    for metric in metrics {
        var truth: [String: [String: Double]] = [:]
        for record in observed where record.metric == metric { truth[record.target, default: [:]][record.source] = record.score }
        var lines: [(String, TransferScores)] = []
        for (name, bySeed) in orders.sorted(by: { $0.key < $1.key }) {
            let stability = seedStability(bySeed.mapValues { $0[metric] ?? [:] }, truth: truth)
            let similarity = average(seeds.map { seed in TransferScores(orders: bySeed[seed]?[metric]?.mapValues(\.similarity) ?? [:], truth: truth) })
            lines.append(("\(name)", similarity.with(stability: stability, cost: costs[name.components(separatedBy: " ")[0]])))
            let blended = average(seeds.map { seed in TransferScores(orders: bySeed[seed]?[metric]?.mapValues(\.blended) ?? [:], truth: truth) })
            lines.append(("\(name) + observed (leave-one-target-out)", blended.with(stability: seedStability(bySeed.mapValues { ($0[metric] ?? [:]).mapValues { TransferOrders(similarity: $0.blended, blended: $0.blended) } }, truth: truth), cost: nil)))
        }
        for (name, scores) in baselineScores.sorted(by: { $0.key < $1.key }) {
            let orders = scores.mapValues { bySource in bySource.keys.sorted { (bySource[$0]!, $1) > (bySource[$1]!, $0) } }
            lines.append(("published: \(name)", TransferScores(orders: orders.filter { truth[$0.key] != nil }, truth: truth)))
        }
        let random = TransferScores.random(truth: truth)
        lines.append(("random (exact expectation)", random))
        if json {
            for (name, scores) in lines { report.append(scores.json(ranking: name, metric: metric)) }
        } else {
            print("\n\(metric): \(truth.count) targets, \(names.count) tasks, seeds \(seeds.map(String.init).joined(separator: ",")), \(examples) examples per task")
            print(TransferScores.header)
            for (name, scores) in lines { print(scores.row(name)) }
        }
    }
    if json { print(jsonString(["rankings": report])) }
}

/// One target's source orders by similarity alone and by the blended score.
struct TransferOrders {
    var similarity: [String]
    var blended: [String]

    init(similarity: [String], blended: [String]) {
        self.similarity = similarity
        self.blended = blended
    }

    init(rows: [TransferRow]) {
        blended = rows.map(\.source)
        similarity = rows.sorted { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.source < $1.source }.map(\.source)
    }
}

/// Mean metrics of one ranking over targets.
struct TransferScores {
    var ndcg3 = 0.0, ndcg5 = 0.0, regret3 = 0.0, rankOfBest = 0.0, targets = 0
    var stability: Double?
    var cost: (seconds: Double, bytes: Double, floats: Double)?

    init() {}

    /// Scores `orders` (target → predicted source order) against `truth` (target → source → score),
    /// over the sources observed for each target.
    init(orders: [String: [String]], truth: [String: [String: Double]]) {
        var n3 = 0.0, n5 = 0.0, r3 = 0.0, rb = 0.0, count = 0
        for (target, scores) in truth {
            guard let order = orders[target] else { continue }
            let ranked = order.filter { scores[$0] != nil && $0 != target }
            let rest = scores.keys.filter { !ranked.contains($0) && $0 != target }.sorted()  // unranked sources go last
            let full = ranked + rest
            let observedScores = full.map { scores[$0]! }
            let relevance = TaskWebRelevance.relevances(observedScores)
            n3 += RankingMetrics.ndcg(relevance, k: 3) ?? 0
            n5 += RankingMetrics.ndcg(relevance, k: 5) ?? 0
            r3 += RankingMetrics.regret(observedScores, k: 3) ?? 0
            rb += Double(RankingMetrics.rankOfBest(observedScores) ?? 0)
            count += 1
        }
        let c = Double(max(count, 1))
        ndcg3 = n3 / c; ndcg5 = n5 / c; regret3 = r3 / c; rankOfBest = rb / c; targets = count
    }

    /// Exact expectations of a uniformly random order.
    static func random(truth: [String: [String: Double]]) -> TransferScores {
        var s = TransferScores()
        for (target, scores) in truth {
            let values = scores.filter { $0.key != target }.map(\.value)
            let relevance = TaskWebRelevance.relevances(values)
            s.ndcg3 += RankingMetrics.expectedRandomNDCG(relevance, k: 3) ?? 0
            s.ndcg5 += RankingMetrics.expectedRandomNDCG(relevance, k: 5) ?? 0
            s.regret3 += RankingMetrics.expectedRandomRegret(values, k: 3) ?? 0
            s.rankOfBest += RankingMetrics.expectedRandomRankOfBest(values) ?? 0
            s.targets += 1
        }
        let c = Double(max(s.targets, 1))
        s.ndcg3 /= c; s.ndcg5 /= c; s.regret3 /= c; s.rankOfBest /= c
        return s
    }

    func with(stability: Double?, cost: (seconds: Double, bytes: Double, floats: Double)?) -> TransferScores {
        var s = self
        s.stability = stability
        s.cost = cost
        return s
    }

    static let header = pad("ranking", 52) + pad("ndcg@3", 8, right: true) + pad("ndcg@5", 8, right: true) + pad("regret@3", 10, right: true)
        + pad("best at", 9, right: true) + pad("seed ρ", 8, right: true) + pad("s/task", 8, right: true) + pad("floats/task", 13, right: true)
        + pad("bytes/task", 12, right: true)

    func row(_ name: String) -> String {
        pad(name, 52) + pad(String(format: "%.3f", ndcg3), 8, right: true) + pad(String(format: "%.3f", ndcg5), 8, right: true)
            + pad(String(format: "%.1f", regret3), 10, right: true) + pad(String(format: "%.1f", rankOfBest), 9, right: true)
            + pad(stability.map { String(format: "%.3f", $0) } ?? "-", 8, right: true)
            + pad(cost.map { String(format: "%.1f", $0.seconds) } ?? "-", 8, right: true)
            + pad(cost.map { String(format: "%.0f", $0.floats) } ?? "-", 13, right: true)
            + pad(cost.map { String(format: "%.0f", $0.bytes) } ?? "-", 12, right: true)
    }

    func json(ranking: String, metric: String) -> [String: Any] {
        var object: [String: Any] = ["ranking": ranking, "metric": metric, "targets": targets, "ndcg@3": ndcg3, "ndcg@5": ndcg5,
                                     "regret@3": regret3, "rank_of_best": rankOfBest]
        if let stability { object["seed_spearman"] = stability }
        if let cost { object["seconds_per_task"] = cost.seconds; object["bytes_per_task"] = cost.bytes; object["floats_per_task"] = cost.floats }
        return object
    }
}

/// Mean of several runs' scores (e.g. seeds).
func average(_ runs: [TransferScores]) -> TransferScores {
    var s = TransferScores()
    guard !runs.isEmpty else { return s }
    let c = Double(runs.count)
    s.ndcg3 = runs.map(\.ndcg3).reduce(0, +) / c
    s.ndcg5 = runs.map(\.ndcg5).reduce(0, +) / c
    s.regret3 = runs.map(\.regret3).reduce(0, +) / c
    s.rankOfBest = runs.map(\.rankOfBest).reduce(0, +) / c
    s.targets = runs[0].targets
    return s
}

/// Mean Spearman correlation of each target's similarity order between every pair of seeds
/// (over the target's observed sources); `nil` with one seed.
func seedStability(_ bySeed: [UInt64: [String: TransferOrders]], truth: [String: [String: Double]]) -> Double? {
    let seeds = bySeed.keys.sorted()
    guard seeds.count > 1 else { return nil }
    var total = 0.0, count = 0
    for (i, a) in seeds.enumerated() {
        for b in seeds[(i + 1)...] {
            for (target, scores) in truth {
                guard let x = bySeed[a]?[target]?.similarity, let y = bySeed[b]?[target]?.similarity else { continue }
                let sources = scores.keys.filter { $0 != target }
                let rx = Dictionary(uniqueKeysWithValues: x.filter(sources.contains).enumerated().map { ($1, Double($0)) })
                let ry = Dictionary(uniqueKeysWithValues: y.filter(sources.contains).enumerated().map { ($1, Double($0)) })
                let common = sources.filter { rx[$0] != nil && ry[$0] != nil }
                guard common.count > 1 else { continue }
                let n = Double(common.count)
                let d2 = common.reduce(0.0) { $0 + pow(rx[$1]! - ry[$1]!, 2) }
                total += 1 - 6 * d2 / (n * (n * n - 1))
                count += 1
            }
        }
    }
    return count > 0 ? total / Double(count) : nil
}

/// `{"source","target","score","metric"?}` lines.
func readObservations(_ path: String) throws -> [TransferObservation] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var result: [TransferObservation] = []
    for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
    where !line.trimmingCharacters(in: .whitespaces).isEmpty {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let source = object["source"] as? String, let target = object["target"] as? String,
              let score = object["score"] as? Double else {
            throw BenchError("\(path):\(number + 1): expected {\"source\", \"target\", \"score\", \"metric\"?}")
        }
        result.append(TransferObservation(source: source, target: target, metric: object["metric"] as? String ?? "score", score: score))
    }
    return result
}

private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - s.count))
    return right ? padding + s : s + padding
}

/// TaskWeb's relevance: n − (0-based rank in the gold order, descending score).
enum TaskWebRelevance {
    static func relevances(_ scores: [Double]) -> [Double] {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var relevance = [Double](repeating: 0, count: scores.count)
        for (rank, index) in order.enumerated() { relevance[index] = Double(scores.count - rank) }
        return relevance
    }
}
