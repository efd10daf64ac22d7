import Foundation
import TestSupport
import XCTest

/// Issue 6, bad input in model folders (`config.json`, `vocab.txt`, `model.safetensors`) and in
/// dataset / predictions files, through `fute-db ingest --dataset/--predictions`: one clear line
/// naming the file (and line/field), exit 1, store unchanged. Broken folders are built from
/// symlinks to the real MiniLM files with one file replaced; skips without the weights.
final class EncoderInputTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var db: String!
    var encoder: String!
    var dataset: String!

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        encoder = try FuteProcess.encoderDirectory()
        scratch = try ScratchDirectory()
        db = scratch.path("store")
        let seed = try scratch.write("seed.jsonl", vectorLines([[1, 2, 3]], prefix: "seed"))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "v", seed]).status, 0)
        dataset = try scratch.write("task.jsonl", (0..<12).map { "{\"text\": \"example number \($0)\", \"label\": \"\($0 % 2)\"}" }.joined(separator: "\n") + "\n")
    }

    /// A copy of the encoder folder (symlinks) with `file` replaced by `bytes`, or by a directory when `bytes` is nil.
    func brokenEncoder(_ name: String, replacing file: String, with bytes: [UInt8]?) throws -> String {
        let folder = scratch.path("enc-\(name)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for item in ["config.json", "vocab.txt", "model.safetensors"] where item != file {
            try FileManager.default.createSymbolicLink(atPath: (folder as NSString).appendingPathComponent(item),
                                                       withDestinationPath: (encoder as NSString).appendingPathComponent(item))
        }
        let target = (folder as NSString).appendingPathComponent(file)
        if let bytes { try Data(bytes).write(to: URL(fileURLWithPath: target)) } else {
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        }
        return folder
    }

    func safetensors(_ header: String, dataBytes: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8) + [UInt8](repeating: 0, count: dataBytes)
    }

    func assertRejected(_ arguments: [String], _ fragments: [String], _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try storeFingerprint(fute, db: db)
        let result = try fute.run(arguments)
        assertCleanFailure(result, expectedStatus: 1, contains: fragments, label, file: file, line: line)
        XCTAssertEqual(try storeFingerprint(fute, db: db), before, "\(label) changed the store", file: file, line: line)
    }

    func ingestDataset(encoder folder: String, dataset path: String? = nil) -> [String] {
        ["ingest", "--db", db, "--space", "m", "--dataset", path ?? dataset, "--name", "t", "--encoder", folder, "--max-examples", "12"]
    }

    func testBrokenModelFoldersAreRefusedNamingTheFile() throws {
        var cases: [(String, String, [UInt8]?, [String])] = [
            ("config-syntax", "config.json", Array("{\"hidden_size\": 384".utf8), ["config.json"]),
            ("config-field", "config.json", Array("{\"hidden_size\": 384, \"num_hidden_layers\": 6}".utf8), ["config.json", "num_attention_heads"]),
            ("config-types", "config.json", Array("{\"hidden_size\": \"big\", \"num_hidden_layers\": 6, \"num_attention_heads\": 12}".utf8), ["config.json"]),
            ("vocab-specials", "vocab.txt", Array("a\nb\nc\n".utf8), ["vocab.txt", "[CLS]"]),
            ("vocab-empty", "vocab.txt", [], ["vocab.txt"]),
            ("weights-outside", "model.safetensors",
             safetensors("{\"embeddings.word_embeddings.weight\": {\"dtype\": \"F32\", \"shape\": [30522, 384], \"data_offsets\": [0, 46881792]}}", dataBytes: 64),
             ["model.safetensors", "outside the data section"]),
            ("weights-header-long", "model.safetensors", withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { Array($0) } + Array("{}".utf8), ["model.safetensors"]),
            ("weights-short", "model.safetensors", [1, 2, 3], ["model.safetensors"]),
            ("weights-missing-tensor", "model.safetensors", safetensors("{\"other\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", dataBytes: 4), ["model.safetensors"]),
            ("weights-dir", "model.safetensors", nil, ["model.safetensors"]),
        ]
        // More tokens than config.json's vocab_size: an id would index past the embedding table.
        let realVocabulary = try Data(contentsOf: URL(fileURLWithPath: (encoder as NSString).appendingPathComponent("vocab.txt")))
        cases.append(("vocab-too-large", "vocab.txt", Array(realVocabulary) + Array("extratoken1\nextratoken2\n".utf8), ["vocab.txt", "vocab_size"]))
        for (name, file, bytes, fragments) in cases {
            let folder = try brokenEncoder(name, replacing: file, with: bytes)
            try assertRejected(ingestDataset(encoder: folder), fragments, name)
        }
        try assertRejected(ingestDataset(encoder: scratch.path("no-such-encoder")), ["no-such-encoder", "config.json"], "missing encoder folder")
    }

    func testBadDatasetAndPredictionsFilesAreRefusedNamingLineAndField() throws {
        let cases: [(String, String, [String])] = [
            ("empty.jsonl", "", [":"]),
            ("no-text.jsonl", "{\"label\": \"a\"}\n", [":1", "text"]),
            ("float-label.jsonl", "{\"text\": \"a\", \"label\": 1.5}\n", [":1", "label"]),
            ("two-targets.jsonl", "{\"text\": \"a\", \"label\": \"x\", \"value\": 2}\n", [":1"]),
            ("mixed-kinds.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"value\": 2}\n", [":2"]),
            ("ragged-probs.jsonl", "{\"text\": \"a\", \"probs\": [0.5, 0.5]}\n{\"text\": \"b\", \"probs\": [1, 0, 0]}\n", [":2", "probs"]),
            ("broken.jsonl", "{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \n", [":2"]),
            ("utf8.jsonl", "{\"text\": \"caf\u{FFFD}\", \"label\": \"x\"}\n", []),
        ]
        for (name, text, fragments) in cases where name != "utf8.jsonl" {
            let path = try scratch.write(name, text)
            try assertRejected(ingestDataset(encoder: encoder, dataset: path), [path] + fragments, "dataset \(name)")
        }
        let invalidUTF8 = try scratch.write("bad-bytes.jsonl", bytes: Array("{\"text\": \"".utf8) + [0xC3, 0x28] + Array("\", \"label\": \"x\"}\n".utf8))
        try assertRejected(ingestDataset(encoder: encoder, dataset: invalidUTF8), [invalidUTF8], "dataset with invalid UTF-8")
        let predictions = try scratch.write("pred.jsonl", "{\"text\": \"a\", \"probs\": [0.5, NaN]}\n")
        try assertRejected(["ingest", "--db", db, "--space", "m", "--predictions", predictions, "--name", "model", "--encoder", encoder],
                           [predictions, ":1"], "predictions with NaN")
    }
}

