import Encoder
import Foundation
import FuteDB
import Kernels
import Readers

/// The trainable part of the FUTE surrogate and how it is trained. Everything here is part of a
/// space's identity: two embeddings are comparable only when made with equal settings.
///
/// Two trainable parts exist (`part`):
/// - `.lastLayerAttention` (the default): the attention projections of the encoder's last layer are
///   tuned on the states entering that layer; head on the mean-pooled unit embedding, initialised at
///   zero; embedding = the tuned attention parameters minus the pretrained ones (`AttentionSurrogate`).
/// - `.bottleneck` (the first method): z = act(W·x + b), x = √d·h (h the unit-length sentence
///   embedding, d its width), W: rank×d and b drawn from `seed`, a zero-initialised head on z;
///   embedding = [W − W₀, b − b₀] (`SurrogateTrainer`).
public struct SurrogateSettings: Sendable, Equatable, Codable {
    /// Which part of the surrogate is trained (and so what the embedding is made of).
    public enum TrainablePart: String, Sendable, Codable, CaseIterable {
        /// Attention (Q, K, V, output) of the encoder's last layer: 4d² + 4d floats.
        case lastLayerAttention = "last-layer-attention"
        /// A rank×d bottleneck on the pooled sentence embedding: rank·(d+1) floats.
        case bottleneck
    }

    /// Activation after the bottleneck.
    public enum Activation: String, Sendable, Codable, CaseIterable { case tanh, linear }

    /// The trained part.
    public var part: TrainablePart = .lastLayerAttention
    /// Rows of W (the bottleneck width); the embedding has rank·(d+1) floats.
    public var rank = 128
    /// Activation of the bottleneck.
    public var activation: Activation = .tanh
    /// Passes over the examples.
    public var epochs = 3
    /// Adam step size.
    public var learningRate: Float = 1e-3
    /// Examples per Adam step.
    public var batchSize = 32
    /// Seeds W₀, b₀ and the example order.
    public var seed: UInt64 = 0
    /// Floats of a last-layer-attention embedding: the tuned delta's count sketch (``CountSketch``)
    /// of this width; 0 keeps the whole delta (4d² + 4d floats: spaces made before sketching).
    public var sketchWidth = 4096

    /// Default settings for `part` with `seed`: 3 epochs, batch 32, Adam 3e-4 for the last layer's
    /// attention; Adam 1e-3, rank 128, tanh for the bottleneck (the prototype's best).
    public init(seed: UInt64 = 0, part: TrainablePart = .lastLayerAttention) {
        self.seed = seed
        self.part = part
        learningRate = part == .lastLayerAttention ? 3e-4 : 1e-3
    }
}

extension SurrogateSettings {
    /// The settings a space records (besides the seed and ``comparison``): the trained part and the
    /// training settings that apply to it. A space made with the first method (no `trainable`
    /// field) is refused, naming both.
    public var recordedFields: [String: String] {
        var f = ["trainable": part.rawValue, "epochs": String(epochs), "learningRate": String(learningRate), "batchSize": String(batchSize)]
        if part == .bottleneck {
            f["rank"] = String(rank)
            f["activation"] = activation.rawValue
        }
        if part == .lastLayerAttention && sketchWidth > 0 { f["sketch"] = CountSketch.name(width: sketchWidth) }
        return f
    }

    /// The settings a FUTE space recorded (``recordedFields``), to embed more tasks into it as its
    /// first ones were: `nil` when `fields` are not a FUTE space's (another method, or a field this
    /// version cannot read). A last-layer-attention space without a `sketch` field holds whole deltas.
    public init?(recorded fields: [String: String], seed: UInt64) {
        guard let name = fields["trainable"], let part = TrainablePart(rawValue: name) else { return nil }
        self.init(seed: seed, part: part)
        guard let epochs = fields["epochs"].flatMap(Int.init), let learningRate = fields["learningRate"].flatMap(Float.init),
              let batchSize = fields["batchSize"].flatMap(Int.init) else { return nil }
        self.epochs = epochs
        self.learningRate = learningRate
        self.batchSize = batchSize
        if part == .bottleneck {
            guard let rank = fields["rank"].flatMap(Int.init), let activation = fields["activation"].flatMap(Activation.init) else { return nil }
            self.rank = rank
            self.activation = activation
        }
        sketchWidth = 0
        if part == .lastLayerAttention, let sketch = fields["sketch"] {
            guard let width = CountSketch.width(named: sketch) else { return nil }
            sketchWidth = width
        }
        guard recordedFields == fields else { return nil }
    }

