import Foundation
import XCTest
@testable import Embedders
@testable import Readers

final class SurrogateTrainerTests: XCTestCase {
    /// Synthetic unit-length features in d = 16 whose class depends on the first coordinate.
    func synthetic(n: Int, d: Int = 16, seed: UInt64 = 1) -> (features: [Float], labels: [Int]) {
        var rng = SplitMix64(seed: seed)
        var features: [Float] = [], labels: [Int] = []
        for i in 0..<n {
            var v = (0..<d).map { _ in rng.nextFloat(in: -1, 1) }
            let label = i % 3
            v[0] += Float(label) - 1
            let norm = v.map { $0 * $0 }.reduce(0, +).squareRoot()
            features += v.map { $0 / norm }
            labels.append(label)
        }
        return (features, labels)
    }

    func oneHot(_ labels: [Int], classes: Int, permutation: [Int]) -> SurrogateTargets {
        var y = [Float](repeating: 0, count: labels.count * classes)
        for (i, l) in labels.enumerated() { y[i * classes + permutation[l]] = 1 }
        return .distributions(y, classes: classes)
    }

    func settings(seed: UInt64 = 5) -> SurrogateSettings {
        var s = SurrogateSettings(seed: seed)
        s.rank = 8
        return s
    }

    func testEmbeddingHasFixedDimensionAndIsDeterministicForASeed() {
        let (x, labels) = synthetic(n: 90)
        let a = SurrogateTrainer.embedding(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [0, 1, 2]), settings: settings())
        let b = SurrogateTrainer.embedding(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [0, 1, 2]), settings: settings())
        let c = SurrogateTrainer.embedding(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [0, 1, 2]), settings: settings(seed: 6))
        XCTAssertEqual(a.count, 8 * 17)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertGreaterThan(a.map { abs($0) }.max() ?? 0, 0, "training moved W")
    }

    /// The zero-initialised head makes W's trajectory independent of which index means which class.
    func testEmbeddingIsInvariantToLabelOrder() {
        let (x, labels) = synthetic(n: 90)
        let a = SurrogateTrainer.embedding(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [0, 1, 2]), settings: settings())
        let b = SurrogateTrainer.embedding(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [2, 0, 1]), settings: settings())
        for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-6) }
    }

    func testInitialParametersAreUniformWithinPyTorchLinearBound() {
        let (w, b) = SurrogateTrainer.initialParameters(dimension: 16, settings: settings())
        XCTAssertEqual(w.count, 8 * 16)
        XCTAssertEqual(b.count, 8)
        XCTAssertTrue((w + b).allSatisfy { abs($0) <= 0.25 })   // 1/√16
    }

    /// Training lowers the loss: a hand-checkable effect of the gradients being right.
    func testTrainingSeparatesClassesAndRegressionRuns() {
        let (x, labels) = synthetic(n: 90)
        var s = settings()
        s.epochs = 30
        s.learningRate = 1e-2
        let (w, b) = SurrogateTrainer.train(features: x, dimension: 16, targets: oneHot(labels, classes: 3, permutation: [0, 1, 2]), settings: s)
        let (w0, b0) = SurrogateTrainer.initialParameters(dimension: 16, settings: s)
        // The moved bottleneck correlates with the label-carrying coordinate 0 more than with any other.
        var movement = [Float](repeating: 0, count: 16)
        for r in 0..<8 { for k in 0..<16 { movement[k] += abs(w[r * 16 + k] - w0[r * 16 + k]) } }
        XCTAssertEqual(movement.firstIndex(of: movement.max() ?? 0), 0)
        XCTAssertNotEqual(b, b0)
        let values = SurrogateTrainer.embedding(features: x, dimension: 16, targets: .values(labels.map(Float.init)), settings: settings())
        XCTAssertEqual(values.count, 8 * 17)
        XCTAssertTrue(values.allSatisfy(\.isFinite))
    }

    func testSplitMix64MatchesReferenceSequence() {
        // First outputs for seed 0 from the reference C implementation (Vigna).
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
    }
}
