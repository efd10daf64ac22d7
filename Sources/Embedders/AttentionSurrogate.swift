import Encoder
import Foundation
import Kernels
import Readers

/// The FUTE surrogate whose trainable part is the attention of the encoder's last transformer layer
/// (query, key, value and output projections, weights and biases); every other weight stays frozen.
///
/// Input: the hidden states that enter the last layer (the frozen lower layers run once per input).
/// Forward: the last layer (post-LN BERT layer) → mean over the tokens → unit length × √d → a task head
/// initialised at zero (softmax cross-entropy, or squared error on z-scored values). Adam, example
/// order from the seed. Embedding = the tuned attention parameters minus the pretrained ones
/// (TuPaTE style): [ΔW_qkv (3d×d), Δb_qkv, ΔW_o (d×d), Δb_o], 4d² + 4d floats, stored as its count
/// sketch of `sketchWidth` floats (4,096 by default: 591,360 → 4,096 for MiniLM; ``CountSketch``).
///
/// Why this part: attention is where a pair's two segments meet; tuning it moves the sentence-pair
/// tasks (snli, rte) together, which a bottleneck on the pooled embedding does not (PyTorch prototype,
/// 300 examples per task: snli's nearest is rte in 7 of 10 data-sample × seed runs, vs 1 of 15).
/// The zero head makes the trajectory invariant to which label index means which class.
public enum AttentionSurrogate {
    /// Width of the embedding for hidden size `d`.
    public static func embeddingDimension(hiddenSize d: Int) -> Int { 4 * d * d + 4 * d }

    /// Trains on `states` (per example: tokens × d hidden states entering `layer`) and returns the embedding.
    static func embedding(states: [[Float]], layer: BertModel.Layer, configuration c: BertConfiguration,
                          targets: SurrogateTargets, settings s: SurrogateSettings) -> [Float] {
        let d = c.hiddenSize
        let n = states.count
        precondition(n > 0 && states.allSatisfy { $0.count > 0 && $0.count % d == 0 }, "states must be tokens × hiddenSize")
        let (outputs, y, regression) = targets.trainingMatrix(examples: n)
        var trainer = LayerTrainer(layer: layer, hiddenSize: d, headCount: c.headCount, intermediateSize: c.intermediateSize,
                                   epsilon: c.layerNormEpsilon, outputs: outputs)
        var orderRNG = SplitMix64(seed: s.seed ^ 0x0F07_E0DE_A5EE_D001)
        var order = Array(0..<n)
        for _ in 0..<s.epochs {
            orderRNG.shuffle(&order)
            var start = 0
            while start < n {
                let m = min(s.batchSize, n - start)
                let ids = Array(order[start..<(start + m)])
                var yb = [Float](repeating: 0, count: m * outputs)
                for (row, i) in ids.enumerated() { for k in 0..<outputs { yb[row * outputs + k] = y[i * outputs + k] } }
                trainer.step(states: ids.map { states[$0] }, targets: yb, regression: regression, learningRate: s.learningRate)
                start += m
            }
        }
        let delta = zip(trainer.qkvWeight, layer.qkvWeight).map { $0 - $1 } + zip(trainer.qkvBias, layer.qkvBias).map { $0 - $1 }
            + zip(trainer.outWeight, layer.attentionOutWeight).map { $0 - $1 } + zip(trainer.outBias, layer.attentionOutBias).map { $0 - $1 }
        return s.sketchWidth > 0 ? CountSketch.apply(delta, width: s.sketchWidth) : delta
    }
}

/// One post-LN BERT layer with trainable attention projections, a mean-pool + unit-norm readout and a head.
struct LayerTrainer {
    let layer: BertModel.Layer
    let d: Int, heads: Int, inner: Int, epsilon: Float, outputs: Int
    var qkvWeight: [Float], qkvBias: [Float], outWeight: [Float], outBias: [Float]
    var head: [Float], headBias: [Float]
    var adam: AdamStates

    /// Adam's moments, one per trained parameter (named as the parameters).
    struct AdamStates {
        var qkvWeight: Adam, qkvBias: Adam, outWeight: Adam, outBias: Adam, head: Adam, headBias: Adam
    }