    /// How the query layer compares the tasks this surrogate embeds. Tuned attention deltas of
    /// different tasks share a direction (single-sentence tasks most): they are compared after
    /// removing the space's mean dataset (``Comparison/centeredCosine``).
    public var comparison: Comparison { part == .bottleneck ? .metric : .centeredCosine }
}

/// What the surrogate is trained to predict, one row per example.
public enum SurrogateTargets: Sendable, Equatable {
    /// Class distributions (one-hot for gold labels, soft for model predictions): n × classes, row-major.
    case distributions([Float], classes: Int)
    /// Numeric targets (z-scored before training).
    case values([Float])

    /// The targets as a row-major n × outputs matrix, and which loss applies: distributions as
    /// given (cross-entropy), values z-scored (squared error; all 0 when every value is equal).
    func trainingMatrix(examples n: Int) -> (outputs: Int, y: [Float], regression: Bool) {
        switch self {
        case .distributions(let p, let classes):
            precondition(p.count == n * classes, "one distribution per example")
            return (classes, p, false)
        case .values(let v):
            precondition(v.count == n, "one value per example")
            let mean = v.reduce(0, +) / Float(n)
            let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n)).squareRoot()
            return (1, v.map { sd > 0 ? ($0 - mean) / sd : 0 }, true)
        }
    }
}

/// Trains the FUTE surrogate's bottleneck on frozen sentence embeddings and returns its tuned
/// parameters. Deterministic for given features, targets and settings.
public enum SurrogateTrainer {
    /// W₀ (rank×d, row-major) and b₀ (rank), uniform in ±1/√d as PyTorch's `Linear` initialises them.
    public static func initialParameters(dimension d: Int, settings: SurrogateSettings) -> (weight: [Float], bias: [Float]) {
        var rng = SplitMix64(seed: settings.seed)
        let bound = 1 / Float(d).squareRoot()
        let weight = (0..<(settings.rank * d)).map { _ in rng.nextFloat(in: -bound, bound) }
        let bias = (0..<settings.rank).map { _ in rng.nextFloat(in: -bound, bound) }
        return (weight, bias)
    }

    /// Trains on `features` (n × d, row-major, unit-length sentence embeddings) and returns the task
    /// embedding [W − W₀ (row-major), b − b₀], rank·(d+1) floats.
    public static func embedding(features: [Float], dimension d: Int, targets: SurrogateTargets, settings: SurrogateSettings) -> [Float] {
        let (w, b) = train(features: features, dimension: d, targets: targets, settings: settings)
        let (w0, b0) = initialParameters(dimension: d, settings: settings)
        return zip(w, w0).map { $0 - $1 } + zip(b, b0).map { $0 - $1 }
    }

