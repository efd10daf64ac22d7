import Foundation
import TestSupport
import XCTest

/// `fute-db delete`, run as a process like `CLIEndToEndTests`.
final class DeleteCommandTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var db: String { scratch.path("store.db") }

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        scratch = try ScratchDirectory()
    }

    /// Deleting half of 3,000 vectors (HNSW path: > 2,000) leaves exactly the others; `check` is sound;
    /// HNSW and exact queries equal an independent brute force over the remaining vectors.
    func testDeletingHalfOf3000LeavesTheOthersAndQueriesEqualBruteForce() throws {
        var generator = SplitMixValues(seed: 7)
        let rows = generator.vectors(count: 3000, dimension: 8)
        let file = try scratch.write("v.jsonl", vectorLines(rows))
        let ingest = try fute.run(["ingest", "--db", db, "--space", "s", "--metric", "l2", "--m", "8", "--ef-construction", "64",
                                   "--batch-size", "1000", file])
        XCTAssertEqual(ingest.status, 0, ingest.stderr)
        // Delete every other vector, in a scrambled order: first 500 (2,500 stay: queries use the HNSW graph),
        // then the other 1,000 through a names file and arguments (1,500 stay: half).
        let deleted = (0..<3000).filter { $0 % 2 == 0 }.sorted { ($0 * 7919) % 3001 < ($1 * 7919) % 3001 }
        let first = try scratch.write("first.txt", deleted.prefix(500).map { "v\($0)\n" }.joined())
        let step1 = try fute.run(["delete", "--db", db, "--space", "s", "--batch-size", "200", "--names", first])
        XCTAssertEqual(step1.status, 0, step1.stderr)
        let deletedFirst = Set(deleted.prefix(500))
        try assertSound()
        try assertQueriesEqualBruteForce(rows, remaining: (0..<3000).filter { !deletedFirst.contains($0) }, ef: "200")

        let rest = Array(deleted.dropFirst(500))
        let names = try scratch.write("gone.txt", rest.dropFirst(2).map { "v\($0)\n" }.joined())
        let log = scratch.path("progress.log")
        let delete = try fute.run(["delete", "--db", db, "--space", "s", "--batch-size", "300", "--progress-log", log,
                                   "--names", names, "v\(rest[0])", "v\(rest[1])"])
        XCTAssertEqual(delete.status, 0, delete.stderr)
        XCTAssertTrue(delete.stderr.contains("removed 1000 embeddings from space 's'"), delete.stderr)
        let logText = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertEqual(logText, "batch 0 records 0-299 committed 300\nbatch 1 records 300-599 committed 600\n"
                              + "batch 2 records 600-899 committed 900\nbatch 3 records 900-999 committed 1000\n")

        try assertSound()
        let stats = try statsJSON()
        XCTAssertEqual(counts(stats), ["s": 1500])
        let remaining = (0..<3000).filter { $0 % 2 == 1 }
        // Exactly the others: an exact query for everything lists them all, and nothing else.
        let everything = try fute.run(["query", "--db", db, "--space", "s", "--vector", "[0,0,0,0,0,0,0,0]", "-k", "3000", "--exact", "--json"])
        XCTAssertEqual(everything.status, 0, everything.stderr)
        let all = try XCTUnwrap(try decodeJSON(everything.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) as? [[String: Any]])
        XCTAssertEqual(Set(all.compactMap { $0["name"] as? String }), Set(remaining.map { "v\($0)" }))
        XCTAssertEqual(all.count, 1500)
        try assertQueriesEqualBruteForce(rows, remaining: remaining, ef: "400")
    }

    private func assertSound(file: StaticString = #filePath, line: UInt = #line) throws {
        let check = try fute.run(["check", "--db", db])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr, file: file, line: line)
        XCTAssertTrue(check.stdout.contains("sound"), check.stdout, file: file, line: line)
    }

    /// Deleted and remaining vectors as queries: HNSW (`--ef`) and `--exact` results equal brute force over `remaining`.
    private func assertQueriesEqualBruteForce(_ rows: [[Float]], remaining: [Int], ef: String,
                                              file: StaticString = #filePath, line: UInt = #line) throws {
        let queryIndices = [0, 1, 2, 501, 1000, 2999]
        let queries = try scratch.write("q.fvecs", bytes: fvecs(queryIndices.map { rows[$0] }))
        for extra in [["--exact"], ["--ef", ef]] {
            // --vectors with --exact is one matrix product; without it, one graph search per vector.
            let result = try fute.run(["query", "--db", db, "--space", "s", "--vectors", queries, "-k", "10", "--json"] + extra)
            XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
            let lines = result.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, queryIndices.count, file: file, line: line)
            for (output, queryIndex) in zip(lines, queryIndices) {
                let matches = try XCTUnwrap(try decodeJSON(output) as? [[String: Any]])
                let expected = remaining.map { ($0, l2(rows[$0], rows[queryIndex])) }
                    .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(10)
                XCTAssertEqual(matches.compactMap { $0["name"] as? String }, expected.map { "v\($0.0)" },
                               "query row \(queryIndex) \(extra)", file: file, line: line)
                for (match, truth) in zip(matches, expected) {
                    XCTAssertEqual(try XCTUnwrap(match["score"] as? Double), truth.1, accuracy: 1e-4, file: file, line: line)
                }
            }
        }
    }

    /// Unknown names, an unknown space, duplicates, unknown subjects: exit 1 naming the argument or FILE:LINE,
    /// and `stats --json` plus `mdb_dump -a` are unchanged. Usage mistakes exit 64.
    func testBadInputChangesNothing() throws {
        var generator = SplitMixValues(seed: 3)
        let file = try scratch.write("v.jsonl", vectorLines(generator.vectors(count: 20, dimension: 4)))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "s", file]).status, 0)
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "t", "--metric", "l2", file]).status, 0)
        let names = try scratch.write("names.txt", "v1\nv2\n\nnope\nv3\n")
        let twice = try scratch.write("twice.txt", "v4\nv5\nv4\n")
        let before = try snapshot()
        let cases: [([String], String)] = [
            (["--space", "s", "v1", "nope", "v2"], "argument 2: 'nope' has no embedding in space 's'"),
            (["--space", "s", "--names", names], "\(names):4: 'nope' has no embedding in space 's'"),
            (["--space", "s", "--names", twice], "\(twice):3: 'v4' is listed twice (first at \(twice):1)"),
            (["--space", "s", "v1", "v1"], "argument 2: 'v1' is listed twice (first at argument 1)"),
            (["--space", "nowhere", "v1"], "unknown space 'nowhere'; spaces: s, t"),
            (["--space", "s", "--names", scratch.path("missing.txt")], "missing.txt:0: --names: no such file"),
            (["--subjects", "v1", "ghost"], "argument 2: 'ghost' is not a stored subject"),
        ]
        for (arguments, message) in cases {
            let result = try fute.run(["delete", "--db", db] + arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: ") && result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertEqual(try snapshot(), before, "\(arguments) changed the store")
        }
        let usage: [([String], String)] = [
            (["v1"], "--space is required"),
            (["--space", "s", "--subjects", "v1"], "--space and --subjects exclude each other"),
            (["--space", "s"], "missing names"),
            (["--space", "s", "--batch-size", "0", "v1"], "--batch-size"),
        ]
        for (arguments, message) in usage {
            let result = try fute.run(["delete", "--db", db] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            XCTAssertEqual(try snapshot(), before, "\(arguments) changed the store")
        }
        let noStore = try fute.run(["delete", "--db", scratch.path("none.db"), "--space", "s", "v1"])
        XCTAssertEqual(noStore.status, 1)
        XCTAssertTrue(noStore.stderr.contains("no store at"), noStore.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("none.db")), "delete must not create a store")
    }

    /// `--space` removes one space's embedding (the subject stays); `--subjects` removes the subject everywhere.
    func testSpaceDeleteKeepsTheSubjectAndSubjectsDeleteCascades() throws {
        var generator = SplitMixValues(seed: 5)
        let file = try scratch.write("v.jsonl", vectorLines(generator.vectors(count: 10, dimension: 4)))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "a", file]).status, 0)
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "b", file]).status, 0)
        let observations = try scratch.write("obs.jsonl", "{\"source\": \"v1\", \"target\": \"v2\", \"score\": 0.5}\n{\"source\": \"v3\", \"target\": \"v4\", \"score\": 0.25}\n")
        XCTAssertEqual(try fute.run(["observe", "--db", db, observations]).status, 0)

        XCTAssertEqual(try fute.run(["delete", "--db", db, "--space", "a", "v0", "v1"]).status, 0)
        var stats = try statsJSON()
        XCTAssertEqual(counts(stats), ["a": 8, "b": 10])
        XCTAssertEqual((stats["subjects"] as? [String: Any])?["total"] as? Int, 10, "the subjects stay")
        XCTAssertEqual(stats["observations"] as? Int, 2)
        // v0 has no embedding in a any more: deleting it again is refused.
        let again = try fute.run(["delete", "--db", db, "--space", "a", "v0"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("argument 1: 'v0' has no embedding in space 'a'"), again.stderr)

        let subjects = try fute.run(["delete", "--db", db, "--subjects", "v1", "v9"])
        XCTAssertEqual(subjects.status, 0, subjects.stderr)
        stats = try statsJSON()
        XCTAssertEqual(counts(stats), ["a": 7, "b": 8])
        XCTAssertEqual((stats["subjects"] as? [String: Any])?["total"] as? Int, 8)
        XCTAssertEqual(stats["observations"] as? Int, 1, "the observation naming v1 went with it")
        let check = try fute.run(["check", "--db", db])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let help = try fute.run(["delete", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--subjects") && help.stdout.contains("--progress-log"), help.stdout)
    }

    private func statsJSON() throws -> [String: Any] {
        let result = try fute.run(["stats", "--db", db, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try decodeJSON(result.stdout) as? [String: Any])
    }

    private func counts(_ stats: [String: Any]) -> [String: Int] {
        var result: [String: Int] = [:]
        for space in stats["spaces"] as? [[String: Any]] ?? [] {
            if let name = space["name"] as? String { result[name] = space["embeddings"] as? Int }
        }
        return result
    }

    private func l2(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0) { $0 + (Double($1.0) - Double($1.1)) * (Double($1.0) - Double($1.1)) }
    }

    /// `stats --json` plus `mdb_dump -a` of the store.
    private func snapshot() throws -> String {
        let stats = try fute.run(["stats", "--db", db, "--json"])
        XCTAssertEqual(stats.status, 0, stats.stderr)
        guard let mdbDump = ["/usr/bin/mdb_dump", "/usr/local/bin/mdb_dump"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return stats.stdout
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mdbDump)
        process.arguments = ["-a", db]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let dump = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "mdb_dump -a \(db)")
        return stats.stdout + dump
    }
}