    init(layer: BertModel.Layer, hiddenSize: Int, headCount: Int, intermediateSize: Int, epsilon: Float, outputs: Int) {
        self.layer = layer
        d = hiddenSize; heads = headCount; inner = intermediateSize; self.epsilon = epsilon
        self.outputs = outputs
        qkvWeight = layer.qkvWeight; qkvBias = layer.qkvBias
        outWeight = layer.attentionOutWeight; outBias = layer.attentionOutBias
        head = [Float](repeating: 0, count: outputs * hiddenSize); headBias = [Float](repeating: 0, count: outputs)
        adam = AdamStates(qkvWeight: Adam(count: qkvWeight.count), qkvBias: Adam(count: qkvBias.count),
                          outWeight: Adam(count: outWeight.count), outBias: Adam(count: outBias.count),
                          head: Adam(count: head.count), headBias: Adam(count: headBias.count))
    }

    /// The mean loss over a minibatch and its gradient for each trained parameter (named as the parameters).
    struct Gradients {
        var loss: Float
        /// Query, key and value projection weights, stacked: [3d, d].
        var qkvWeight: [Float]
        /// Query, key and value biases: [3d].
        var qkvBias: [Float]
        /// Attention output projection weight: [d, d].
        var outWeight: [Float]
        /// Attention output projection bias: [d].
        var outBias: [Float]
        /// Task head weight: [outputs, d].
        var head: [Float]
        /// Task head bias: [outputs].
        var headBias: [Float]
    }

    /// One Adam step on a minibatch (`states[i]`: tokens × d), mean loss over the batch.
    mutating func step(states: [[Float]], targets: [Float], regression: Bool, learningRate: Float) {
        let g = gradients(states: states, targets: targets, regression: regression)
        adam.qkvWeight.step(&qkvWeight, gradient: g.qkvWeight, learningRate: learningRate)
        adam.qkvBias.step(&qkvBias, gradient: g.qkvBias, learningRate: learningRate)
        adam.outWeight.step(&outWeight, gradient: g.outWeight, learningRate: learningRate)
        adam.outBias.step(&outBias, gradient: g.outBias, learningRate: learningRate)
        adam.head.step(&head, gradient: g.head, learningRate: learningRate)
        adam.headBias.step(&headBias, gradient: g.headBias, learningRate: learningRate)
    }

    /// Loss and gradients on a minibatch: forward through the layer, readout and head, then backward.
    func gradients(states: [[Float]], targets: [Float], regression: Bool) -> Gradients {
        let batch = PackedBatch(states: states, hiddenSize: d, heads: heads)
        let attention = attentionForward(batch)
        let layerOutput = restOfLayerForward(attention.context, batch)
        let readout = readoutForward(layerOutput.output, batch)
        let (loss, dLogits) = headLoss(readout.embeddings, rows: batch.sequences, targets: targets, regression: regression)
        let headGradients = headBackward(dLogits, readout.embeddings, rows: batch.sequences)
        let dOutput = readoutBackward(headGradients.dEmbeddings, readout, batch)
        let dAttentionOutput = restOfLayerBackward(dOutput, layerOutput, batch)
        let output = outputProjectionBackward(dAttentionOutput, context: attention.context, batch)
        let dqkv = attentionBackward(output.dContext, attention, batch)
        let qkv = qkvProjectionBackward(dqkv, batch)
        return Gradients(loss: loss, qkvWeight: qkv.weight, qkvBias: qkv.bias, outWeight: output.weight, outBias: output.bias,
                         head: headGradients.weight, headBias: headGradients.bias)
    }

    // MARK: Forward

    /// A minibatch packed into token rows, sequences one after another.
    struct PackedBatch {
        let lengths: [Int]
        /// First row of each sequence.
        let starts: [Int]
        /// Offset of each sequence's attention probabilities (heads × t × t) in the packed array.
        let probabilityStarts: [Int]
        let probabilityCount: Int
        /// Token rows of all sequences.
        let rows: Int
        /// All rows, `rows × d`.
        let x: [Float]
        var sequences: Int { lengths.count }

        init(states: [[Float]], hiddenSize d: Int, heads: Int) {
            lengths = states.map { $0.count / d }
            var starts: [Int] = [], probabilityStarts: [Int] = []
            var row = 0, probabilityTotal = 0
            for t in lengths { starts.append(row); probabilityStarts.append(probabilityTotal); row += t; probabilityTotal += heads * t * t }
            self.starts = starts
            self.probabilityStarts = probabilityStarts
            probabilityCount = probabilityTotal
            rows = row
            x = states.flatMap { $0 }
        }
    }

