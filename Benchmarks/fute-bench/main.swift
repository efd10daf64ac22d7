import Foundation
import Index
import Kernels

// fute-bench: benchmarks for fute-db's kernels and index. No dependencies beyond the package.

let usage = """
usage: fute-bench <command> [options]

commands:
  ann      --base F --query F [--truth F.ivecs] --metric l2|cosine|ip [--m 16] [--ef-construction 200]
           [--ef 16,32,64,128,256] [-k 10] [--batch 1000] [--store lmdb|memory] [--runs 3] [--limit N]
           [--encoding float32|float16] [--one-shot] [--keep DIR] [--json]
           Build an index in a temporary LMDB store (vectors as --encoding; default float16 for cosine,
           float32 otherwise); recall@1/@k, QPS, p50/p99 per ef; build time,
           bytes on disk per vector, open time. Truth from --truth or exact BLAS search.
           --one-shot: every query in its own read transaction with its own searcher (as one
           FuteDB `nearest` call), instead of one searcher for all queries.
           --keep DIR: the store lives in DIR and stays; a later run with the same --base finds the
           graph there and only searches it (build 0 s): tune search on a 1M set without rebuilding.
  sweep    same inputs as ann; builds every M in --ms (8,16,32) × efConstruction in --efcs (100,200,400)
  insert   --base F --metric M [--batches 1,10,100,1000] [--limit 5000] [--json]
           insert throughput by commit batch size (vectors per write transaction)
  churn    --base F --metric M [--sizes 10000,100000] [--batch 1000] [--ops 20] [--mix 0.05 [--mix-batch 100]] [--keep DIR] [--cold-writers] [--m 16] [--ef-construction 200] [--json]
           cost of one small commit as the graph grows: builds the first N rows for each N of --sizes,
           then times --ops commits each of 10 inserts, of 1 delete and of 1 replace (ms, noSync)
  exact    --base F --query F --metric M [-k 10] [--json]     exact search QPS (BLAS batch, SIMD single)
  kernels  [--dims 128,384,768] [--json]                      ns per distance call, Swift beside C
  synth    --out DIR [--n 100000] [--dim 128] [--queries 1000] [--seed 1] [--metric l2|cosine] [--clusters 100]
           writes base.fvecs, query.fvecs, groundtruth.ivecs (exact top-100)
  encoder  --encoder DIR --input FILE.jsonl [--limit 500] [--threads 1,2] [--runs 3] [--batch-tokens 1024] [--json]
           sentences/s of the Swift text encoder (tokenization included); against PyTorch in
           the same run: Tools/compare-encoder-torch.sh [FILE.jsonl ...]
  tasks    --encoder DIR --tasks DIR [--examples 300] [--samples 0] [--seeds 0] [--ensemble 1] [--epochs 3]
           [--lr 3e-4] [--batch 32] [--sketch 4096] [--threads 2] [--dump DIR] [--json]
           FUTE DTE same-family retrieval over data samples × seeds: each task's rank of its nearest
           same-family task, by centered cosine (as the query layer compares) and by plain cosine;
           --sketch 0 keeps whole attention deltas
           DIR has index.json with a family per task, and NAME.jsonl files
  transfer --encoder DIR --tasks DIR --observed FILE [--metric taskweb-t5l[,taskweb-roberta,…]]
           [--methods examples,textemb,fute] [--trainable last-layer-attention|bottleneck]
           [--seeds 0] [--examples 300] [--baselines FILE] [--dump FILE.jsonl] [--threads 2] [--json]
           transfer rankings (query transfer) against measured transfers: every task of DIR ingested per
           method and seed, NDCG@3/@5 (TaskWeb gains), Regret@3, rank of the best source, random
           expectation, seed stability, s/task and bytes/task; --baselines scores published rankings

Data files: .fvecs (texmex) or .npy (float32/64, 2-D); truth .ivecs. Build with
  swift build -c release --product fute-bench   (AVX2+FMA kernels chosen at run time; see README)
Environment: FUTE_KERNELS=portable runs the portable kernels on an AVX2+FMA CPU.
"""

func parseMetric(_ s: String) throws -> Metric {
    guard let m = Metric(rawValue: s) else { throw BenchError("--metric must be l2, cosine or ip, got '\(s)'", usage: true) }
    return m
}

struct AnnInputs {
    var name: String
    var base: Matrix
    var queries: Matrix
    var truth: [[Int]]
    var metric: Metric
    var k: Int
}

