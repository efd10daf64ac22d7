import Foundation
import TestSupport
import XCTest

/// `fute-db embed`, run as a process, against the PyTorch reference embeddings.
final class EmbedCommandTests: XCTestCase {
    struct Reference: Decodable {
        struct Item: Decodable {
            var text: String
            var text_pair: String?
            var embedding: [Float]
        }
        var items: [Item]
    }

    /// More lines than one streamed chunk (256): every printed vector, in input order, matches the
    /// PyTorch all-MiniLM-L6-v2 embedding of its line (cosine ≥ 0.9999), across chunk boundaries.
    func testStreamedOutputMatchesThePyTorchReferenceInInputOrder() throws {
        let encoder = try FuteProcess.encoderDirectory()
        let referencePath = FuteProcess.packageRoot.deletingLastPathComponent()
            .appendingPathComponent("shared/reference/minilm-reference.json").path
        guard FileManager.default.fileExists(atPath: referencePath) else {
            throw XCTSkip("../shared/reference/minilm-reference.json not present: \(referencePath)")
        }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: referencePath)))
        let repeats = 256 / reference.items.count + 2
        let items = (0..<repeats).flatMap { _ in reference.items }
        XCTAssertGreaterThan(items.count, 256, "the input spans two chunks")
        var lines: [String] = []
        for item in items {
            var object: [String: String] = ["text": item.text]
            if let pair = item.text_pair { object["text_pair"] = pair }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
        }
        let scratch = try ScratchDirectory()
        let input = try scratch.write("inputs.jsonl", lines.joined(separator: "\n") + "\n")
        let result = try FuteProcess.locate().run(["embed", "--encoder", encoder, input])
        XCTAssertEqual(result.status, 0, result.stderr)
        let outputs = result.stdout.split(separator: "\n")
        XCTAssertEqual(outputs.count, items.count)
        for (index, (line, item)) in zip(outputs, items).enumerated() {
            let vector = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Double], "line \(index + 1)")
            XCTAssertEqual(vector.count, item.embedding.count)
            var dot = 0.0, na = 0.0, nb = 0.0
            for (a, b) in zip(vector, item.embedding.map(Double.init)) { dot += a * b; na += a * a; nb += b * b }
            XCTAssertGreaterThanOrEqual(dot / (na.squareRoot() * nb.squareRoot()), 0.9999, "line \(index + 1): \(item.text.prefix(50))")
        }
    }
}
