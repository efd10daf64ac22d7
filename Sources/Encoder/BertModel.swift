import Foundation
import Kernels

/// The fields of a Hugging Face BERT `config.json` the forward pass needs.
public struct BertConfiguration: Sendable, Equatable {
    /// Width of the hidden states (384 for all-MiniLM-L6-v2).
    public var hiddenSize: Int
    /// Transformer layers.
    public var layerCount: Int
    /// Attention heads per layer; `hiddenSize` must be a multiple.
    public var headCount: Int
    /// Width of the feed-forward layer.
    public var intermediateSize: Int
    /// Rows of the word embedding table.
    public var vocabularySize: Int
    /// Rows of the position embedding table.
    public var maxPositions: Int
    /// Rows of the token type embedding table.
    public var typeVocabularySize: Int
    /// Epsilon of every LayerNorm.
    public var layerNormEpsilon: Float

    /// Reads `config.json`; refuses activations other than exact GELU and non-absolute positions.
    public init(file path: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw EncoderError("\(path): cannot read the model configuration (\(error.localizedDescription)); check the encoder folder")
        }
        guard let c = json as? [String: Any] else { throw EncoderError("\(path): not a JSON object") }
        func int(_ key: String) throws -> Int {
            guard let v = (c[key] as? NSNumber)?.intValue, v > 0 else {
                throw EncoderError("\(path): field '\(key)' is missing or not a positive integer")
            }
            return v
        }
        hiddenSize = try int("hidden_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        vocabularySize = try int("vocab_size")
        maxPositions = try int("max_position_embeddings")
        typeVocabularySize = try int("type_vocab_size")
        layerNormEpsilon = (c["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-12
        guard hiddenSize % headCount == 0 else {
            throw EncoderError("\(path): hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(headCount)")
        }
        if let act = c["hidden_act"] as? String, act != "gelu" {
            throw EncoderError("\(path): hidden_act '\(act)' is not supported (only exact 'gelu')")
        }
        if let pos = c["position_embedding_type"] as? String, pos != "absolute" {
            throw EncoderError("\(path): position_embedding_type '\(pos)' is not supported (only 'absolute')")
        }
    }
}

/// An error loading or running the text encoder: says what happened and what to do.
public struct EncoderError: Error, CustomStringConvertible, Sendable {
    /// What happened and what to do.
    public let message: String
    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A BERT encoder (`BertModel`, no pooler) with weights in memory, running on the CPU through
/// OpenBLAS `sgemm`.
///
/// Sequences of a batch are packed one after another (no padding rows): the dense layers run over
/// all tokens of the batch at once (OpenBLAS), attention runs per sequence over its own keys only
/// (SIMD8 loops, no per-head BLAS calls). That is what an attention mask does for a padded batch,
/// without computing the padded positions.
public struct BertModel: Sendable {
    /// One transformer layer's weights (package-visible: the FUTE surrogate trains the last one).
    package struct Layer: Sendable {
        package var qkvWeight: [Float]   // [3H, H]: query, key, value stacked
        package var qkvBias: [Float]     // [3H]
        package var attentionOutWeight: [Float], attentionOutBias: [Float]
        package var attentionNormWeight: [Float], attentionNormBias: [Float]
        package var intermediateWeight: [Float], intermediateBias: [Float]
        package var outputWeight: [Float], outputBias: [Float]
        package var outputNormWeight: [Float], outputNormBias: [Float]
    }

    /// The architecture.
    public let configuration: BertConfiguration
    let wordEmbeddings: [Float], positionEmbeddings: [Float], typeEmbeddings: [Float]
    let embeddingNormWeight: [Float], embeddingNormBias: [Float]
    /// `var` so that a copy can drop its top layers (`TextEncoder.hiddenStates(_:droppingLastLayers:)`).
    package var layers: [Layer]

    /// Loads the weights from a safetensors file (names with or without a `bert.` prefix).
    public init(configuration c: BertConfiguration, weights file: SafeTensorsFile) throws {
        configuration = c
        let prefix = file.tensors["bert.embeddings.word_embeddings.weight"] != nil ? "bert." : ""
        func t(_ name: String, _ shape: [Int]) throws -> [Float] { try file.floats(prefix + name, shape: shape) }
        let h = c.hiddenSize, i = c.intermediateSize
        wordEmbeddings = try t("embeddings.word_embeddings.weight", [c.vocabularySize, h])
        positionEmbeddings = try t("embeddings.position_embeddings.weight", [c.maxPositions, h])
        typeEmbeddings = try t("embeddings.token_type_embeddings.weight", [c.typeVocabularySize, h])
        embeddingNormWeight = try t("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try t("embeddings.LayerNorm.bias", [h])
        var layers: [Layer] = []
        for l in 0..<c.layerCount {
            let p = "encoder.layer.\(l)."
            let qkvW = try t(p + "attention.self.query.weight", [h, h]) + t(p + "attention.self.key.weight", [h, h]) + t(p + "attention.self.value.weight", [h, h])
            let qkvB = try t(p + "attention.self.query.bias", [h]) + t(p + "attention.self.key.bias", [h]) + t(p + "attention.self.value.bias", [h])
            layers.append(Layer(
                qkvWeight: qkvW, qkvBias: qkvB,
                attentionOutWeight: try t(p + "attention.output.dense.weight", [h, h]),
                attentionOutBias: try t(p + "attention.output.dense.bias", [h]),
                attentionNormWeight: try t(p + "attention.output.LayerNorm.weight", [h]),
                attentionNormBias: try t(p + "attention.output.LayerNorm.bias", [h]),
                intermediateWeight: try t(p + "intermediate.dense.weight", [i, h]),
                intermediateBias: try t(p + "intermediate.dense.bias", [i]),
                outputWeight: try t(p + "output.dense.weight", [h, i]),
                outputBias: try t(p + "output.dense.bias", [h]),
                outputNormWeight: try t(p + "output.LayerNorm.weight", [h]),
                outputNormBias: try t(p + "output.LayerNorm.bias", [h])))
        }
        self.layers = layers
    }

    /// Mean-pooled, L2-normalised sentence embeddings of a batch of tokenized inputs
    /// (row-major, `inputs.count × hiddenSize`). Every input must be non-empty and fit the position table.
    public func sentenceEmbeddings(_ inputs: [TokenizedInput]) -> [Float] {
        let h = configuration.hiddenSize
        let lengths = inputs.map(\.count)
        let hidden = lastHiddenStates(inputs)
        var pooled = [Float](repeating: 0, count: inputs.count * h)
        hidden.withUnsafeBufferPointer { hs in
            pooled.withUnsafeMutableBufferPointer { out in
                var row = 0
                for (s, n) in lengths.enumerated() {
                    let o = s * h
                    for r in row..<(row + n) {
                        let base = r * h
                        for d in 0..<h { out[o + d] += hs[base + d] }
                    }
                    var norm: Float = 0
                    for d in 0..<h { out[o + d] /= Float(n); norm += out[o + d] * out[o + d] }
                    let scale = norm > 0 ? 1 / norm.squareRoot() : 0
                    for d in 0..<h { out[o + d] *= scale }
                    row += n
                }
            }
        }
        return pooled
    }

    /// Last hidden states of the packed batch: `(sum of lengths) × hiddenSize`, sequences in order.
    ///
    /// The dense layers are OpenBLAS `sgemm`s over all rows and use its threads; everything else
    /// (attention, LayerNorm, GELU) is split over the same number of threads (`BLAS.threads`), so
    /// "2 threads" means two for the whole pass, not only for the matrix products.
    public func lastHiddenStates(_ inputs: [TokenizedInput]) -> [Float] {
        let c = configuration
        let h = c.hiddenSize
        let lengths = inputs.map(\.count)
        let n = lengths.reduce(0, +)
        precondition(lengths.allSatisfy { $0 > 0 && $0 <= c.maxPositions }, "every input needs 1...\(c.maxPositions) tokens")
        let workers = n >= 64 ? min(BLAS.threads, 8) : 1
        var x = [Float](repeating: 0, count: n * h)
        // Embeddings: word + position + token type.
        wordEmbeddings.withUnsafeBufferPointer { we in
            positionEmbeddings.withUnsafeBufferPointer { pe in
                typeEmbeddings.withUnsafeBufferPointer { te in
                    x.withUnsafeMutableBufferPointer { xs in
                        var row = 0
                        for input in inputs {
                            for p in 0..<input.count {
                                let id = Int(input.inputIDs[p]), type = Int(input.tokenTypeIDs[p])
                                precondition(id >= 0 && id < c.vocabularySize && type >= 0 && type < c.typeVocabularySize, "token id out of range")
                                let (wo, po, to, xo) = (id * h, p * h, type * h, row * h)
                                for d in 0..<h { xs[xo + d] = we[wo + d] + pe[po + d] + te[to + d] }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        Self.layerNorm(&x, rows: n, width: h, weight: embeddingNormWeight, bias: embeddingNormBias, epsilon: c.layerNormEpsilon, workers: workers)
        var qkv = [Float](repeating: 0, count: n * 3 * h)
        var context = [Float](repeating: 0, count: n * h)
        var residual = [Float](repeating: 0, count: n * h)
        var intermediate = [Float](repeating: 0, count: n * c.intermediateSize)
        let plan = AttentionPlan(lengths: lengths, hiddenSize: h, headCount: c.headCount, workers: workers)
        var scratch = [SIMD8<Float>](repeating: .zero, count: plan.scratchPerWorker * plan.workerRanges.count)
        for layer in layers {
            Self.linear(x, rows: n, inWidth: h, weight: layer.qkvWeight, bias: layer.qkvBias, outWidth: 3 * h, into: &qkv)
            Self.attention(qkv: qkv, plan: plan, scratch: &scratch, into: &context)
            // residual = x + bias + context·Wᵀ, then LayerNorm: the residual add rides on the product.
            Self.linear(context, rows: n, inWidth: h, weight: layer.attentionOutWeight, bias: layer.attentionOutBias, outWidth: h,
                        adding: x, into: &residual)
            Self.layerNorm(&residual, rows: n, width: h, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: c.layerNormEpsilon, workers: workers)
            swap(&x, &residual)
            Self.linear(x, rows: n, inWidth: h, weight: layer.intermediateWeight, bias: layer.intermediateBias, outWidth: c.intermediateSize, into: &intermediate)
            Self.gelu(&intermediate, workers: workers)
            Self.linear(intermediate, rows: n, inWidth: c.intermediateSize, weight: layer.outputWeight, bias: layer.outputBias, outWidth: h,
                        adding: x, into: &residual)
            Self.layerNorm(&residual, rows: n, width: h, weight: layer.outputNormWeight, bias: layer.outputNormBias, epsilon: c.layerNormEpsilon, workers: workers)
            swap(&x, &residual)
        }
        return x
    }

    /// Runs `body` over `0..<count` split into `workers` contiguous ranges, concurrently when
    /// `workers > 1`. `body` must only write where its range says.
    static func forEachRange(_ count: Int, workers: Int, _ body: @Sendable (Range<Int>) -> Void) {
        guard workers > 1, count > 1 else { body(0..<count); return }
        let parts = min(workers, count)
        DispatchQueue.concurrentPerform(iterations: parts) { w in
            body((count * w / parts)..<(count * (w + 1) / parts))
        }
    }

    /// How the sequences of a packed batch are laid out and shared among workers for attention.
    struct AttentionPlan {
        let lengths: [Int], rowStarts: [Int]
        let heads: Int, headWidth: Int, hiddenSize: Int
        /// Head width rounded up to whole SIMD8 vectors (padding lanes hold zeros).
        let headBlocks: Int
        /// Contiguous ranges of sequences, one per worker, of about equal cost (∝ t² + t).
        let workerRanges: [Range<Int>]
        /// SIMD8 vectors of scratch one worker needs: Kᵀ, V and one row of scores for the longest sequence.
        let scratchPerWorker: Int

        init(lengths: [Int], hiddenSize: Int, headCount: Int, workers: Int) {
            self.lengths = lengths
            var starts: [Int] = [], row = 0
            for t in lengths { starts.append(row); row += t }
            rowStarts = starts
            heads = headCount
            self.hiddenSize = hiddenSize
            headWidth = hiddenSize / headCount
            headBlocks = (headWidth + 7) / 8
            let costs = lengths.map { Double($0 * $0 + 8 * $0) }
            let total = costs.reduce(0, +)
            var ranges: [Range<Int>] = [], begin = 0, acc = 0.0
            for w in 0..<max(1, workers) {
                var end = begin
                let target = total * Double(w + 1) / Double(max(1, workers))
                while end < lengths.count && (acc + costs[end] / 2 <= target || w == workers - 1) { acc += costs[end]; end += 1 }
                if end > begin { ranges.append(begin..<end) }
                begin = end
            }
            if ranges.isEmpty { ranges = [0..<lengths.count] }
            workerRanges = ranges
            let longest = lengths.max() ?? 0
            let tBlocks = (longest + 31) / 32 * 4
            // Kᵀ: headWidth rows of tBlocks; V: longest rows of headBlocks; scores: tBlocks.
            scratchPerWorker = headWidth * tBlocks + longest * headBlocks + tBlocks + headBlocks
        }
    }

    /// `acc += x·y` lane-wise: one fused multiply-add in the FMA build (FUTE_NATIVE=1 gives `-mfma`
    /// and FUTE_FMA); otherwise a multiply and an add, because `addProduct` without FMA code
    /// generation calls libm's `fmaf` once per lane (perf: ~30% of a portable-build FUTE test run).
    @inline(__always)
    static func madd(_ acc: inout SIMD8<Float>, _ x: SIMD8<Float>, _ y: SIMD8<Float>) {
        #if FUTE_FMA
        acc.addProduct(x, y)
        #else
        acc += x * y
        #endif
    }

    /// Scaled dot-product attention per sequence and head over packed rows of `qkv` (`[q | k | v]`),
    /// in SIMD8 blocks: per head, Kᵀ and V are copied into vector scratch, each query row's scores are
    /// broadcast FMAs over Kᵀ, softmax, then the row of probabilities times V. Sequences are shared
    /// among the plan's workers; each writes only its own rows of `context`.
    static func attention(qkv: [Float], plan: AttentionPlan, scratch: inout [SIMD8<Float>], into context: inout [Float]) {
        qkv.withUnsafeBufferPointer { qBuffer in
            scratch.withUnsafeMutableBufferPointer { scratchBuffer in
                context.withUnsafeMutableBufferPointer { contextBuffer in
                    // Safe to share: the workers only read `q`, and write disjoint parts of the scratch
                    // (their own slice) and of `ctx` (their own sequences' rows); all end before the closure returns.
                    nonisolated(unsafe) let q = qBuffer, allScratch = scratchBuffer, ctx = contextBuffer
                    forEachRange(plan.workerRanges.count, workers: plan.workerRanges.count) { workers in
                        for w in workers {
                            for s in plan.workerRanges[w] {
                                let layout = HeadScratch(base: w * plan.scratchPerWorker, length: plan.lengths[s], plan: plan)
                                for head in 0..<plan.heads {
                                    attendOneHead(head, sequence: s, plan: plan, layout: layout, qkv: q, scratch: allScratch, context: ctx)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Where one worker's scratch holds one head of one sequence (offsets in SIMD8 vectors).
    struct HeadScratch {
        /// Keys in blocks of 8, padded to groups of 4 blocks (32 keys): the score loop keeps 4
        /// independent accumulators; padded keys are zero and masked before the softmax.
        let keyBlocks: Int
        /// Kᵀ: `headWidth` rows of `keyBlocks` vectors (the d-th component of 8 keys per vector).
        let keys: Int
        /// V: one row of `headBlocks` vectors per key.
        let values: Int
        /// One query row's scores, then its unnormalised probabilities: `keyBlocks` vectors.
        let scores: Int
        /// One context row before normalisation: `headBlocks` vectors.
        let accumulator: Int

        init(base: Int, length t: Int, plan: AttentionPlan) {
            keyBlocks = (t + 31) / 32 * 4
            keys = base
            values = base + plan.headWidth * keyBlocks
            scores = values + t * plan.headBlocks
            accumulator = scores + keyBlocks
        }
    }

    /// Attention of head `head` for sequence `s`: its keys and values into scratch, then per query
    /// row scores, softmax and the weighted sum of values into that row of `context`.
    @inline(__always)
    private static func attendOneHead(_ head: Int, sequence s: Int, plan: AttentionPlan, layout: HeadScratch,
                                      qkv q: UnsafeBufferPointer<Float>, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>,
                                      context: UnsafeMutableBufferPointer<Float>) {
        let h = plan.hiddenSize, t = plan.lengths[s], firstRow = plan.rowStarts[s]
        let column = head * plan.headWidth
        let scale = 1 / Float(plan.headWidth).squareRoot()
        copyKeysTransposed(qkv: q, firstRow: firstRow, length: t, column: column, plan: plan, layout: layout, scratch: scratch)
        copyValues(qkv: q, firstRow: firstRow, length: t, column: column, plan: plan, layout: layout, scratch: scratch)
        for i in 0..<t {
            scoreQueryRow(qkv: q, at: (firstRow + i) * 3 * h + column, scale: scale, plan: plan, layout: layout, scratch: scratch)
            let inverseSum = exponentiateScores(length: t, layout: layout, scratch: scratch)
            weightValues(length: t, plan: plan, layout: layout, scratch: scratch)
            storeContextRow(at: (firstRow + i) * h + column, inverseSum: inverseSum, plan: plan, layout: layout,
                            scratch: scratch, context: context)
        }
    }

    /// Kᵀ[d][key block]: the d-th component of 8 keys per vector; keys past `length` are zero.
    @inline(__always)
    private static func copyKeysTransposed(qkv q: UnsafeBufferPointer<Float>, firstRow: Int, length t: Int, column: Int,
                                           plan: AttentionPlan, layout: HeadScratch, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>) {
        let h = plan.hiddenSize, dh = plan.headWidth, stride = 3 * h, tb = layout.keyBlocks
        let firstKey = firstRow * stride + h + column
        for jb in 0..<tb {
            let first = jb &* 8
            if first &+ 8 <= t {
                let blockStart = firstKey &+ first &* stride
                for d in 0..<dh {
                    scratch[layout.keys &+ d &* tb &+ jb] = gatherEight(q, from: blockStart &+ d, stride: stride)
                }
            } else {
                for d in 0..<dh {
                    var lanes = SIMD8<Float>.zero
                    for lane in 0..<max(0, t &- first) { lanes[lane] = q[firstKey &+ (first &+ lane) &* stride &+ d] }
                    scratch[layout.keys &+ d &* tb &+ jb] = lanes
                }
            }
        }
    }

    /// Eight floats `stride` apart, the first at `start`: one component of eight consecutive keys.
    @inline(__always)
    private static func gatherEight(_ q: UnsafeBufferPointer<Float>, from start: Int, stride: Int) -> SIMD8<Float> {
        var lanes = SIMD8<Float>.zero
        var offset = start
        for lane in 0..<8 {
            lanes[lane] = q[offset]
            offset &+= stride
        }
        return lanes
    }

    /// V[j] in vectors of 8 dimensions (lanes past the head width are zero).
    @inline(__always)
    private static func copyValues(qkv q: UnsafeBufferPointer<Float>, firstRow: Int, length t: Int, column: Int,
                                   plan: AttentionPlan, layout: HeadScratch, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>) {
        let h = plan.hiddenSize, dh = plan.headWidth, hb = plan.headBlocks, stride = 3 * h
        for j in 0..<t {
            let v = (firstRow + j) * stride + 2 * h + column
            for b in 0..<hb {
                if (b + 1) * 8 <= dh {
                    let o = v + b * 8
                    scratch[layout.values + j * hb + b] = SIMD8(q[o], q[o + 1], q[o + 2], q[o + 3], q[o + 4], q[o + 5], q[o + 6], q[o + 7])
                } else {
                    var lanes = SIMD8<Float>.zero
                    for lane in 0..<(dh - b * 8) { lanes[lane] = q[v + b * 8 + lane] }
                    scratch[layout.values + j * hb + b] = lanes
                }
            }
        }
    }

    /// scores = (query row · scale) · Kᵀ, 32 keys at a time.
    @inline(__always)
    private static func scoreQueryRow(qkv q: UnsafeBufferPointer<Float>, at queryRow: Int, scale: Float, plan: AttentionPlan,
                                      layout: HeadScratch, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>) {
        let tb = layout.keyBlocks, sc = layout.scores
        var g = 0
        while g < tb {
            var a0 = SIMD8<Float>.zero, a1 = SIMD8<Float>.zero, a2 = SIMD8<Float>.zero, a3 = SIMD8<Float>.zero
            for d in 0..<plan.headWidth {
                let qd = SIMD8<Float>(repeating: q[queryRow &+ d] * scale)
                let k = layout.keys &+ d &* tb &+ g
                Self.madd(&a0, qd, scratch[k])
                Self.madd(&a1, qd, scratch[k + 1])
                Self.madd(&a2, qd, scratch[k + 2])
                Self.madd(&a3, qd, scratch[k + 3])
            }
            scratch[sc + g] = a0
            scratch[sc + g + 1] = a1
            scratch[sc + g + 2] = a2
            scratch[sc + g + 3] = a3
            g += 4
        }
    }

    /// The softmax numerators over the `length` real keys, in place (padded lanes of the last block
    /// become -∞, then 0); returns 1 / their sum, applied when the context row is stored.
    @inline(__always)
    private static func exponentiateScores(length t: Int, layout: HeadScratch, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>) -> Float {
        let sc = layout.scores
        let used = (t &+ 7) &>> 3
        if t & 7 != 0 {
            var last = scratch[sc &+ used &- 1]
            for lane in (t & 7)..<8 { last[lane] = -.infinity }
            scratch[sc &+ used &- 1] = last
        }
        var maxima = scratch[sc]
        for jb in 1..<used { let v = scratch[sc &+ jb]; maxima.replace(with: v, where: v .> maxima) }
        let rowMax = maxima.max()
        var sums = SIMD8<Float>.zero
        for jb in 0..<used {
            var e = scratch[sc &+ jb] - rowMax
            for lane in 0..<8 { e[lane] = expf(e[lane]) }
            scratch[sc &+ jb] = e
            sums += e
        }
        let sum = sums.sum()
        return 1 / sum
    }

    /// accumulator = numerators · V (the context row before dividing by the sum).
    @inline(__always)
    private static func weightValues(length t: Int, plan: AttentionPlan, layout: HeadScratch, scratch: UnsafeMutableBufferPointer<SIMD8<Float>>) {
        let hb = plan.headBlocks, sc = layout.scores, vv = layout.values, acc = layout.accumulator
        if hb == 4 {
            var c0 = SIMD8<Float>.zero, c1 = SIMD8<Float>.zero, c2 = SIMD8<Float>.zero, c3 = SIMD8<Float>.zero
            for j in 0..<t {
                let p = SIMD8<Float>(repeating: scratch[sc &+ j &>> 3][j & 7])
                let v = vv &+ j &* 4
                Self.madd(&c0, p, scratch[v])
                Self.madd(&c1, p, scratch[v + 1])
                Self.madd(&c2, p, scratch[v + 2])
                Self.madd(&c3, p, scratch[v + 3])
            }
            scratch[acc] = c0
            scratch[acc + 1] = c1
            scratch[acc + 2] = c2
            scratch[acc + 3] = c3
        } else {
            for b in 0..<hb { scratch[acc + b] = .zero }
            for j in 0..<t {
                let p = SIMD8<Float>(repeating: scratch[sc + j / 8][j % 8])
                for b in 0..<hb { Self.madd(&scratch[acc + b], p, scratch[vv + j * hb + b]) }
            }
        }
    }

    /// context[row] = accumulator / sum, the head's `headWidth` columns only.
    @inline(__always)
    private static func storeContextRow(at out: Int, inverseSum: Float, plan: AttentionPlan, layout: HeadScratch,
                                        scratch: UnsafeMutableBufferPointer<SIMD8<Float>>, context: UnsafeMutableBufferPointer<Float>) {
        let dh = plan.headWidth
        for b in 0..<plan.headBlocks {
            let v = scratch[layout.accumulator + b] * inverseSum
            for lane in 0..<min(8, dh - b * 8) { context[out + b * 8 + lane] = v[lane] }
        }
    }

    /// out[rows×outWidth] = input · weightᵀ + bias (+ `adding`, same shape as `out`, when given)
    /// (PyTorch `Linear` layout: weight is [out, in]).
    package static func linear(_ input: [Float], rows: Int, inWidth: Int, weight: [Float], bias: [Float], outWidth: Int,
                       adding residual: [Float]? = nil, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            bias.withUnsafeBufferPointer { b in
                if let residual {
                    residual.withUnsafeBufferPointer { r in
                        for row in 0..<rows {
                            let base = row * outWidth
                            for j in 0..<outWidth { o[base + j] = r[base + j] + b[j] }
                        }
                    }
                } else {
                    for row in 0..<rows {
                        let base = row * outWidth
                        for j in 0..<outWidth { o[base + j] = b[j] }
                    }
                }
            }
            input.withUnsafeBufferPointer { x in
                weight.withUnsafeBufferPointer { w in
                    guard let xp = x.baseAddress, let wp = w.baseAddress, let op = o.baseAddress else { return }
                    BLAS.sgemm(transposeA: false, transposeB: true, m: rows, n: outWidth, k: inWidth, alpha: 1,
                               a: xp, lda: inWidth, b: wp, ldb: inWidth, beta: 1, c: op, ldc: outWidth)
                }
            }
        }
    }

    /// GELU with the exact (erf) definition, x · ½ · (1 + erf(x / √2)), erf evaluated by `erfFloat`.
    static func gelu(_ x: inout [Float], workers: Int = 1) {
        let invSqrt2: Float = 0.70710678118654752
        x.withUnsafeMutableBufferPointer { buffer in
            // Safe to share: each worker writes only its own range, and all end before the closure returns.
            nonisolated(unsafe) let xs = buffer
            forEachRange(xs.count, workers: workers) { range in
                for i in range {
                    let v = xs[i]
                    xs[i] = 0.5 * v * (1 + erfFloat(v * invSqrt2))
                }
            }
        }
    }

    /// erf for Float as a rational minimax approximation on [-4, 4] (the one Eigen and XLA use for
    /// float32), within a few ulp of libm's `erff` — so GELU stays the exact-erf GELU — but inlinable
    /// and vectorisable: libm's scalar `erff` call was 15% of the forward pass.
    @inline(__always)
    static func erfFloat(_ input: Float) -> Float {
        let x = min(max(input, -4), 4)
        let x2 = x * x
        var p: Float = -2.72614225801306e-10
        p = p * x2 + 2.77068142495902e-08
        p = p * x2 + -2.10102402082508e-06
        p = p * x2 + -5.69250639462346e-05
        p = p * x2 + -7.34990630326855e-04
        p = p * x2 + -2.95459980854025e-03
        p = p * x2 + -1.60960333262415e-02
        p *= x
        var q: Float = -1.45660718464996e-05
        q = q * x2 + -2.13374055278905e-04
        q = q * x2 + -1.68282697438203e-03
        q = q * x2 + -7.37332916720468e-03
        q = q * x2 + -1.42647390514189e-02
        return p / q
    }

    /// LayerNorm of each row in place. Sums run in eight lanes (the reductions are the slow part of a
    /// scalar loop: each add waits for the previous one).
    static func layerNorm(_ x: inout [Float], rows: Int, width: Int, weight: [Float], bias: [Float], epsilon: Float, workers: Int = 1) {
        let vectorWidth = width - width % 8
        x.withUnsafeMutableBufferPointer { buffer in
            weight.withUnsafeBufferPointer { weights in
                bias.withUnsafeBufferPointer { biases in
                    // Safe to share: each worker writes only its own rows, and all end before the closure returns.
                    nonisolated(unsafe) let xs = buffer, g = weights, b = biases
                    forEachRange(rows, workers: workers) { range in
                        for r in range {
                            let o = r * width
                            var lanes = SIMD8<Float>.zero
                            var d = 0
                            while d < vectorWidth {
                                lanes += SIMD8(xs[o + d], xs[o + d + 1], xs[o + d + 2], xs[o + d + 3],
                                               xs[o + d + 4], xs[o + d + 5], xs[o + d + 6], xs[o + d + 7])
                                d += 8
                            }
                            var mean = lanes.sum()
                            for e in vectorWidth..<width { mean += xs[o + e] }
                            mean /= Float(width)
                            lanes = .zero
                            d = 0
                            while d < vectorWidth {
                                let c = SIMD8(xs[o + d], xs[o + d + 1], xs[o + d + 2], xs[o + d + 3],
                                              xs[o + d + 4], xs[o + d + 5], xs[o + d + 6], xs[o + d + 7]) - mean
                                Self.madd(&lanes, c, c)
                                d += 8
                            }
                            var variance = lanes.sum()
                            for e in vectorWidth..<width { let c = xs[o + e] - mean; variance += c * c }
                            variance /= Float(width)
                            let inv = 1 / (variance + epsilon).squareRoot()
                            for e in 0..<width { xs[o + e] = (xs[o + e] - mean) * inv * g[e] + b[e] }
                        }
                    }
                }
            }
        }
    }
}