func loadAnnInputs(_ o: Options) throws -> AnnInputs {
    let basePath = try o.require("base"), queryPath = try o.require("query")
    let metric = try parseMetric(try o.require("metric"))
    let k = try o.int("k", default: 10)
    var base = try loadMatrix(basePath)
    let limit = try o.int("limit", default: 0)
    if limit > 0 { base = base.prefix(limit) }
    var queries = try loadMatrix(queryPath)
    let queryLimit = try o.int("queries", default: 0)
    if queryLimit > 0 { queries = queries.prefix(queryLimit) }
    guard queries.dimension == base.dimension else {
        throw BenchError("queries have dimension \(queries.dimension) but base has \(base.dimension)")
    }
    var truth: [[Int]]
    if let t = o.string("truth"), limit == 0 {
        truth = try loadTruth(t)
        guard truth.count >= queries.rows else { throw BenchError("\(t) has \(truth.count) rows for \(queries.rows) queries") }
        truth = Array(truth.prefix(queries.rows))
    } else {
        BLAS.setThreads(1)
        truth = exactTruth(base: base, queries: queries, metric: metric, k: max(k, 100))
    }
    return AnnInputs(name: URL(fileURLWithPath: basePath).lastPathComponent, base: base, queries: queries, truth: truth, metric: metric, k: k)
}

let annOptions: Set<String> = ["base", "query", "truth", "metric", "m", "ef-construction", "ef", "k", "batch", "store", "runs", "limit", "queries", "ms",
                                "efcs", "encoding", "keep"]

/// `--encoding float32|float16` (absent: the metric's preferred encoding, as a new graph gets).
func vectorEncoding(_ o: Options) throws -> VectorEncoding? {
    guard let name = o.string("encoding") else { return nil }
    guard let encoding = VectorEncoding(rawValue: name) else {
        throw BenchError("--encoding must be one of \(VectorEncoding.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'", usage: true)
    }
    return encoding
}