    /// The trained (W, b).
    public static func train(features: [Float], dimension d: Int, targets: SurrogateTargets, settings s: SurrogateSettings) -> (weight: [Float], bias: [Float]) {
        let n = features.count / d
        precondition(n > 0 && features.count == n * d, "features must be n × dimension")
        let r = s.rank
        let (outputs, y, regression) = targets.trainingMatrix(examples: n)
        let scale = Float(d).squareRoot()
        let x = features.map { $0 * scale }
        var (w, b) = initialParameters(dimension: d, settings: s)
        // The head starts at zero, so W's trajectory does not depend on which index means which class.
        var head = [Float](repeating: 0, count: outputs * r), headBias = [Float](repeating: 0, count: outputs)
        var adamW = Adam(count: w.count), adamB = Adam(count: r), adamH = Adam(count: head.count), adamHB = Adam(count: outputs)
        var orderRNG = SplitMix64(seed: s.seed ^ 0x0F07_E0DE_A5EE_D001)
        var order = Array(0..<n)
        let maxBatch = min(s.batchSize, n)
        var xb = [Float](repeating: 0, count: maxBatch * d), yb = [Float](repeating: 0, count: maxBatch * outputs)
        var z = [Float](repeating: 0, count: maxBatch * r), logits = [Float](repeating: 0, count: maxBatch * outputs)
        var dZ = [Float](repeating: 0, count: maxBatch * r)
        var gW = [Float](repeating: 0, count: w.count), gB = [Float](repeating: 0, count: r)
        var gH = [Float](repeating: 0, count: head.count), gHB = [Float](repeating: 0, count: outputs)
        for _ in 0..<s.epochs {
            orderRNG.shuffle(&order)
            var start = 0
            while start < n {
                let m = min(s.batchSize, n - start)
                for (row, i) in order[start..<(start + m)].enumerated() {
                    for k in 0..<d { xb[row * d + k] = x[i * d + k] }
                    for k in 0..<outputs { yb[row * outputs + k] = y[i * outputs + k] }
                }
                // Forward: z = act(x·Wᵀ + b); logits = z·Hᵀ + c.
                forwardLinear(xb, rows: m, inWidth: d, weight: w, bias: b, outWidth: r, into: &z)
                if s.activation == .tanh { for k in 0..<(m * r) { z[k] = tanhf(z[k]) } }
                forwardLinear(z, rows: m, inWidth: r, weight: head, bias: headBias, outWidth: outputs, into: &logits)
                // dLoss/dlogits, mean over the batch: softmax − target (CE) or prediction − target (squared error, ½ factor).
                for row in 0..<m {
                    let o = row * outputs
                    if regression {
                        logits[o] = (logits[o] - yb[o]) / Float(m)
                    } else {
                        var mx = -Float.infinity
                        for k in 0..<outputs { mx = max(mx, logits[o + k]) }
                        var sum: Float = 0
                        for k in 0..<outputs { let e = expf(logits[o + k] - mx); logits[o + k] = e; sum += e }
                        for k in 0..<outputs { logits[o + k] = (logits[o + k] / sum - yb[o + k]) / Float(m) }
                    }
                }
                // Head gradients: gH = gLogitsᵀ·z, gHB = Σ rows; dZ = gLogits·H.
                gemm(transposeA: true, transposeB: false, m: outputs, n: r, k: m, a: logits, lda: outputs, b: z, ldb: r, c: &gH, ldc: r)
                for k in 0..<outputs { gHB[k] = 0; for row in 0..<m { gHB[k] += logits[row * outputs + k] } }
                gemm(transposeA: false, transposeB: false, m: m, n: r, k: outputs, a: logits, lda: outputs, b: head, ldb: r, c: &dZ, ldc: r)
                if s.activation == .tanh { for k in 0..<(m * r) { dZ[k] *= 1 - z[k] * z[k] } }
                // Bottleneck gradients: gW = dZᵀ·x, gB = Σ rows.
                gemm(transposeA: true, transposeB: false, m: r, n: d, k: m, a: dZ, lda: r, b: xb, ldb: d, c: &gW, ldc: d)
                for k in 0..<r { gB[k] = 0; for row in 0..<m { gB[k] += dZ[row * r + k] } }
                adamW.step(&w, gradient: gW, learningRate: s.learningRate)
                adamB.step(&b, gradient: gB, learningRate: s.learningRate)
                adamH.step(&head, gradient: gH, learningRate: s.learningRate)
                adamHB.step(&headBias, gradient: gHB, learningRate: s.learningRate)
                start += m
            }
        }
        return (w, b)
    }

    static func forwardLinear(_ input: [Float], rows: Int, inWidth: Int, weight: [Float], bias: [Float], outWidth: Int, into out: inout [Float]) {
        for row in 0..<rows { for j in 0..<outWidth { out[row * outWidth + j] = bias[j] } }
        input.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    guard let xp = x.baseAddress, let wp = w.baseAddress, let op = o.baseAddress else { return }
                    BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outWidth, k: inWidth, alpha: 1,
                               a: xp, lda: inWidth, b: wp, ldb: inWidth, beta: 1, c: op, ldc: outWidth)
                }
            }
        }
    }

    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int, c: inout [Float], ldc: Int) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let ab = ap.baseAddress, let bb = bp.baseAddress, let cb = cp.baseAddress else { return }
                    BLAS.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                               a: ab, lda: lda, b: bb, ldb: ldb, beta: 0, c: cb, ldc: ldc)
                }
            }
        }
    }
}

/// Adam (Kingma & Ba) with PyTorch's defaults: β₁ 0.9, β₂ 0.999, ε 1e-8, bias-corrected.
struct Adam {
    var m: [Float], v: [Float]
    var t = 0

    init(count: Int) {
        m = [Float](repeating: 0, count: count)
        v = [Float](repeating: 0, count: count)
    }

    mutating func step(_ parameters: inout [Float], gradient: [Float], learningRate: Float) {
        t += 1
        let (beta1, beta2, epsilon): (Float, Float, Float) = (0.9, 0.999, 1e-8)
        let correction1 = 1 - powf(beta1, Float(t)), correction2 = 1 - powf(beta2, Float(t))
        let stepSize = learningRate / correction1
        let sqrtCorrection2 = correction2.squareRoot()
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                gradient.withUnsafeBufferPointer { g in
                    parameters.withUnsafeMutableBufferPointer { p in
                        for i in 0..<p.count {
                            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                            p[i] -= stepSize * m[i] / (v[i].squareRoot() / sqrtCorrection2 + epsilon)
                        }
                    }
                }
            }
        }
    }
}
