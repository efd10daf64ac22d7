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
        let environment = ProcessInfo.processInfo.environment["FUTE_ENCODER_DIR"]
        let candidates = [environment, FuteProcess.packageRoot.appendingPathComponent(".build/models/all-MiniLM-L6-v2").path].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("model.safetensors")) }) else {
            throw XCTSkip("encoder weights not present (looked in \(candidates)); run Tools/fetch-minilm.sh .build/models/all-MiniLM-L6-v2")
        }
        encoder = found
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
