import Encoder
import Foundation
import Kernels
import Readers

/// Multinomial logistic regression on sentence embeddings: a small stand-in for "a model" when
/// demonstrating or testing model task embeddings (train it on one task, run it as a black box on U).
public struct SoftmaxClassifier: Sendable {
    /// The class names, in output order.
    public let classes: [String]
    let dimension: Int
    var weight: [Float]   // classes × dimension
    var bias: [Float]

    /// Full-batch gradient descent on features (n × d, row-major) with L2 penalty `l2`.
    public init(features: [Float], dimension d: Int, labels: [String], iterations: Int = 300,
                learningRate: Float = 1.0, l2: Float = 1e-4) {
        let n = labels.count
        precondition(n > 0 && features.count == n * d, "features must be n × dimension")
        classes = Array(Set(labels)).sorted()
        dimension = d
        let c = classes.count
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        var y = [Float](repeating: 0, count: n * c)
        for (i, l) in labels.enumerated() { if let k = index[l] { y[i * c + k] = 1 } }
        let x = features.map { $0 * Float(d).squareRoot() }
        weight = [Float](repeating: 0, count: c * d)
        bias = [Float](repeating: 0, count: c)
        for _ in 0..<iterations {
            var p = Self.logits(x, rows: n, d: d, weight: weight, bias: bias, classes: c)
            Self.softmaxRows(&p, rows: n, width: c)
            for k in 0..<(n * c) { p[k] = (p[k] - y[k]) / Float(n) }
            let gW = BLAS.matmul(p, x, m: c, n: d, k: n, transposeA: true)
            for k in 0..<(c * d) { weight[k] -= learningRate * (gW[k] + l2 * weight[k]) }
            for j in 0..<c {
                var g: Float = 0
                for i in 0..<n { g += p[i * c + j] }
                bias[j] -= learningRate * g
            }
        }
    }

    /// Class probabilities for features (n × d), row-major n × classes.
    public func probabilities(features: [Float]) -> [Float] {
        let n = features.count / dimension
        let x = features.map { $0 * Float(dimension).squareRoot() }
        var p = Self.logits(x, rows: n, d: dimension, weight: weight, bias: bias, classes: classes.count)
        Self.softmaxRows(&p, rows: n, width: classes.count)
        return p
    }

    static func logits(_ x: [Float], rows n: Int, d: Int, weight: [Float], bias: [Float], classes c: Int) -> [Float] {
        var out = BLAS.matmul(x, weight, m: n, n: c, k: d, transposeB: true)
        for i in 0..<n { for j in 0..<c { out[i * c + j] += bias[j] } }
        return out
    }

    static func softmaxRows(_ p: inout [Float], rows: Int, width: Int) {
        for i in 0..<rows {
            let o = i * width
            var m = -Float.infinity
            for j in 0..<width { m = max(m, p[o + j]) }
            var s: Float = 0
            for j in 0..<width { p[o + j] = expf(p[o + j] - m); s += p[o + j] }
            for j in 0..<width { p[o + j] /= s }
        }
    }
}
