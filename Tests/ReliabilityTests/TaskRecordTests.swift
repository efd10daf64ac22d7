import Foundation
import FuteCLI
import FuteDB
import TestSupport
import XCTest

/// Issue 14: task embeddings computed without a store (`ingest --dataset/--predictions --out
/// RECORD.jsonl`, e.g. on Ray workers) and stored by one writer (`ingest RECORD.jsonl --space S`):
/// the stored vectors are bit for bit those of a direct ingest; records made another way than the
/// space are refused naming both provenances; a bad line names FILE:LINE and the field and stores
/// nothing. Skips without the encoder weights.
final class TaskRecordTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var encoder: String!

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        encoder = try FuteProcess.encoderDirectory()
        scratch = try ScratchDirectory()
    }

    /// The first `lines` lines of a shipped sample task, as a file in the scratch directory.
    func sample(_ name: String, lines: Int) throws -> String {
        let path = FuteProcess.packageRoot.appendingPathComponent("Tools/samples/tasks/\(name).jsonl").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try scratch.write("\(name).jsonl", text.split(separator: "\n").prefix(lines).joined(separator: "\n") + "\n")
    }

    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try fute.run(arguments)
        XCTAssertEqual(result.status, 0, "fute-db \(arguments.joined(separator: " ")): \(result.stderr)", file: file, line: line)
    }

    /// Every embedding of `space` (and of its example space) as bit patterns, by subject.
    func storedBits(_ db: String, space: String) throws -> [String: [UInt32]] {
        var configuration = Configuration()
        configuration.readOnly = true
        configuration.createIfMissing = false
        let database = try FuteDatabase(path: db, configuration: configuration)
        return try database.read { reader in
            var bits: [String: [UInt32]] = [:]
            for name in [space, ExampleSpaces.name(of: space)] where try reader.space(named: name) != nil {
                for embedding in try reader.embeddings(in: name) {
                    bits["\(name)/\(embedding.subject)"] = embedding.vector.map(\.bitPattern)
                }
            }
            return bits
        }
    }

    func testRecordsStoreTheSameBitsAsADirectIngest() throws {
        let sst2 = try sample("sst2", lines: 12), trec = try sample("trec", lines: 12)
        let predictions = try sample("predictions-topic-classifier", lines: 12)
        // (space, method, extra arguments): TextEmb, FUTE with a non-default seed, examples (example vectors), an MTE.
        let cases: [(String, [[String]])] = [
            ("t", [["--dataset", sst2, "--name", "sst2", "--method", "textemb"], ["--dataset", trec, "--name", "trec", "--method", "textemb"]]),
            ("f", [["--dataset", sst2, "--name", "sst2", "--seed", "7"], ["--predictions", predictions, "--name", "topic", "--seed", "7"]]),
            ("x", [["--dataset", sst2, "--name", "sst2", "--method", "examples"], ["--dataset", trec, "--name", "trec", "--method", "examples"]]),
        ]
        let direct = scratch.path("direct"), viaRecords = scratch.path("records")
        for (space, ingests) in cases {
            var records: [String] = []
            for (index, arguments) in ingests.enumerated() {
                try run(["ingest", "--db", direct, "--space", space, "--encoder", encoder] + arguments)
                let record = scratch.path("\(space)-\(index).record.jsonl")
                try run(["ingest", "--encoder", encoder, "--out", record] + arguments)
                records.append(record)
            }
            // Batches of one record: several transactions, same result.
            try run(["ingest", "--db", viaRecords, "--space", space, "--batch-size", "1"] + records)
            let expected = try storedBits(direct, space: space)
            XCTAssertEqual(expected.count, space == "x" ? 2 + 24 : 2, "space \(space): task vectors (and example vectors)")
            XCTAssertEqual(try storedBits(viaRecords, space: space), expected, "space \(space): records store the direct ingest's bits")
        }
        // A FUTE record carries its space's comparison: it joins the space a direct ingest made
        // (same provenance) instead of being refused, and a space made from records compares alike.
        let fute0 = scratch.path("f-0.record.jsonl")
        XCTAssertTrue(try String(contentsOfFile: fute0, encoding: .utf8).contains("\"comparison\":\"centered-cosine\""))
        try run(["ingest", "--db", direct, "--space", "f", fute0])
        let provenances = try [direct, viaRecords].map { path in
            try FuteDatabase(path: path).read { try XCTUnwrap($0.space(named: "f")).provenance }
        }
        XCTAssertEqual(provenances[0].comparison, .centeredCosine)
        XCTAssertEqual(provenances[1], provenances[0])
        // Same subjects, metadata and provenance too: the two stores describe themselves alike.
        XCTAssertEqual(try fute.run(["stats", "--db", viaRecords]).stdout.split(separator: "\n").dropFirst(),
                       try fute.run(["stats", "--db", direct]).stdout.split(separator: "\n").dropFirst())
    }

    /// FUTE DTEs are stored as 4,096-float count sketches of the tuned attention delta; a space made
    /// before sketching (whole deltas, 591,360 floats, no `sketch` in its provenance) keeps receiving
    /// whole deltas, and the sketch of such a delta is the sketched DTE, bit for bit.
    func testSpaceOfWholeDeltasKeepsReceivingWholeDeltas() throws {
        let sst2 = try sample("sst2", lines: 10)
        let sketched = scratch.path("sketched"), whole = scratch.path("whole")
        try run(["ingest", "--db", sketched, "--space", "f", "--encoder", encoder, "--dataset", sst2, "--name", "sst2"])
        let (provenance, sketch) = try FuteDatabase(path: sketched).read { reader in
            (try XCTUnwrap(reader.space(named: "f")).provenance, try XCTUnwrap(reader.embedding(space: "f", subject: "sst2")).vector)
        }
        XCTAssertEqual(sketch.count, 4096)
        XCTAssertEqual(provenance.extra["sketch"], "count-sketch-fute-sk1-4096")
        // The space a previous version made: same provenance without the sketch, whole-delta dimension.
        var legacy = provenance
        legacy.extra["sketch"] = nil
        try FuteDatabase(path: whole).write { writer in
            _ = try writer.createSpace(Space(name: "f", dimension: 4 * 384 * 384 + 4 * 384, metric: .cosine, provenance: legacy))
        }
        try run(["ingest", "--db", whole, "--space", "f", "--encoder", encoder, "--dataset", sst2, "--name", "sst2"])
        let delta = try FuteDatabase(path: whole).read { try XCTUnwrap($0.embedding(space: "f", subject: "sst2")).vector }
        XCTAssertEqual(delta.count, 591_360)
        // Count sketch (fixed hash, see CountSketch): bucket and sign from SplitMix64(key ^ i), summed in index order.
        var expected = [Float](repeating: 0, count: 4096)
        for (i, v) in delta.enumerated() where v != 0 {
            var hash = TestRNG(seed: 0x6675_7465_2D73_6B31 ^ UInt64(i))
            let z = hash.next()
            expected[Int(z % 4096)] += (z >> 63) == 0 ? v : -v
        }
        XCTAssertEqual(sketch.map(\.bitPattern), expected.map(\.bitPattern))

        // --sketch 0 makes a new space of whole deltas (the same bits); asking a sketched space for
        // another width is refused naming the field, and nothing is stored.
        let explicit = scratch.path("explicit")
        try run(["ingest", "--db", explicit, "--space", "f", "--encoder", encoder, "--dataset", sst2, "--name", "sst2", "--sketch", "0"])
        XCTAssertEqual(try FuteDatabase(path: explicit).read { try XCTUnwrap($0.embedding(space: "f", subject: "sst2")).vector }.map(\.bitPattern),
                       delta.map(\.bitPattern))
        let before = try storeFingerprint(fute, db: sketched)
        let refused = try fute.run(["ingest", "--db", sketched, "--space", "f", "--encoder", encoder, "--dataset", sst2, "--name", "again", "--sketch", "0"])
        assertCleanFailure(refused, expectedStatus: 1, contains: ["space \"f\"", "sketch"], "another sketch width")
        XCTAssertEqual(try storeFingerprint(fute, db: sketched), before)
        let textemb = try fute.run(["ingest", "--db", explicit, "--space", "t", "--encoder", encoder, "--dataset", sst2, "--name", "sst2",
                                    "--method", "textemb", "--sketch", "4096"])
        assertCleanFailure(textemb, expectedStatus: 64, contains: ["--sketch applies to --method fute"], "--sketch without fute")
    }

    func testRecordMadeAnotherWayIsRefusedNamingBothProvenances() throws {
        let sst2 = try sample("sst2", lines: 8)
        let db = scratch.path("store"), good = scratch.path("good.jsonl"), other = scratch.path("other.jsonl")
        try run(["ingest", "--encoder", encoder, "--dataset", sst2, "--name", "sst2", "--method", "textemb", "--out", good])
        try run(["ingest", "--db", db, "--space", "t", good])
        // A record from another machine whose weights differ (its checksum), and which is FUTE with seed 3.
        try run(["ingest", "--encoder", encoder, "--dataset", sst2, "--name", "other", "--seed", "3", "--out", other])
        let before = try storeFingerprint(fute, db: db)
        let result = try fute.run(["ingest", "--db", db, "--space", "t", good, other])
        assertCleanFailure(result, expectedStatus: 1, contains: ["other.jsonl:1:", "provenance", "space \"t\"",
                                                                   "method: fute vs textemb", "seed: 3 vs (none)", "trainable: last-layer-attention vs (none)"],
                           "record of another method")
        XCTAssertEqual(try storeFingerprint(fute, db: db), before, "a refused record file stores nothing")
        // Two records that disagree with each other, into a new space: refused at the second, naming the first.
        let checksum = try String(contentsOfFile: good, encoding: .utf8)
            .replacingOccurrences(of: "\"encoderChecksum\":\"", with: "\"encoderChecksum\":\"0000")
            .replacingOccurrences(of: "\"name\":\"sst2\"", with: "\"name\":\"copy\"")
        let tampered = try scratch.write("tampered.jsonl", checksum)
        let mixed = try fute.run(["ingest", "--db", db, "--space", "new", good, tampered])
        assertCleanFailure(mixed, expectedStatus: 1, contains: ["tampered.jsonl:1:", "good.jsonl:1", "encoderChecksum: 0000"], "records that disagree")
        XCTAssertEqual(try storeFingerprint(fute, db: db), before, "a refused record file creates no space")
    }

    func testBadRecordLineNamesFileLineAndFieldAndStoresNothing() throws {
        let sst2 = try sample("sst2", lines: 8), trec = try sample("trec", lines: 8)
        let db = scratch.path("store"), a = scratch.path("a.jsonl"), b = scratch.path("b.jsonl")
        try run(["ingest", "--encoder", encoder, "--dataset", sst2, "--name", "sst2", "--method", "textemb", "--out", a])
        try run(["ingest", "--encoder", encoder, "--dataset", trec, "--name", "trec", "--method", "textemb", "--out", b])
        let first = try String(contentsOfFile: a, encoding: .utf8), second = try String(contentsOfFile: b, encoding: .utf8)
        let seed = try scratch.write("seed.jsonl", vectorLines([[1, 2, 3]], prefix: "seed"))
        try run(["ingest", "--db", db, "--space", "v", seed])
        let before = try storeFingerprint(fute, db: db)
        let badLines: [(String, String, [String])] = [
            ("vector", second.replacingOccurrences(of: "\"vector\":[", with: "\"vector\":[\"x\","), ["bad-vector.jsonl:2:", "vector[0]"]),
            ("kind", second.replacingOccurrences(of: "\"kind\":\"dataset\"", with: "\"kind\":\"model\""), ["bad-kind.jsonl:2:", "\"kind\""]),
            ("seed", second.replacingOccurrences(of: "\"extra\":{}", with: "\"seed\":-1,\"extra\":{}"), ["bad-seed.jsonl:2:", "provenance.seed"]),
            ("missing", "{\"name\":\"plain\",\"vector\":[1,2]}\n", ["bad-missing.jsonl:2:", "\"provenance\""]),
            ("unknown", second.replacingOccurrences(of: "\"meta\":", with: "\"metadata\":"), ["bad-unknown.jsonl:2:", "\"metadata\""]),
            ("dimension", second.replacingOccurrences(of: "\"vector\":[", with: "\"vector\":[0.5,"), ["bad-dimension.jsonl:2:", "\"vector\"", "385"]),
        ]
        for (label, line, fragments) in badLines {
            let file = try scratch.write("bad-\(label).jsonl", first + line)
            let result = try fute.run(["ingest", "--db", db, "--space", "t", "--batch-size", "1", file])
            assertCleanFailure(result, expectedStatus: 1, contains: fragments, "bad record line: \(label)")
            XCTAssertEqual(try storeFingerprint(fute, db: db), before, "bad record line (\(label)) stored something")
        }
    }

    func testOutRefusesStoreOptions() throws {
        let sst2 = try sample("sst2", lines: 4)
        for flag in [["--space", "t"], ["--db", scratch.path("store")], ["--m", "8"]] {
            let result = try fute.run(["ingest", "--encoder", encoder, "--dataset", sst2, "--name", "s", "--out", scratch.path("r.jsonl")] + flag)
            assertCleanFailure(result, expectedStatus: 64, contains: [flag[0], "--out"], "--out with \(flag[0])")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("store")), "--out never creates a store")
    }

    func testFloatsPrintedForRecordsReadBackBitForBit() throws {
        var values = SplitMixValues(seed: 14)
        var floats: [Float] = [0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.leastNormalMagnitude, 1e-45, 0.1, 3.4028235e38]
        for _ in 0..<100_000 {
            let bits = UInt32(truncatingIfNeeded: values.nextBits())
            let value = Float(bitPattern: bits)
            if value.isFinite { floats.append(value) }
        }
        for value in floats {
            let text = OutputJSON.float(value).rendered
            // The readers parse numbers as doubles and round to float32.
            XCTAssertEqual(Double(text).map(Float.init)?.bitPattern, value.bitPattern, "\(value) printed as \(text)")
        }
    }
}
