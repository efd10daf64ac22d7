import Foundation
import XCTest
@testable import Embedders
@testable import Encoder
@testable import Readers

final class AttentionSurrogateTests: XCTestCase {
    /// A small random post-LN layer: d = 8, 2 heads, inner width 12.
    static func randomLayer(seed: UInt64) -> BertModel.Layer {
        var rng = SplitMix64(seed: seed)
        func r(_ count: Int, _ scale: Float = 0.4) -> [Float] { (0..<count).map { _ in rng.nextFloat(in: -scale, scale) } }
        let d = 8, inner = 12
        return BertModel.Layer(qkvWeight: r(3 * d * d), qkvBias: r(3 * d), attentionOutWeight: r(d * d), attentionOutBias: r(d),
                               attentionNormWeight: r(d).map { 1 + $0 }, attentionNormBias: r(d),
                               intermediateWeight: r(inner * d), intermediateBias: r(inner),
                               outputWeight: r(d * inner), outputBias: r(d),
                               outputNormWeight: r(d).map { 1 + $0 }, outputNormBias: r(d))
    }

    static func trainer(outputs: Int) -> LayerTrainer {
        var t = LayerTrainer(layer: randomLayer(seed: 3), hiddenSize: 8, headCount: 2, intermediateSize: 12, epsilon: 1e-12, outputs: outputs)
        var rng = SplitMix64(seed: 9)
        t.head = t.head.map { _ in rng.nextFloat(in: -1, 1) }   // a non-zero head, so every gradient is non-zero
        return t
    }

    static func states(lengths: [Int], seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return lengths.map { t in (0..<(t * 8)).map { _ in rng.nextFloat(in: -1, 1) } }
    }

    /// Backpropagation through the layer (attention, both LayerNorms, GELU FFN, mean-pool, unit norm, head)
    /// agrees with central finite differences of the loss, for every trained parameter group.
    func testGradientsMatchFiniteDifferences() {
        let states = Self.states(lengths: [3, 5, 1], seed: 4)
        for regression in [false, true] {
            let outputs = regression ? 1 : 3
            let targets: [Float] = regression ? [0.5, -1, 2] : [1, 0, 0, 0, 0.3, 0.7, 0, 1, 0]
            let base = Self.trainer(outputs: outputs)
            let analytic = base.gradients(states: states, targets: targets, regression: regression)
            let groups: [(parameter: WritableKeyPath<LayerTrainer, [Float]>, gradient: KeyPath<LayerTrainer.Gradients, [Float]>)] = [
                (\.qkvWeight, \.qkvWeight), (\.qkvBias, \.qkvBias), (\.outWeight, \.outWeight),
                (\.outBias, \.outBias), (\.head, \.head), (\.headBias, \.headBias),
            ]
            for (group, pair) in groups.enumerated() {
                let path = pair.parameter, gradient = pair.gradient
                let count = base[keyPath: path].count
                for index in stride(from: group * 7 % count, to: count, by: max(1, count / 9)) {
                    let h: Float = 1e-2
                    var plus = base, minus = base
                    plus[keyPath: path][index] += h
                    minus[keyPath: path][index] -= h
                    let numeric = (plus.gradients(states: states, targets: targets, regression: regression).loss
                        - minus.gradients(states: states, targets: targets, regression: regression).loss) / (2 * h)
                    XCTAssertEqual(analytic[keyPath: gradient][index], numeric, accuracy: 2e-3 + 2e-2 * abs(numeric),
                                   "group \(group) index \(index) regression \(regression)")
                }
            }
        }
    }

    /// The head starts at zero, so relabelling the classes leaves the embedding unchanged; a seed fixes it.
    func testEmbeddingIsInvariantToLabelOrderAndDeterministic() throws {
        let layer = Self.randomLayer(seed: 5)
        var config = try Self.configuration()
        config.hiddenSize = 8; config.headCount = 2; config.intermediateSize = 12
        let states = Self.states(lengths: [2, 4, 3, 6, 5, 2, 3], seed: 6)
        let labels = [0, 1, 2, 0, 1, 2, 0]
        func embedding(_ permutation: [Int], seed: UInt64) -> [Float] {
            var y = [Float](repeating: 0, count: labels.count * 3)
            for (i, l) in labels.enumerated() { y[i * 3 + permutation[l]] = 1 }
            var s = SurrogateSettings(seed: seed)
            s.batchSize = 3
            s.sketchWidth = 0   // the whole delta (CountSketchTests: the sketch is its count sketch)
            return AttentionSurrogate.embedding(states: states, layer: layer, configuration: config, targets: .distributions(y, classes: 3), settings: s)
        }
        let a = embedding([0, 1, 2], seed: 1)
        XCTAssertEqual(a.count, AttentionSurrogate.embeddingDimension(hiddenSize: 8))
        XCTAssertGreaterThan(a.map(abs).max() ?? 0, 0)
        // Equal up to float rounding (the softmax sums classes in another order).
        let permuted = embedding([2, 0, 1], seed: 1)
        XCTAssertLessThan(zip(a, permuted).map { abs($0 - $1) }.max() ?? 1, 2e-6)
        XCTAssertEqual(a, embedding([0, 1, 2], seed: 1))
        XCTAssertNotEqual(a, embedding([0, 1, 2], seed: 2))
    }

    /// `hiddenStates` with no layer dropped, mean-pooled and normalised, is the sentence embedding; with the
    /// last layer dropped, the states have the same shape and differ.
    func testHiddenStatesAgreeWithSentenceEmbeddings() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let inputs = [TextInput("A man is playing a guitar."), TextInput("The cat sleeps.", pair: "An animal is resting.")]
        let sentences = encoder.encode(inputs)
        let states = encoder.hiddenStates(inputs)
        let lower = encoder.hiddenStates(inputs, droppingLastLayers: 1)
        let d = encoder.dimension
        for (i, s) in states.enumerated() {
            let t = s.count / d
            XCTAssertEqual(t, encoder.tokenize(inputs[i]).count)
            XCTAssertEqual(lower[i].count, s.count)
            var mean = [Float](repeating: 0, count: d)
            for r in 0..<t { for k in 0..<d { mean[k] += s[r * d + k] } }
            let norm = mean.map { $0 * $0 }.reduce(0, +).squareRoot()
            let cosine = zip(mean, sentences[i]).map { $0 * $1 }.reduce(0, +) / norm
            XCTAssertGreaterThan(cosine, 0.99999)
            XCTAssertNotEqual(lower[i], s)
        }
    }

    /// A minimal BertConfiguration (the surrogate reads only widths, heads and epsilon).
    static func configuration() throws -> BertConfiguration {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attention-surrogate-\(UUID().uuidString).json")
        try #"{"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 12, "vocab_size": 10, "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu"}"#
            .write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try BertConfiguration(file: url.path)
    }
}
