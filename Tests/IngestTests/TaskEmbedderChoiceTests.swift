import Foundation
import XCTest
@testable import Embedders
@testable import Encoder
@testable import Readers

/// Multiple-choice datasets through `TaskEmbedder` (needs the encoder weights; skipped without them).
final class TaskEmbedderChoiceTests: XCTestCase {
    let dataset = TaskDataset(path: "mc.jsonl", examples: [
        TaskExample(input: TextInput("The man broke his toe. What was the cause?"), target: .choice(1), line: 1,
                    choices: ["He got a hole in his sock.", "He dropped a hammer on his foot."]),
        TaskExample(input: TextInput("I poured water on my sleeping friend. What happened as a result?"), target: .choice(0), line: 2,
                    choices: ["My friend woke up.", "My friend snored.", "My friend smiled."]),
    ])

    func testTextEmbIsTheMeanOfAllChoicePairs() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: "test", method: .textemb)
        var totals: [Int] = []
        let embedding = try embedder.embed(dataset: dataset) { _, _, total in totals.append(total) }
        let pairs = encoder.encode(dataset.examples.flatMap(\.inputs))
        XCTAssertEqual(pairs.count, 5)
        for k in 0..<encoder.dimension {
            XCTAssertEqual(embedding.vector[k], pairs.map { $0[k] }.reduce(0, +) / 5, accuracy: 1e-6)
        }
        XCTAssertEqual(embedding.exampleCount, 2, "dataset lines, not pairs")
        XCTAssertEqual(Set(totals), [5], "progress counts encoder inputs: one per (text, choice) pair")
    }

    func testFuteTrainsOnCorrectAndIncorrectPairs() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let embedder = TaskEmbedder(encoder: encoder, encoderChecksum: "test", method: .fute)
        let embedding = try embedder.embed(dataset: dataset)
        let pairs = TaskEmbedder.expandingChoices(dataset)
        let targets = pairs.examples.map(\.target)
        XCTAssertEqual(targets.filter { $0 == .label("correct") }.count, 2)
        let expected = embedder.trainsOnLastLayerInputs
            ? try embedder.embed(lastLayerInputs: encoder.hiddenStates(pairs.examples.map(\.input), droppingLastLayers: 1), targets: targets, path: dataset.path, kind: .dte)
            : try embedder.embed(features: encoder.encode(pairs.examples.map(\.input)), targets: targets, path: dataset.path, kind: .dte)
        XCTAssertEqual(embedding.vector, expected.vector)
        XCTAssertEqual(embedding.exampleCount, 2)
        XCTAssertEqual(embedding.kind, .dte)
    }
}