extension EncoderInputTests {
    /// FUTE spaces record `comparison: centered-cosine`; `query`, `query models` and `query transfer`
    /// compare their tasks that way and say so (with fewer than 3 datasets: plain cosine).
    func testFuteSpacesAreQueriedByCenteredCosine() throws {
        var lines: [String] = []
        for (index, words) in [["good", "bad"], ["red", "blue"], ["cat", "dog"]].enumerated() {
            let text = (0..<12).map { "{\"text\": \"a \(words[$0 % 2]) thing number \($0)\", \"label\": \"\($0 % 2)\"}" }
            let path = try scratch.write("d\(index).jsonl", text.joined(separator: "\n") + "\n")
            let result = try fute.run(["ingest", "--db", db, "--space", "f", "--dataset", path, "--name", "d\(index)", "--encoder", encoder])
            XCTAssertEqual(result.status, 0, result.stderr)
            let query = try fute.run(["query", "--db", db, "--space", "f", "--name", "d0", "-k", "2"])
            XCTAssertEqual(query.status, 0, query.stderr)
            lines.append(query.stdout.split(separator: "\n").first.map(String.init) ?? "")
        }
        XCTAssertTrue(lines[0].contains("metric cosine") && lines[1].contains("metric cosine"), "\(lines)")
        XCTAssertTrue(lines[2].contains("centered cosine"), "\(lines)")
        let transfer = try fute.run(["query", "transfer", "--db", db, "--space", "f", "--target", "d0", "-k", "2"])
        XCTAssertEqual(transfer.status, 0, transfer.stderr)
        XCTAssertTrue(transfer.stdout.contains("order: centered-cosine similarity"), transfer.stdout)
        let models = try fute.run(["query", "models", "--db", db, "--space", "f", "--task", "d0"])
        XCTAssertTrue(models.stdout.contains("centered cosine for model selection"), models.stdout + models.stderr)
    }
}

extension EncoderInputTests {
    /// `ingest --method examples` keeps every example (each (text, choice) pair of a multiple-choice
    /// line) in the space's example space; `query transfer` then ranks by example retrieval and says
    /// so; deleting a dataset deletes its examples; a bad multiple-choice line stores nothing.
    func testExampleSpacesThroughTheCommandLine() throws {
        let plain = (0..<6).map { "{\"text\": \"a good film number \($0)\", \"label\": \"\($0 % 2)\"}" }
        let pairs = (0..<6).map { "{\"text\": \"the film was good \($0)\", \"text_pair\": \"it was fine\", \"label\": \"\($0 % 2)\"}" }
        let choices = (0..<5).map { "{\"text\": \"Which is a pet? \($0)\", \"choices\": [\"a dog\", \"a rock\", \"a cloud\"], \"label\": 0}" }
        for (name, lines) in [("films", plain), ("pairs", pairs), ("pets", choices)] {
            let path = try scratch.write("\(name).jsonl", lines.joined(separator: "\n") + "\n")
            let result = try fute.run(["ingest", "--db", db, "--space", "x", "--dataset", path, "--name", name, "--encoder", encoder, "--method", "examples"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let stats = try fute.run(["stats", "--db", db, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["subjects"] as? [String: Any])?["example"] as? Int, 6 + 6 + 5 * 3, "one example per line, one per choice")
        let transfer = try fute.run(["query", "transfer", "--db", db, "--space", "x", "--target", "films", "-k", "2"])
        XCTAssertEqual(transfer.status, 0, transfer.stderr)
        XCTAssertTrue(transfer.stdout.contains("order: example-retrieval similarity"), transfer.stdout)
        let bad = try scratch.write("bad.jsonl", choices[0] + "\n{\"text\": \"q\", \"choices\": [\"a\", \"b\"], \"label\": 2}\n")
        try assertRejected(["ingest", "--db", db, "--space", "x", "--dataset", bad, "--name", "bad", "--encoder", encoder, "--method", "examples"],
                           [bad + ":2", "label"], "a label out of range")
        XCTAssertEqual(try fute.run(["stats", "--db", db, "--json"]).stdout, stats.stdout, "nothing stored")
        XCTAssertEqual(try fute.run(["delete", "--db", db, "--subjects", "pets"]).status, 0)
        let after = try fute.run(["stats", "--db", db, "--json"])
        let afterObject = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((afterObject["subjects"] as? [String: Any])?["example"] as? Int, 12, "the deleted dataset's examples are gone")
        XCTAssertEqual(try fute.run(["check", "--db", db]).status, 0)
    }
}
