import Embedders
import Encoder
import Foundation
import FuteDB
import Kernels
import Readers

/// `fute-bench tasks`: how well FUTE DTEs retrieve same-family tasks, over data samples × surrogate seeds.
///
/// Reads the labelled tasks of a directory with an `index.json` (`{name: {"family": …}}`, one
/// `name.jsonl` per task), draws `--examples` examples per task for each data sample (the sampler
/// `fute-db ingest --max-examples` uses), trains a DTE per task for each seed, and reports for every task
/// with a same-family partner the rank of its nearest partner among the other tasks (as the query layer
/// compares them, centered cosine, and by plain cosine), the nearest task of each, and a summary: runs in which every such task finds a partner first. Token states are
/// encoded once per example and shared by all runs. `--dump DIR` writes each DTE as raw float32
/// (`NAME-dSAMPLE-sSEED.f32`) for analysis elsewhere.
func runTaskRetrievalBenchmark(_ o: Options) throws {
    let directory = try o.require("tasks")
    let encoder = try TextEncoder(directory: try o.require("encoder"))
    let examples = try o.int("examples", default: 300)
    let samples = try o.ints("samples", default: [0], allowingZero: true).map(UInt64.init)
    let seeds = try o.ints("seeds", default: [0], allowingZero: true).map(UInt64.init)
    let ensemble = try o.int("ensemble", default: 1)
    let json = o.flag("json")
    let dump = o.string("dump")
    if let dump { try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true) }
    BLAS.setThreads(try o.int("threads", default: 2))

    var settings = SurrogateSettings()
    settings.epochs = try o.int("epochs", default: settings.epochs)
    settings.batchSize = try o.int("batch", default: settings.batchSize)
    settings.sketchWidth = try o.int("sketch", default: settings.sketchWidth)
    if let lr = o.string("lr") {
        guard let value = Float(lr), value > 0 else { throw BenchError("--lr must be a positive number, got '\(lr)'") }
        settings.learningRate = value
    }

    let families = try readTaskFamilies(directory: directory)
    let names = families.keys.sorted()
    var datasets: [String: TaskDataset] = [:]
    var states: [String: [Int: [Float]]] = [:]  // task → line → states entering the last layer
    let encodeStart = nanoseconds()
    for name in names {
        let all = try TaskDataset.read(path: "\(directory)/\(name).jsonl", requireTargets: true)
        datasets[name] = all
        var needed: [Int: TaskExample] = [:]
        for sample in samples { for e in all.sample(atMost: examples, seed: sample).examples { needed[e.line] = e } }
        let lines = needed.keys.sorted()
        let encoded = encoder.hiddenStates(lines.map { needed[$0]!.input }, droppingLastLayers: 1)
        states[name] = Dictionary(uniqueKeysWithValues: zip(lines, encoded))
        if !json { log("encoded \(name): \(lines.count) examples") }
    }
    let encodeSeconds = Double(nanoseconds() - encodeStart) / 1e9

    let withPartner = names.filter { name in names.contains { $0 != name && families[$0] == families[name] } }
    var tallies = [RetrievalTally(comparison: "centered cosine", centering: true), RetrievalTally(comparison: "plain cosine", centering: false)]
    var trainSeconds: [Double] = []
    for sample in samples {
        for seed in seeds {
            var vectors: [String: [Float]] = [:]
            for name in names {
                let sampled = datasets[name]!.sample(atMost: examples, seed: sample)
                let inputs = sampled.examples.map { states[name]![$0.line]! }
                var sum: [Float] = []
                for member in 0..<UInt64(ensemble) {
                    var s = settings
                    s.seed = seed &+ member
                    let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: "bench", method: .fute, settings: s)
                    let start = nanoseconds()
                    let v = try embedder.embed(lastLayerInputs: inputs, targets: sampled.examples.map(\.target),
                                               path: sampled.path, kind: .dte).vector
                    trainSeconds.append(Double(nanoseconds() - start) / 1e9)
                    let norm = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), .leastNormalMagnitude)
                    sum = sum.isEmpty ? v.map { $0 / norm } : zip(sum, v).map { $0 + $1 / norm }
                }
                vectors[name] = sum
                if let dump {
                    let data = sum.withUnsafeBufferPointer { Data(buffer: $0) }
                    try data.write(to: URL(fileURLWithPath: "\(dump)/\(name)-d\(sample)-s\(seed).f32"))
                }
            }
            for index in tallies.indices {
                let line = try tallies[index].add(vectors: vectors, families: families, withPartner: withPartner, sample: sample, seed: seed)
                if !json { print(line) }
            }
        }
    }
    let runCount = samples.count * seeds.count
    let description = "\(examples) examples, \(settings.part.rawValue), epochs \(settings.epochs), lr \(settings.learningRate), batch \(settings.batchSize), ensemble \(ensemble)"
    if json {
        print(jsonString(["benchmark": "tasks", "settings": description, "run_count": runCount, "encode_seconds": encodeSeconds,
                          "train_seconds_median": median(trainSeconds), "comparisons": tallies.map(\.json)]))
        return
    }
    print("\(description), \(runCount) runs (data samples × seeds):")
    for tally in tallies { print(tally.summary(withPartner: withPartner, runCount: runCount)) }
    print(String(format: "  encoding %.0f s once; training %.1f s median per task (max %.1f)", encodeSeconds, median(trainSeconds),
                 trainSeconds.max() ?? 0))
}