    /// Self-attention activations the backward pass needs.
    struct AttentionActivations {
        /// `[q | k | v]` per row: rows × 3d.
        var qkv: [Float]
        /// softmax(q·kᵀ·scale) per sequence and head.
        var probabilities: [Float]
        /// probabilities · v, heads side by side: rows × d.
        var context: [Float]
    }

    private var headWidth: Int { d / heads }
    private var scale: Float { 1 / Float(headWidth).squareRoot() }

    /// q, k, v projections, then softmax(q·kᵀ·scale)·v per sequence and head.
    private func attentionForward(_ batch: PackedBatch) -> AttentionActivations {
        let n = batch.rows, dh = headWidth, scale = scale
        var qkv = [Float](repeating: 0, count: n * 3 * d)
        BertModel.linear(batch.x, rows: n, inWidth: d, weight: qkvWeight, bias: qkvBias, outWidth: 3 * d, into: &qkv)
        var probs = [Float](repeating: 0, count: batch.probabilityCount)
        var context = [Float](repeating: 0, count: n * d)
        for (s, t) in batch.lengths.enumerated() {
            for hd in 0..<heads {
                let q = batch.starts[s] * 3 * d + hd * dh, p = batch.probabilityStarts[s] + hd * t * t
                Dense.gemm(false, true, t, t, dh, scale, qkv, q, 3 * d, qkv, q + d, 3 * d, 0, &probs, p, t)
                Dense.softmaxRows(&probs, offset: p, rows: t, width: t)
                Dense.gemm(false, false, t, dh, t, 1, probs, p, t, qkv, q + 2 * d, 3 * d, 0, &context, batch.starts[s] * d + hd * dh, d)
            }
        }
        return AttentionActivations(qkv: qkv, probabilities: probs, context: context)
    }

    /// Activations of the layer after self-attention that the backward pass needs.
    struct LayerActivations {
        /// x̂ and 1/σ of the LayerNorm after attention.
        var attentionNormXhat: [Float], attentionNormInverseStd: [Float]
        /// Input of the GELU: rows × inner.
        var intermediate: [Float]
        /// x̂ and 1/σ of the LayerNorm after the feed-forward block.
        var outputNormXhat: [Float], outputNormInverseStd: [Float]
        /// The layer's output: rows × d.
        var output: [Float]
    }

    /// Output projection + residual, LayerNorm, GELU feed-forward + residual, LayerNorm (frozen weights).
    private func restOfLayerForward(_ context: [Float], _ batch: PackedBatch) -> LayerActivations {
        let n = batch.rows
        var r1 = [Float](repeating: 0, count: n * d)
        BertModel.linear(context, rows: n, inWidth: d, weight: outWeight, bias: outBias, outWidth: d, adding: batch.x, into: &r1)
        let (y1, xhat1, inv1) = Dense.layerNorm(r1, rows: n, width: d, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: epsilon)
        var u = [Float](repeating: 0, count: n * inner)
        BertModel.linear(y1, rows: n, inWidth: d, weight: layer.intermediateWeight, bias: layer.intermediateBias, outWidth: inner, into: &u)
        let g = Dense.gelu(u)
        var r2 = [Float](repeating: 0, count: n * d)
        BertModel.linear(g, rows: n, inWidth: inner, weight: layer.outputWeight, bias: layer.outputBias, outWidth: d, adding: y1, into: &r2)
        let (y2, xhat2, inv2) = Dense.layerNorm(r2, rows: n, width: d, weight: layer.outputNormWeight, bias: layer.outputNormBias, epsilon: epsilon)
        return LayerActivations(attentionNormXhat: xhat1, attentionNormInverseStd: inv1, intermediate: u,
                                outputNormXhat: xhat2, outputNormInverseStd: inv2, output: y2)
    }

    /// The readout per sequence: e = √d · p / ‖p‖, p the mean over its tokens.
    struct Readout {
        /// e per sequence: sequences × d.
        var embeddings: [Float]
        /// ‖p‖ per sequence (at least 1e-12).
        var meanNorms: [Float]
    }

