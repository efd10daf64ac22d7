import Foundation
import FuteDB
import TestSupport
import XCTest

final class CLIEndToEndTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var db: String { scratch.path("store.db") }

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        scratch = try ScratchDirectory()
    }

    /// `--version` names the kernels that run: AVX2+FMA by run-time dispatch on a CPU that has
    /// them (this machine), portable SIMD when `FUTE_KERNELS=portable` or the CPU lacks them.
    func testVersionNamesTheKernelsAndTheEnvironmentCanForcePortable() throws {
        let native = KernelVariant.active == .native  // the test bundle and fute-db are one build
        let automatic = try fute.run(["--version"], environment: ["FUTE_KERNELS": "auto"])
        XCTAssertEqual(automatic.status, 0)
        let expected = native ? "kernels: avx2+fma (FUTE_NATIVE build, compiled in)"
            : KernelVariant.avx2FMASupported ? "kernels: avx2+fma (runtime dispatch)"
            : "kernels: portable simd (no AVX2+FMA+F16C on this CPU or platform)"
        let lines = automatic.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, automatic.stdout)
        XCTAssertTrue(lines.first?.hasPrefix("fute-db ") ?? false, automatic.stdout)
        XCTAssertEqual(lines.last, expected)
        let portable = try fute.run(["--version"], environment: ["FUTE_KERNELS": "portable"])
        XCTAssertEqual(portable.stdout.split(separator: "\n").last.map(String.init),
                       native ? expected : "kernels: portable simd (FUTE_KERNELS=portable)")
    }

    func testVersionHelpAndExitCodes() throws {
        let version = try fute.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("fute-db "))
        XCTAssertEqual(try fute.run([]).status, 64)
        let unknown = try fute.run(["ingets"])
        XCTAssertEqual(unknown.status, 64)
        XCTAssertTrue(unknown.stderr.hasPrefix("fute-db: error: unknown command 'ingets'; did you mean 'ingest'?"), unknown.stderr)
        for command in [["ingest"], ["query"], ["query", "transfer"], ["query", "models"], ["observe"], ["eval"], ["stats"]] {
            let help = try fute.run(command + ["--help"])
            XCTAssertEqual(help.status, 0, "\(command)")
            XCTAssertTrue(help.stdout.hasPrefix("OVERVIEW: "), "\(command): \(help.stdout)")
            XCTAssertTrue(help.stdout.contains("USAGE: fute-db \(command.joined(separator: " "))"), "\(command)")
            XCTAssertTrue(help.stderr.isEmpty)
        }
        let top = try fute.run(["--help"])
        for name in ["ingest", "query", "observe", "eval", "stats"] { XCTAssertTrue(top.stdout.contains("  \(name) ")) }
    }

    func testUsageErrorsExit64AndNameTheFlag() throws {
        let file = try scratch.write("v.jsonl", vectorLines([[1, 2], [3, 4]]))
        let cases: [([String], String)] = [
            (["ingest", "--db", db, file], "--space is required"),
            (["ingest", "--db", db, "--space", "s", "--metric", "hamming", file], "--metric must be one of cosine, l2, ip, got 'hamming'"),
            (["ingest", "--db", db, "--space", "s", "--batch-size", "0", file], "--batch-size must be at least 1"),
            (["ingest", "--db", db, "--space", "s", "--names", "n.txt", file], "--names applies to .npy and .fvecs files"),
            (["ingest", "--db", db, "--space", "s", "data.csv"], "unknown file type '.csv'"),
            (["query", "--db", db, "--space", "s", "--name", "a", "-k", "0"], "--k must be at least 1, got 0"),
            (["query", "--db", db, "--space", "s", "--name", "a", "-k", "-3"], "--k must be at least 1, got -3"),
            (["query", "--db", db, "--space", "s", "--name", "a", "--vector", "[1]"], "give only one of --name, --vector, --vectors"),
            (["query", "--db", db, "--space", "s", "--vector", "[1, \"x\"]"], "--vector must be a JSON array of finite numbers"),
            (["query", "--db", db, "--space", "s", "--name", "a", "--exact", "--ef", "10"], "--ef tunes the HNSW search"),
            (["query", "--db", db, "--space", "s", "--name", "a", "--where", "family"], "--where: filter \"family\" must look like key=value"),
            (["query", "transfer", "--db", db, "--space", "s"], "--target is required"),
            (["query", "transfer", "--db", db, "--space", "s", "--target", "t", "--sources", "cats"], "--sources must be one of dataset, model, all"),
            (["eval", "--db", db, "--space", "s", "-k", "zero"], "--k expects a whole number, got 'zero'"),
            (["observe", "--db", db], "missing a FILE"),
            (["stats", "--db", db, "--bogus"], "unknown option --bogus"),
        ]
        for (arguments, message) in cases {
            let result = try fute.run(arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: "), "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stdout.isEmpty)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: db), "usage errors create nothing")
    }

    /// Issue 2, "done when": 1,000 random 32-d vectors, `query --name … -k 5 --json` equals the brute-force top 5.
    func testQueryByNameReturnsTheBruteForceTopFive() throws {
        var generator = SplitMixValues(seed: 42)
        let rows = generator.vectors(count: 1000, dimension: 32)
        let file = try scratch.write("random.jsonl", vectorLines(rows))
        let ingest = try fute.run(["ingest", "--db", db, "--space", "random", "--batch-size", "128", file])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/mdb_stat") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_stat")
            process.arguments = ["-a", db]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "mdb_stat reads the store")
        }
        for queryIndex in [0, 17, 999] {
            let expected = bruteForceCosine(rows, query: queryIndex, k: 5)
            for extra in [[], ["--exact"]] {
                let result = try fute.run(["query", "--db", db, "--space", "random", "--name", "v\(queryIndex)", "-k", "5", "--json"] + extra)
                XCTAssertEqual(result.status, 0, result.stderr)
                let lines = result.stdout.split(separator: "\n")
                XCTAssertEqual(lines.count, 1)
                let matches = try XCTUnwrap(try decodeJSON(String(lines[0])) as? [[String: Any]])
                XCTAssertEqual(matches.compactMap { $0["name"] as? String }, expected.map { "v\($0.index)" }, "query v\(queryIndex) \(extra)")
                for (match, truth) in zip(matches, expected) {
                    XCTAssertEqual(match["kind"] as? String, "dataset")
                    XCTAssertEqual(try XCTUnwrap(match["score"] as? Double), truth.score, accuracy: 1e-5)
                }
            }
        }
        // l2 through .fvecs, queried with --vectors: one JSON line per query vector.
        let fvecsPath = try scratch.write("random.fvecs", bytes: fvecs(Array(rows.prefix(300))))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "euclid", "--metric", "l2", fvecsPath]).status, 0)
        let queries = try scratch.write("q.fvecs", bytes: fvecs([rows[5], rows[500]]))
        let result = try fute.run(["query", "--db", db, "--space", "euclid", "--vectors", queries, "-k", "3", "--json", "--exact"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2)
        for (line, query) in zip(lines, [rows[5], rows[500]]) {
            let matches = try XCTUnwrap(try decodeJSON(line) as? [[String: Any]])
            var scored: [(index: Int, score: Double)] = []
            for (index, row) in rows.prefix(300).enumerated() { scored.append((index, squaredL2(row, query))) }
            scored.sort { (a: (index: Int, score: Double), b: (index: Int, score: Double)) -> Bool in
                a.score != b.score ? a.score < b.score : a.index < b.index
            }
            let expected: [String] = scored.prefix(3).map { "row-\($0.index)" }
            XCTAssertEqual(matches.compactMap { $0["name"] as? String }, expected)
        }
    }

    func testTableOutputNamesSpaceAndMetric() throws {
        let file = try scratch.write("v.jsonl", vectorLines([[1, 0], [0.9, 0.1], [0, 1]]))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "plane", file]).status, 0)
        let result = try fute.run(["query", "--space", "plane", "--name", "v0", "-k", "2"], environment: ["FUTE_DB": db])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "space plane (metric cosine, dimension 2): 2 nearest to 'v0'")
        XCTAssertEqual(lines[1], "rank  name  kind       cosine")
        XCTAssertTrue(lines[3].hasPrefix("   1  v1    dataset  0.99"), lines[3])
        // --db defaults to ./fute.db in the working directory.
        let local = try fute.run(["stats", "--json"], in: scratch.url)
        XCTAssertEqual(local.status, 1)
        XCTAssertTrue(local.stderr.contains("no store at ./fute.db"), local.stderr)
        // An empty directory is not turned into a store by a read command.
        try FileManager.default.createDirectory(atPath: scratch.path("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(try fute.run(["stats", "--db", scratch.path("empty")]).status, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path("empty")), [])
    }

    func testEveryBadInputExitsNonZeroWithFileLineAndLeavesTheStoreUnchanged() throws {
        let good = try scratch.write("good.jsonl", vectorLines([[1, 2, 3], [4, 5, 6]], prefix: "g"))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "s", good]).status, 0)
        let before = try snapshot()

        let npyHeader: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        let padded = dict + String(repeating: " ", count: 128 - 10 - dict.utf8.count - 1) + "\n"
        let header = npyHeader + [UInt8(padded.utf8.count), 0] + Array(padded.utf8)
        let floats = fvecs([[1, 2, 3], [4, 5, 6]]).enumerated().filter { $0.offset % 16 >= 4 }.map(\.element)

        let cases: [(name: String, bytes: [UInt8], line: Int, fragment: String)] = [
            ("malformed.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 2, 3]}\n{\"name\": \"b\", \"vector\": [1, 2, 3]\n".utf8), 2, "malformed JSON"),
            ("wrongtype.jsonl", Array("{\"name\": \"a\", \"vector\": [1, \"2\", 3]}\n".utf8), 1, "vector[1] must be a number"),
            ("missing.jsonl", Array("{\"vector\": [1, 2, 3]}\n".utf8), 1, "missing field \"name\""),
            ("dims.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 2, 3]}\n{\"name\": \"b\", \"vector\": [1, 2]}\n".utf8), 2, "vector has 2 numbers but line 1 has 3"),
            ("space-dims.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 2]}\n".utf8), 1, "space 's' has dimension 3"),
            ("nan.jsonl", Array("{\"name\": \"a\", \"vector\": [1, NaN, 3]}\n".utf8), 1, "NaN"),
            ("inf.jsonl", Array("{\"name\": \"a\", \"vector\": [1, Infinity, 3]}\n".utf8), 1, "Infinity"),
            ("huge.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 1e39, 3]}\n".utf8), 1, "overflows a 32-bit float"),
            ("empty-vector.jsonl", Array("{\"name\": \"a\", \"vector\": []}\n".utf8), 1, "empty array"),
            ("empty.jsonl", [], 0, "file is empty"),
            ("unknown-field.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 2, 3], \"extra\": 1}\n".utf8), 1, "unknown field \"extra\""),
            ("duplicate.jsonl", Array("{\"name\": \"a\", \"vector\": [1, 2, 3]}\n{\"name\": \"a\", \"vector\": [1, 2, 3]}\n".utf8), 2, "already appeared on line 1"),
            ("utf8.jsonl", Array("{\"name\": \"".utf8) + [0xC3, 0x28] + Array("\", \"vector\": [1, 2, 3]}\n".utf8), 1, "invalid UTF-8"),
            ("truncated.npy", header + floats.dropLast(5), 2, "truncated"),
            ("lying.npy", header + floats + [0, 0, 0, 0], 0, "header does not match the data"),
            ("truncated.fvecs", Array(fvecs([[1, 2, 3], [4, 5, 6]]).dropLast(3)), 2, "truncated"),
            ("dimchange.fvecs", fvecs([[1, 2, 3], [4, 5]]), 2, "record 2 has dimension 2 but record 1 has 3"),
            ("nan.fvecs", fvecs([[1, .nan, 3]]), 1, "must be finite"),
        ]
        for testCase in cases {
            let path = try scratch.write(testCase.name, bytes: testCase.bytes)
            let result = try fute.run(["ingest", "--db", db, "--space", "s", path])
            XCTAssertEqual(result.status, 1, "\(testCase.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: \(path):\(testCase.line): "), "\(testCase.name): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(testCase.fragment), "\(testCase.name): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "one line: \(result.stderr)")
            XCTAssertEqual(try snapshot(), before, "\(testCase.name) changed the store")
        }
        // A good file followed by a bad one: nothing of either is written.
        let fresh = try scratch.write("fresh.jsonl", vectorLines([[7, 8, 9]], prefix: "new"))
        let result = try fute.run(["ingest", "--db", db, "--space", "s", fresh, scratch.path("nan.jsonl")])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(try snapshot(), before)
        // Unreadable inputs.
        try FileManager.default.createDirectory(atPath: scratch.path("folder.jsonl"), withIntermediateDirectories: true)
        for path in [scratch.path("folder.jsonl"), scratch.path("absent.jsonl")] {
            let unreadable = try fute.run(["ingest", "--db", db, "--space", "s", path])
            XCTAssertEqual(unreadable.status, 1)
            XCTAssertTrue(unreadable.stderr.hasPrefix("fute-db: error: \(path):0: "), unreadable.stderr)
        }
        // Bad observations and unknown spaces.
        let badObservation = try scratch.write("obs.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"score\": 1}\n{\"source\": \"a\", \"score\": 2}\n")
        let observe = try fute.run(["observe", "--db", db, badObservation])
        XCTAssertEqual(observe.status, 1)
        XCTAssertTrue(observe.stderr.hasPrefix("fute-db: error: \(badObservation):2: missing field \"target\""), observe.stderr)
        let strangers = try scratch.write("strangers.jsonl", "{\"source\": \"g0\", \"target\": \"g1\", \"score\": 1}\n{\"source\": \"nobody\", \"target\": \"g1\", \"score\": 2}\n")
        let unknownSubject = try fute.run(["observe", "--db", db, strangers])
        XCTAssertEqual(unknownSubject.status, 1)
        XCTAssertTrue(unknownSubject.stderr.hasPrefix("fute-db: error: \(strangers):2: source 'nobody' is not a stored subject"), unknownSubject.stderr)
        let unknownSpace = try fute.run(["query", "--db", db, "--space", "nope", "--name", "g0"])
        XCTAssertEqual(unknownSpace.status, 1)
        XCTAssertTrue(unknownSpace.stderr.contains("unknown space 'nope'; spaces: s"), unknownSpace.stderr)
        XCTAssertEqual(try snapshot(), before)
    }

    func testProgressLogRecordsEveryCommittedBatch() throws {
        var generator = SplitMixValues(seed: 7)
        let file = try scratch.write("v.jsonl", vectorLines(generator.vectors(count: 25, dimension: 3)))
        let log = scratch.path("progress.log")
        let result = try fute.run(["ingest", "--db", db, "--space", "s", "--batch-size", "10", "--progress-log", log, file])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8),
                       "batch 0 records 0-9 committed 10\nbatch 1 records 10-19 committed 20\nbatch 2 records 20-24 committed 25\n")
        XCTAssertFalse(result.stderr.contains("\r"), "no progress line when stderr is not a terminal")
    }

    func testProgressLineOnlyWhenStderrIsATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("script(1) not installed: no pseudo-terminal to test with") }
        var generator = SplitMixValues(seed: 9)
        let file = try scratch.write("v.jsonl", vectorLines(generator.vectors(count: 25, dimension: 3)))
        // script(1) runs the command on a pseudo-terminal, so stderr is a terminal there.
        let command = "'\(fute.url.path)' ingest --db '\(db)' --space s --batch-size 10 '\(file)'"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("\rfute-db: ingested 10/25"), output)
        XCTAssertTrue(output.contains("\rfute-db: ingested 25/25"), output)
    }

    func testQueriesRefuseToMixSpacesNamingBoth() throws {
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "a", try scratch.write("a.jsonl", vectorLines([[1, 0], [0, 1]], prefix: "a"))]).status, 0)
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "b", try scratch.write("b.jsonl", vectorLines([[1, 0, 0]], prefix: "b"))]).status, 0)
        for arguments in [["query", "--space", "a", "--name", "b0"], ["query", "transfer", "--space", "a", "--target", "b0"],
                          ["query", "models", "--space", "a", "--task", "b0"]] {
            let result = try fute.run(arguments + ["--db", db])
            XCTAssertEqual(result.status, 1, "\(arguments)")
            XCTAssertTrue(result.stderr.contains("space \"a\"") && result.stderr.contains("space \"b\""), result.stderr)
        }
    }

    func testObserveTransferAndEvalOnTheSamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tasks = root.appendingPathComponent("Tools/samples/tasks.jsonl").path
        let observations = root.appendingPathComponent("Tools/samples/observations.jsonl").path
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "tasks", tasks]).status, 0)
        XCTAssertEqual(try fute.run(["observe", "--db", db, observations]).status, 0)
        let stats = try XCTUnwrap(try decodeJSON(try fute.run(["stats", "--db", db, "--json"]).stdout) as? [String: Any])
        XCTAssertEqual(stats["observations"] as? Int, 600)
        XCTAssertEqual((stats["subjects"] as? [String: Any])?["model"] as? Int, 24)

        let eval = try fute.run(["eval", "--db", db, "--space", "tasks", "-k", "3", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try decodeJSON(eval.stdout) as? [String: Any])
        for key in ["targets", "skipped", "ndcg@k", "regret@k", "rho", "per_target"] { XCTAssertNotNil(report[key], key) }
        XCTAssertEqual(report["targets"] as? Int, 40)
        XCTAssertEqual(report["skipped"] as? Int, 0)
        let blended = try XCTUnwrap(report["blended"] as? [String: Any])
        let random = try XCTUnwrap(report["random"] as? [String: Any])
        let similarityNDCG = try XCTUnwrap(report["ndcg@k"] as? Double)
        XCTAssertGreaterThan(similarityNDCG, try XCTUnwrap(random["ndcg@k"] as? Double))
        XCTAssertGreaterThan(try XCTUnwrap(blended["ndcg@k"] as? Double), similarityNDCG, "the blend helps on the samples")

        let truth = try fute.run(["eval", "--db", db, "--space", "tasks", "--truth", observations, "--json"])
        XCTAssertEqual(truth.stdout, eval.stdout, "--truth with the stored file gives the same numbers")

        let transfer = try fute.run(["query", "transfer", "--db", db, "--space", "tasks", "--target", "topic-3-d05", "-k", "4", "--json"])
        let rows = try XCTUnwrap(try decodeJSON(transfer.stdout) as? [[String: Any]])
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(Set(rows[0].keys), ["source", "kind", "similarity", "predicted", "observed", "evidence", "blended", "method"])
        XCTAssertTrue(rows.allSatisfy { $0["kind"] as? String == "dataset" }, "sources are datasets unless asked: \(rows)")
        let withModels = try fute.run(["query", "transfer", "--db", db, "--space", "tasks", "--target", "topic-3-d05", "-k", "200",
                                       "--sources", "all", "--json"])
        let allRows = try XCTUnwrap(try decodeJSON(withModels.stdout) as? [[String: Any]])
        XCTAssertTrue(allRows.contains { $0["kind"] as? String == "model" }, "--sources all includes the 24 sample models")
        let models = try fute.run(["query", "models", "--db", db, "--space", "tasks", "--task", "topic-3-d05", "-k", "3", "--where", "model_family=bert", "--json"])
        let modelRows = try XCTUnwrap(try decodeJSON(models.stdout) as? [[String: Any]])
        XCTAssertTrue(modelRows.allSatisfy { $0["kind"] as? String == "model" && ($0["meta"] as? [String: String])?["model_family"] == "bert" })
    }

    func testEvalWithTruthBlendsFromTheTruthFileAndTakesGain() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tasks = root.appendingPathComponent("Tools/samples/tasks.jsonl").path
        let observations = root.appendingPathComponent("Tools/samples/observations.jsonl").path
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "tasks", tasks]).status, 0)
        // Nothing observed in the store: the blended ranking can only learn from --truth.
        let fromTruth = try fute.run(["eval", "--db", db, "--space", "tasks", "--truth", observations, "--json"])
        XCTAssertEqual(fromTruth.status, 0, fromTruth.stderr)
        XCTAssertEqual(try fute.run(["observe", "--db", db, observations]).status, 0)
        let fromStore = try fute.run(["eval", "--db", db, "--space", "tasks", "--json"])
        XCTAssertEqual(fromTruth.stdout, fromStore.stdout, "blended from the truth file = blended from the same observations stored")
        let report = try XCTUnwrap(try decodeJSON(fromTruth.stdout) as? [String: Any])
        let blended = try XCTUnwrap(report["blended"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(blended["ndcg@k"] as? Double), try XCTUnwrap(report["ndcg@k"] as? Double))
        XCTAssertEqual(report["gain"] as? String, "score")

        let rank = try fute.run(["eval", "--db", db, "--space", "tasks", "--gain", "rank", "--json"])
        XCTAssertEqual(rank.status, 0, rank.stderr)
        let rankReport = try XCTUnwrap(try decodeJSON(rank.stdout) as? [String: Any])
        XCTAssertEqual(rankReport["gain"] as? String, "rank")
        XCTAssertNotEqual(try XCTUnwrap(rankReport["ndcg@k"] as? Double), try XCTUnwrap(report["ndcg@k"] as? Double))
        XCTAssertEqual(try XCTUnwrap(rankReport["rho"] as? Double), try XCTUnwrap(report["rho"] as? Double), "ρ stays on the scores")
        let table = try fute.run(["eval", "--db", db, "--space", "tasks", "--gain", "rank"])
        XCTAssertTrue(table.stdout.contains("rank gain"), table.stdout)
        let bad = try fute.run(["eval", "--db", db, "--space", "tasks", "--gain", "dcg"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--gain"), bad.stderr)
    }

    // MARK: - helpers

    /// `stats --json` (file size included) plus `mdb_dump -a` of the store when the tool is installed and the store is LMDB.
    private func snapshot() throws -> String {
        let stats = try fute.run(["stats", "--db", db, "--json"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        var dump = ""
        if FileManager.default.fileExists(atPath: db + "/data.mdb"), let mdbDump = ["/usr/bin/mdb_dump", "/usr/local/bin/mdb_dump"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: mdbDump)
            process.arguments = ["-a", db]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            dump = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
        } else if let data = FileManager.default.contents(atPath: db + "/fallback.json") {
            dump = String(decoding: data, as: UTF8.self)
        }
        return stats.stdout + dump
    }

    private func bruteForceCosine(_ rows: [[Float]], query: Int, k: Int) -> [(index: Int, score: Double)] {
        func norm(_ v: [Float]) -> Double { v.reduce(0) { $0 + Double($1) * Double($1) }.squareRoot() }
        let q = rows[query]
        var scored: [(index: Int, score: Double)] = []
        for (index, row) in rows.enumerated() where index != query {
            var dot = 0.0
            for i in row.indices { dot += Double(q[i]) * Double(row[i]) }
            scored.append((index, dot / (norm(q) * norm(row))))
        }
        scored.sort { (a: (index: Int, score: Double), b: (index: Int, score: Double)) -> Bool in
            a.score != b.score ? a.score > b.score : a.index < b.index
        }
        return Array(scored.prefix(k))
    }

    private func squaredL2(_ a: [Float], _ b: [Float]) -> Double {
        var total = 0.0
        for i in a.indices {
            let difference = Double(a[i]) - Double(b[i])
            total += difference * difference
        }
        return total
    }
}
