import Embedders
import Encoder
import Foundation
import FuteDB
import Ingest
import Kernels

/// `fute-bench transfer`: transfer rankings against real measured transfers (e.g. TaskWeb); the
/// measurement is `TransferBenchmark` (Ingest), this prints it.
func runTransferBenchmark(_ o: Options) throws {
    let methods = try (o.string("methods") ?? "examples").split(separator: ",").map { name -> TaskEmbeddingMethod in
        guard let method = TaskEmbeddingMethod(rawValue: String(name)) else {
            throw BenchError("--methods: unknown method '\(name)'; use \(TaskEmbeddingMethod.allCases.map(\.rawValue).joined(separator: ", "))", usage: true)
        }
        return method
    }
    var configuration = TransferBenchmark.Configuration(
        tasks: try o.require("tasks"), observed: try o.require("observed"),
        metrics: (o.string("metric") ?? "taskweb-t5l").split(separator: ",").map(String.init), methods: methods,
        seeds: try o.ints("seeds", default: [0], allowingZero: true).map(UInt64.init), examples: try o.int("examples", default: 300))
    if let name = o.string("trainable") {
        guard let part = SurrogateSettings.TrainablePart(rawValue: name) else {
            throw BenchError("--trainable: unknown part '\(name)'; use \(SurrogateSettings.TrainablePart.allCases.map(\.rawValue).joined(separator: ", "))", usage: true)
        }
        configuration.part = part
    }
    configuration.dump = o.string("dump")
    var baselines: [String: [String: [String: Double]]] = [:]
    if let path = o.string("baselines") {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let methods = object as? [String: [String: [String: Double]]] else {
            throw BenchError("\(path): expected {method: {target: {source: score}}}")
        }
        baselines = methods
    }
    let json = o.flag("json")
    BLAS.setThreads(try o.int("threads", default: 2))
    let encoder = try TextEncoder(directory: try o.require("encoder"))
    let report = try TransferBenchmark.run(configuration, encoder: encoder, baselines: baselines) { if !json { log($0) } }
    if json {
        print(jsonString(["tasks": report.tasks, "targets": report.targets,
                          "costs": report.costs.mapValues { ["seconds_per_task": $0.secondsPerTask, "floats_per_task": $0.floatsPerTask, "bytes_per_task": $0.bytesPerTask] },
                          "rankings": report.lines.map { line -> [String: Any] in
                              var object: [String: Any] = ["ranking": line.ranking, "metric": line.metric, "targets": line.scores.targets,
                                                           "ndcg@3": line.scores.ndcg3, "ndcg@5": line.scores.ndcg5,
                                                           "regret@3": line.scores.regret3, "rank_of_best": line.scores.rankOfBest]
                              if let stability = line.scores.seedStability { object["seed_spearman"] = stability }
                              return object
                          }]))
        return
    }
    for metric in configuration.metrics {
        print("\n\(metric): \(report.targets) targets, \(report.tasks) tasks, seeds \(configuration.seeds.map(String.init).joined(separator: ",")), ≤ \(configuration.examples) examples per task")
        print(pad("ranking", 50) + pad("ndcg@3", 8, right: true) + pad("ndcg@5", 8, right: true) + pad("regret@3", 10, right: true)
              + pad("best at", 9, right: true) + pad("seed ρ", 8, right: true))
        for line in report.lines where line.metric == metric {
            let s = line.scores
            print(pad(line.ranking, 50) + pad(String(format: "%.3f", s.ndcg3), 8, right: true) + pad(String(format: "%.3f", s.ndcg5), 8, right: true)
                  + pad(String(format: "%.1f", s.regret3), 10, right: true) + pad(String(format: "%.1f", s.rankOfBest), 9, right: true)
                  + pad(s.seedStability.map { String(format: "%.3f", $0) } ?? "-", 8, right: true))
        }
    }
    print("\ningest cost (first seed): method, seconds/task, floats stored/task, store bytes/task")
    for (method, cost) in report.costs.sorted(by: { $0.key < $1.key }) {
        print(pad(method, 12) + String(format: "%8.1f s %12.0f %12.0f", cost.secondsPerTask, cost.floatsPerTask, cost.bytesPerTask))
    }
}

private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - s.count))
    return right ? padding + s : s + padding
}