func main() throws {
    var args = Array(CommandLine.arguments.dropFirst())
    guard let command = args.first, !["-h", "--help", "help"].contains(command) else {
        print(usage)
        return
    }
    args.removeFirst()
    printBuildBanner()
    switch command {
    case "ann":
        let o = try Options(args, flags: ["json", "one-shot"], known: annOptions)
        let inputs = try loadAnnInputs(o)
        let parameters = HNSWParameters(m: try o.int("m", default: 16), efConstruction: try o.int("ef-construction", default: 200),
                                        encoding: try vectorEncoding(o))
        try parameters.validate()
        let store = o.string("store") ?? "lmdb"
        guard store == "lmdb" || store == "memory" else { throw BenchError("--store must be lmdb or memory", usage: true) }
        guard o.string("keep") == nil || store == "lmdb" else { throw BenchError("--keep needs --store lmdb", usage: true) }
        let result = try runAnn(name: inputs.name, base: inputs.base, queries: inputs.queries, truth: inputs.truth, metric: inputs.metric,
                                parameters: parameters, efs: try o.ints("ef", default: [16, 32, 64, 128, 256]), k: inputs.k,
                                batch: try o.int("batch", default: 1_000), store: store, runs: try o.int("runs", default: 3),
                                oneShot: o.flag("one-shot"), keep: o.string("keep"))
        if o.flag("json") { print(jsonString(result.json)) } else { result.printTable() }
    case "sweep":
        let o = try Options(args, flags: ["json"], known: annOptions.subtracting(["keep"]))
        let inputs = try loadAnnInputs(o)
        var all: [[String: Any]] = []
        for m in try o.ints("ms", default: [8, 16, 32]) {
            for efc in try o.ints("efcs", default: [100, 200, 400]) {
                let result = try runAnn(name: inputs.name, base: inputs.base, queries: inputs.queries, truth: inputs.truth,
                                        metric: inputs.metric, parameters: HNSWParameters(m: m, efConstruction: efc, encoding: try vectorEncoding(o)),
                                        efs: try o.ints("ef", default: [16, 64, 128]), k: inputs.k,
                                        batch: try o.int("batch", default: 1_000), store: o.string("store") ?? "lmdb",
                                        runs: try o.int("runs", default: 2))
                if o.flag("json") { all.append(result.json) } else { result.printTable(); print("") }
            }
        }
        if o.flag("json") { print(jsonString(["benchmark": "sweep", "runs": all])) }
    case "insert":
        let o = try Options(args, flags: ["json"], known: ["base", "metric", "batches", "limit", "m", "ef-construction"])
        var base = try loadMatrix(try o.require("base"))
        base = base.prefix(try o.int("limit", default: 5_000))
        let metric = try parseMetric(try o.require("metric"))
        let parameters = HNSWParameters(m: try o.int("m", default: 16), efConstruction: try o.int("ef-construction", default: 200))
        var rows: [[String: Any]] = []
        if !o.flag("json") { print("insert throughput, \(base.rows)×\(base.dimension), M=\(parameters.m), efConstruction=\(parameters.efConstruction), noSync") }
        for batch in try o.ints("batches", default: [1, 10, 100, 1_000]) {
            let directory = temporaryDirectory("insert")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let seconds = try buildLMDB(base: base, metric: metric, parameters: parameters, batch: batch, directory: directory)
            let size = directorySize(directory)
            rows.append(["batch": batch, "seconds": seconds, "vectors_per_second": Double(base.rows) / seconds,
                         "file_bytes_per_vector": Double(size) / Double(base.rows)])
            if !o.flag("json") {
                print(String(format: "  batch %6d: %8.0f vectors/s  (%.2f s, file %.0f bytes/vector)", batch, Double(base.rows) / seconds, seconds, Double(size) / Double(base.rows)))
            }
        }
        if o.flag("json") { print(jsonString(["benchmark": "insert", "rows": base.rows, "results": rows])) }
    case "churn":
        let o = try Options(args, flags: ["json", "cold-writers"], known: ["base", "metric", "sizes", "batch", "ops", "m", "ef-construction", "mix", "mix-batch", "keep"])
        let base = try loadMatrix(try o.require("base"))
        let metric = try parseMetric(try o.require("metric"))
        let parameters = HNSWParameters(m: try o.int("m", default: 16), efConstruction: try o.int("ef-construction", default: 200))
        try parameters.validate()
        let operations = try o.int("ops", default: 20)
        guard operations > 0 else { throw BenchError("--ops must be positive", usage: true) }
        let mix = try o.double("mix", default: 0)
        guard (0...0.5).contains(mix) else { throw BenchError("--mix must be a fraction from 0 to 0.5", usage: true) }
        let mixBatch = try o.int("mix-batch", default: 100)
        guard mixBatch > 0 else { throw BenchError("--mix-batch must be positive", usage: true) }
        let sizes = try o.ints("sizes", default: [10_000, 100_000])
        let keep = o.string("keep")
        guard keep == nil || sizes.count == 1 else { throw BenchError("--keep takes one size (--sizes N)", usage: true) }
        var results: [ChurnResult] = []
        for size in sizes {
            results.append(try runChurn(base: base, size: size, metric: metric, parameters: parameters,
                                        batch: try o.int("batch", default: 1_000), operations: operations, mix: mix, mixBatch: mixBatch,
                                        keep: keep, coldWriters: o.flag("cold-writers")))
        }
        if o.flag("json") {
            print(jsonString(["benchmark": "churn", "m": parameters.m, "ef_construction": parameters.efConstruction, "results": results.map(\.json)]))
        } else {
            printChurn(results, parameters: parameters)
        }
    case "exact":
        let o = try Options(args, flags: ["json"], known: ["base", "query", "metric", "k", "limit"])
        var base = try loadMatrix(try o.require("base"))
        let limit = try o.int("limit", default: 0)
        if limit > 0 { base = base.prefix(limit) }
        runExact(base: base, queries: try loadMatrix(try o.require("query")), metric: try parseMetric(try o.require("metric")),
                 k: try o.int("k", default: 10), json: o.flag("json"))
    case "kernels":
        let o = try Options(args, flags: ["json"], known: ["dims"])
        runKernels(dimensions: try o.ints("dims", default: [128, 384, 768]), json: o.flag("json"))
    case "synth":
        let o = try Options(args, flags: [], known: ["out", "n", "dim", "queries", "seed", "metric", "clusters"])
        let out = try o.require("out")
        let metric = try parseMetric(o.string("metric") ?? "l2")
        let n = try o.int("n", default: 100_000), d = try o.int("dim", default: 128), nq = try o.int("queries", default: 1_000)
        let seed = UInt64(try o.int("seed", default: 1)), clusters = try o.int("clusters", default: 100)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let base = syntheticMatrix(rows: n, dimension: d, clusters: clusters, seed: seed, normalize: metric != .l2)
        // Queries continue the base's stream: same centres, fresh points.
        var shifted = syntheticMatrix(rows: n + nq, dimension: d, clusters: clusters, seed: seed, normalize: metric != .l2)
        shifted.values = Array(shifted.values[(n * d)...]); shifted.rows = nq
        try writeFvecs(base, to: out + "/base.fvecs")
        try writeFvecs(shifted, to: out + "/query.fvecs")
        BLAS.setThreads(1)
        try writeIvecs(exactTruth(base: base, queries: shifted, metric: metric, k: 100), to: out + "/groundtruth.ivecs")
        log("wrote \(out)/base.fvecs (\(n)×\(d)), query.fvecs (\(nq)), groundtruth.ivecs (top-100 \(metric.rawValue))")
    case "encoder":
        try runEncoderBenchmark(try Options(args, flags: ["json"], known: ["encoder", "input", "limit", "threads", "runs", "batch-tokens"]))
    case "tasks":
        try runTaskRetrievalBenchmark(try Options(args, flags: ["json"], known: ["encoder", "tasks", "examples", "samples", "seeds", "ensemble",
                                                                                  "epochs", "lr", "batch", "sketch", "threads", "dump"]))
    case "transfer":
        try runTransferBenchmark(try Options(args, flags: ["json"], known: ["encoder", "tasks", "observed", "metric", "methods", "seeds",
                                                                             "examples", "baselines", "threads", "trainable", "dump"]))
    default:
        throw BenchError("unknown command '\(command)'", usage: true)
    }
}

do {
    try main()
} catch let error as BenchError {
    log("fute-bench: \(error.message)")
    exit(error.isUsage ? 64 : 1)
} catch {
    log("fute-bench: \(error)")
    exit(1)
}