    private func readoutForward(_ y2: [Float], _ batch: PackedBatch) -> Readout {
        var e = [Float](repeating: 0, count: batch.sequences * d), pNorm = [Float](repeating: 0, count: batch.sequences)
        let rootD = Float(d).squareRoot()
        for (s, t) in batch.lengths.enumerated() {
            for r in batch.starts[s]..<(batch.starts[s] + t) { for k in 0..<d { e[s * d + k] += y2[r * d + k] } }
            var norm: Float = 0
            for k in 0..<d { e[s * d + k] /= Float(t); norm += e[s * d + k] * e[s * d + k] }
            pNorm[s] = max(norm.squareRoot(), 1e-12)
            for k in 0..<d { e[s * d + k] *= rootD / pNorm[s] }
        }
        return Readout(embeddings: e, meanNorms: pNorm)
    }

    /// The head's logits and the mean loss over the `rows` sequences; returns the loss and dLoss/dlogits:
    /// softmax − target (cross-entropy) or prediction − target (½ squared error).
    private func headLoss(_ e: [Float], rows m: Int, targets yb: [Float], regression: Bool) -> (loss: Float, dLogits: [Float]) {
        var logits = [Float](repeating: 0, count: m * outputs)
        BertModel.linear(e, rows: m, inWidth: d, weight: head, bias: headBias, outWidth: outputs, into: &logits)
        var loss: Float = 0
        for r in 0..<m {
            let o = r * outputs
            if regression {
                let diff = logits[o] - yb[o]
                loss += 0.5 * diff * diff / Float(m)
                logits[o] = diff / Float(m)
            } else {
                var mx = -Float.infinity
                for k in 0..<outputs { mx = max(mx, logits[o + k]) }
                var sum: Float = 0
                for k in 0..<outputs { let v = expf(logits[o + k] - mx); logits[o + k] = v; sum += v }
                for k in 0..<outputs {
                    let p = logits[o + k] / sum
                    if yb[o + k] > 0 { loss -= yb[o + k] * logf(max(p, 1e-30)) / Float(m) }
                    logits[o + k] = (p - yb[o + k]) / Float(m)
                }
            }
        }
        return (loss, logits)
    }

    // MARK: Backward

    /// Head weight and bias gradients, and dLoss/de.
    private func headBackward(_ dLogits: [Float], _ e: [Float], rows m: Int) -> (weight: [Float], bias: [Float], dEmbeddings: [Float]) {
        var gHead = [Float](repeating: 0, count: head.count), gHeadBias = [Float](repeating: 0, count: outputs)
        Dense.gemm(true, false, outputs, d, m, 1, dLogits, 0, outputs, e, 0, d, 0, &gHead, 0, d)
        for k in 0..<outputs { for r in 0..<m { gHeadBias[k] += dLogits[r * outputs + k] } }
        var de = [Float](repeating: 0, count: m * d)
        Dense.gemm(false, false, m, d, outputs, 1, dLogits, 0, outputs, head, 0, d, 0, &de, 0, d)
        return (gHead, gHeadBias, de)
    }

    /// dLoss/d(layer output): dp = √d/‖p‖ (de − ê (ê·de)), then spread over the tokens (mean).
    private func readoutBackward(_ de: [Float], _ readout: Readout, _ batch: PackedBatch) -> [Float] {
        let e = readout.embeddings, pNorm = readout.meanNorms
        let rootD = Float(d).squareRoot()
        var dy2 = [Float](repeating: 0, count: batch.rows * d)
        for (s, t) in batch.lengths.enumerated() {
            var dot: Float = 0
            for k in 0..<d { dot += e[s * d + k] / rootD * de[s * d + k] }
            let f = rootD / pNorm[s] / Float(t)
            for k in 0..<d {
                let dp = f * (de[s * d + k] - e[s * d + k] / rootD * dot)
                for r in batch.starts[s]..<(batch.starts[s] + t) { dy2[r * d + k] = dp }
            }
        }
        return dy2
    }

    /// Back through the output LayerNorm, the feed-forward block and the attention LayerNorm:
    /// dLoss/d(attention output projection + residual).
    private func restOfLayerBackward(_ dy2: [Float], _ activations: LayerActivations, _ batch: PackedBatch) -> [Float] {
        let n = batch.rows
        let dr2 = Dense.layerNormBackward(dy2, xhat: activations.outputNormXhat, inverseStd: activations.outputNormInverseStd,
                                          rows: n, width: d, weight: layer.outputNormWeight)
        var dg = [Float](repeating: 0, count: n * inner)
        Dense.gemm(false, false, n, inner, d, 1, dr2, 0, d, layer.outputWeight, 0, inner, 0, &dg, 0, inner)
        Dense.geluBackward(&dg, input: activations.intermediate)
        var dy1 = dr2
        Dense.gemm(false, false, n, d, inner, 1, dg, 0, inner, layer.intermediateWeight, 0, d, 1, &dy1, 0, d)
        return Dense.layerNormBackward(dy1, xhat: activations.attentionNormXhat, inverseStd: activations.attentionNormInverseStd,
                                       rows: n, width: d, weight: layer.attentionNormWeight)
    }

