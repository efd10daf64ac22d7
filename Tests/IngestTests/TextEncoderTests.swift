import Foundation
import XCTest
@testable import Encoder
@testable import Readers

final class TextEncoderTests: XCTestCase {
    struct Reference: Decodable {
        struct Item: Decodable {
            var text: String
            var text_pair: String?
            var input_ids: [Int32]
            var token_type_ids: [Int32]
            var embedding: [Float]
        }
        var items: [Item]
    }

    func testMatchesPyTorchReferenceTokensAndEmbeddings() throws {
        let directory = try TestResources.encoderDirectory()
        let referencePath = try TestResources.shared("reference/minilm-reference.json")
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: referencePath)))
        XCTAssertFalse(reference.items.isEmpty)
        let encoder = try TextEncoder(directory: directory)
        let inputs = reference.items.map { TextInput($0.text, pair: $0.text_pair) }
        for (item, input) in zip(reference.items, inputs) {
            let tokens = encoder.tokenize(input)
            XCTAssertEqual(tokens.inputIDs, item.input_ids, "token ids of \(item.text.prefix(60))")
            XCTAssertEqual(tokens.tokenTypeIDs, item.token_type_ids, "token type ids of \(item.text.prefix(60))")
        }
        let embeddings = encoder.encode(inputs)
        var worst: Float = 1
        for (item, e) in zip(reference.items, embeddings) {
            XCTAssertEqual(e.count, item.embedding.count)
            var dot: Float = 0, na: Float = 0, nb: Float = 0
            for (a, b) in zip(e, item.embedding) { dot += a * b; na += a * a; nb += b * b }
            let cosine = dot / (na.squareRoot() * nb.squareRoot())
            worst = min(worst, cosine)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, "cosine with the reference for \(item.text.prefix(60))")
        }
        print("TextEncoderTests: \(reference.items.count) reference inputs, worst cosine \(worst)")
    }

    func testBatchingDoesNotChangeEmbeddings() throws {
        var encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let inputs = [TextInput("a short one"), TextInput("a considerably longer sentence with many more words in it, to pad"),
                      TextInput("premise here", pair: "hypothesis there")]
        let together = encoder.encode(inputs)
        encoder.batchTokens = 1
        let alone = encoder.encode(inputs)
        for (a, b) in zip(together, alone) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }
}

final class GELUTests: XCTestCase {
    /// The inlined erf agrees with libm's erff over the range GELU sees (and saturates beyond).
    func testFastErfMatchesLibm() {
        var worst: Float = 0
        var x: Float = -6
        while x <= 6 {
            worst = max(worst, abs(BertModel.erfFloat(x) - erff(x)))
            x += 0.0007
        }
        XCTAssertLessThan(worst, 4e-7, "max |erf error| (≈3 ulp near 1)")
    }

    func testGELUOfKnownValues() {
        var v: [Float] = [0, 1, -1, 3]
        BertModel.gelu(&v)
        // x·Φ(x): Φ(1) = 0.8413447460685429, Φ(3) = 0.9986501019683699.
        XCTAssertEqual(v[0], 0)
        XCTAssertEqual(v[1], 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(v[2], -0.1586553, accuracy: 1e-6)
        XCTAssertEqual(v[3], 2.9959503, accuracy: 1e-6)
    }
}