/// Partner ranks of the runs under one comparison (centered or plain cosine).
struct RetrievalTally {
    var comparison: String
    var centering: Bool
    var allFirst = 0
    var firstCounts: [String: Int] = [:]
    var rankSums: [String: Int] = [:]
    var runs: [[String: Any]] = []

    init(comparison: String, centering: Bool) {
        self.comparison = comparison
        self.centering = centering
    }

    /// Ranks `vectors` as the query layer does and records each partnered task's rank of its nearest
    /// same-family task; returns the run's line.
    mutating func add(vectors: [String: [Float]], families: [String: String], withPartner: [String],
                      sample: UInt64, seed: UInt64) throws -> String {
        let names = vectors.keys.sorted()
        let snapshot = TaskSpaceSnapshot(space: "bench", metric: .cosine, comparison: centering ? .centeredCosine : .metric,
                                         dimension: vectors[names[0]]!.count,
                                         entries: names.map { TaskEntry(name: $0, kind: .dataset, vector: vectors[$0]!) })
        var ranks: [String: Int] = [:], nearest: [String: String] = [:]
        for name in names {
            let order = try TaskQueries.nearest(in: snapshot, toSubject: name, k: names.count).map(\.name)
            nearest[name] = order.first
            if withPartner.contains(name) {
                ranks[name] = (order.firstIndex { families[$0] == families[name] } ?? order.count) + 1
            }
        }
        let first = ranks.values.filter { $0 == 1 }.count
        if first == withPartner.count { allFirst += 1 }
        for (name, rank) in ranks {
            rankSums[name, default: 0] += rank
            if rank == 1 { firstCounts[name, default: 0] += 1 }
        }
        runs.append(["sample": sample, "seed": seed, "partner_ranks": ranks, "nearest": nearest])
        let rankText = withPartner.map { "\($0) \(ranks[$0]!)" }.joined(separator: ", ")
        let nearestText = names.map { "\($0)→\(nearest[$0] ?? "-")" }.joined(separator: " ")
        return "sample \(sample) seed \(seed), \(comparison): partner ranks \(rankText); \(first)/\(withPartner.count) first | \(nearestText)"
    }

    func summary(withPartner: [String], runCount: Int) -> String {
        var lines = ["  \(comparison): every partner first in \(allFirst)/\(runCount) runs"]
        for name in withPartner {
            lines.append(String(format: "    %@: partner first %d/%d, mean rank %.2f", name, firstCounts[name] ?? 0, runCount,
                                Double(rankSums[name] ?? 0) / Double(runCount)))
        }
        return lines.joined(separator: "\n")
    }

    var json: [String: Any] { ["comparison": comparison, "all_first": allFirst, "first_counts": firstCounts, "runs": runs] }
}

/// `name → family` from a task directory's `index.json`.
func readTaskFamilies(directory: String) throws -> [String: String] {
    let path = "\(directory)/index.json"
    guard let data = FileManager.default.contents(atPath: path),
          let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { throw BenchError("\(path): cannot read a JSON object of tasks") }
    var families: [String: String] = [:]
    for (name, value) in object {
        guard let family = (value as? [String: Any])?["family"] as? String else {
            throw BenchError("\(path): task '\(name)' has no string field 'family'")
        }
        families[name] = family
    }
    return families
}