    /// Attention output projection: weight and bias gradients, and dLoss/d(context).
    private func outputProjectionBackward(_ dr1: [Float], context: [Float], _ batch: PackedBatch) -> (weight: [Float], bias: [Float], dContext: [Float]) {
        let n = batch.rows
        var gOut = [Float](repeating: 0, count: outWeight.count), gOutBias = [Float](repeating: 0, count: d)
        Dense.gemm(true, false, d, d, n, 1, dr1, 0, d, context, 0, d, 0, &gOut, 0, d)
        Dense.columnSums(dr1, rows: n, width: d, into: &gOutBias)
        var dContext = [Float](repeating: 0, count: n * d)
        Dense.gemm(false, false, n, d, d, 1, dr1, 0, d, outWeight, 0, d, 0, &dContext, 0, d)
        return (gOut, gOutBias, dContext)
    }

    /// dLoss/d[q | k | v] per row, back through softmax(q·kᵀ·scale)·v per sequence and head.
    private func attentionBackward(_ dContext: [Float], _ attention: AttentionActivations, _ batch: PackedBatch) -> [Float] {
        let n = batch.rows, dh = headWidth, scale = scale
        let qkv = attention.qkv, probs = attention.probabilities
        var dqkv = [Float](repeating: 0, count: n * 3 * d)
        let maxT = batch.lengths.max() ?? 0
        var dP = [Float](repeating: 0, count: maxT * maxT)
        for (s, t) in batch.lengths.enumerated() {
            for hd in 0..<heads {
                let q = batch.starts[s] * 3 * d + hd * dh, p = batch.probabilityStarts[s] + hd * t * t, c = batch.starts[s] * d + hd * dh
                // dP = dC·Vᵀ; dV = Pᵀ·dC.
                Dense.gemm(false, true, t, t, dh, 1, dContext, c, d, qkv, q + 2 * d, 3 * d, 0, &dP, 0, t)
                Dense.gemm(true, false, t, dh, t, 1, probs, p, t, dContext, c, d, 0, &dqkv, q + 2 * d, 3 * d)
                // dS = P ⊙ (dP − rowsum(dP ⊙ P)).
                for i in 0..<t {
                    var dot: Float = 0
                    for j in 0..<t { dot += dP[i * t + j] * probs[p + i * t + j] }
                    for j in 0..<t { dP[i * t + j] = probs[p + i * t + j] * (dP[i * t + j] - dot) }
                }
                // dQ = scale·dS·K; dK = scale·dSᵀ·Q.
                Dense.gemm(false, false, t, dh, t, scale, dP, 0, t, qkv, q + d, 3 * d, 0, &dqkv, q, 3 * d)
                Dense.gemm(true, false, t, dh, t, scale, dP, 0, t, qkv, q, 3 * d, 0, &dqkv, q + d, 3 * d)
            }
        }
        return dqkv
    }

    /// Query, key and value projection: weight and bias gradients.
    private func qkvProjectionBackward(_ dqkv: [Float], _ batch: PackedBatch) -> (weight: [Float], bias: [Float]) {
        let n = batch.rows
        var gQKV = [Float](repeating: 0, count: qkvWeight.count), gQKVBias = [Float](repeating: 0, count: 3 * d)
        Dense.gemm(true, false, 3 * d, d, n, 1, dqkv, 0, 3 * d, batch.x, 0, d, 0, &gQKV, 0, d)
        Dense.columnSums(dqkv, rows: n, width: 3 * d, into: &gQKVBias)
        return (gQKV, gQKVBias)
    }
}

/// Dense building blocks for the layer trainer (row-major; matrix products through `BLAS.sgemm`).
/// Linear layers are the encoder's own (`BertModel.linear`).
enum Dense {
    /// C[cOffset…] = alpha · op(A)·op(B) + beta · C, on sub-matrices given by offsets and leading dimensions.
    static func gemm(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                     _ a: [Float], _ aOffset: Int, _ lda: Int, _ b: [Float], _ bOffset: Int, _ ldb: Int,
                     _ beta: Float, _ c: inout [Float], _ cOffset: Int, _ ldc: Int) {
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let ab = ap.baseAddress, let bb = bp.baseAddress, let cb = cp.baseAddress else { return }
                    BLAS.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                               a: ab + aOffset, lda: lda, b: bb + bOffset, ldb: ldb, beta: beta, c: cb + cOffset, ldc: ldc)
                }
            }
        }
    }

    static func softmaxRows(_ x: inout [Float], offset: Int, rows: Int, width: Int) {
        x.withUnsafeMutableBufferPointer { xs in
            for r in 0..<rows {
                let o = offset + r * width
                var mx = -Float.infinity
                for j in 0..<width { mx = max(mx, xs[o + j]) }
                var sum: Float = 0
                for j in 0..<width { let v = expf(xs[o + j] - mx); xs[o + j] = v; sum += v }
                let inv = 1 / sum
                for j in 0..<width { xs[o + j] *= inv }
            }
        }
    }

    /// LayerNorm forward; also returns x̂ and 1/σ per row for the backward pass.
    static func layerNorm(_ x: [Float], rows: Int, width: Int, weight: [Float], bias: [Float], epsilon: Float) -> (out: [Float], xhat: [Float], inverseStd: [Float]) {
        var out = [Float](repeating: 0, count: x.count), xhat = [Float](repeating: 0, count: x.count)
        var inv = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { os in
                xhat.withUnsafeMutableBufferPointer { hs in
                    for r in 0..<rows {
                        let o = r * width
                        var mean: Float = 0
                        for k in 0..<width { mean += xs[o + k] }
                        mean /= Float(width)
                        var variance: Float = 0
                        for k in 0..<width { let c = xs[o + k] - mean; variance += c * c }
                        variance /= Float(width)
                        let iv = 1 / (variance + epsilon).squareRoot()
                        inv[r] = iv
                        for k in 0..<width { let h = (xs[o + k] - mean) * iv; hs[o + k] = h; os[o + k] = h * weight[k] + bias[k] }
                    }
                }
            }
        }
        return (out, xhat, inv)
    }

    /// dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)), dx̂ = dy ⊙ γ.
    static func layerNormBackward(_ dy: [Float], xhat: [Float], inverseStd: [Float], rows: Int, width: Int, weight: [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: dy.count)
        dy.withUnsafeBufferPointer { dys in
            xhat.withUnsafeBufferPointer { hs in
                dx.withUnsafeMutableBufferPointer { dxs in
                    for r in 0..<rows {
                        let o = r * width
                        var meanD: Float = 0, meanDH: Float = 0
                        for k in 0..<width { let g = dys[o + k] * weight[k]; meanD += g; meanDH += g * hs[o + k] }
                        meanD /= Float(width); meanDH /= Float(width)
                        for k in 0..<width { dxs[o + k] = inverseStd[r] * (dys[o + k] * weight[k] - meanD - hs[o + k] * meanDH) }
                    }
                }
            }
        }
        return dx
    }

    static func gelu(_ u: [Float]) -> [Float] {
        let invSqrt2: Float = 0.70710678118654752
        return u.map { 0.5 * $0 * (1 + erff($0 * invSqrt2)) }
    }

    /// d ⊙= GELU′(u), GELU′(u) = Φ(u) + u·φ(u).
    static func geluBackward(_ d: inout [Float], input u: [Float]) {
        let invSqrt2: Float = 0.70710678118654752, invSqrt2Pi: Float = 0.39894228040143268
        d.withUnsafeMutableBufferPointer { ds in
            u.withUnsafeBufferPointer { us in
                for i in 0..<ds.count {
                    let v = us[i]
                    ds[i] *= 0.5 * (1 + erff(v * invSqrt2)) + v * invSqrt2Pi * expf(-0.5 * v * v)
                }
            }
        }
    }

    static func columnSums(_ x: [Float], rows: Int, width: Int, into out: inout [Float]) {
        for k in 0..<width { out[k] = 0 }
        for r in 0..<rows { for k in 0..<width { out[k] += x[r * width + k] } }
    }
}
