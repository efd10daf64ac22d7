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
/// all tokens of the batch at once, attention runs per sequence over its own keys only. That is what
/// an attention mask does for a padded batch, without computing the padded positions.
public struct BertModel: Sendable {
    struct Layer: Sendable {
        var qkvWeight: [Float]   // [3H, H]: query, key, value stacked
        var qkvBias: [Float]     // [3H]
        var attentionOutWeight: [Float], attentionOutBias: [Float]
        var attentionNormWeight: [Float], attentionNormBias: [Float]
        var intermediateWeight: [Float], intermediateBias: [Float]
        var outputWeight: [Float], outputBias: [Float]
        var outputNormWeight: [Float], outputNormBias: [Float]
    }

    /// The architecture.
    public let configuration: BertConfiguration
    let wordEmbeddings: [Float], positionEmbeddings: [Float], typeEmbeddings: [Float]
    let embeddingNormWeight: [Float], embeddingNormBias: [Float]
    /// `var` so that a copy can drop its top layers (`TextEncoder.hiddenStates(_:droppingLastLayers:)`).
    var layers: [Layer]

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
    public func lastHiddenStates(_ inputs: [TokenizedInput]) -> [Float] {
        let c = configuration
        let h = c.hiddenSize
        let lengths = inputs.map(\.count)
        let n = lengths.reduce(0, +)
        precondition(lengths.allSatisfy { $0 > 0 && $0 <= c.maxPositions }, "every input needs 1...\(c.maxPositions) tokens")
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
        Self.layerNorm(&x, rows: n, width: h, weight: embeddingNormWeight, bias: embeddingNormBias, epsilon: c.layerNormEpsilon)
        var qkv = [Float](repeating: 0, count: n * 3 * h)
        var context = [Float](repeating: 0, count: n * h)
        var projected = [Float](repeating: 0, count: n * h)
        var intermediate = [Float](repeating: 0, count: n * c.intermediateSize)
        let maxLength = lengths.max() ?? 0
        var scores = [Float](repeating: 0, count: maxLength * maxLength)
        for layer in layers {
            Self.linear(x, rows: n, inWidth: h, weight: layer.qkvWeight, bias: layer.qkvBias, outWidth: 3 * h, into: &qkv)
            attention(qkv: qkv, lengths: lengths, scores: &scores, into: &context)
            Self.linear(context, rows: n, inWidth: h, weight: layer.attentionOutWeight, bias: layer.attentionOutBias, outWidth: h, into: &projected)
            Self.addInPlace(&x, projected)
            Self.layerNorm(&x, rows: n, width: h, weight: layer.attentionNormWeight, bias: layer.attentionNormBias, epsilon: c.layerNormEpsilon)
            Self.linear(x, rows: n, inWidth: h, weight: layer.intermediateWeight, bias: layer.intermediateBias, outWidth: c.intermediateSize, into: &intermediate)
            Self.gelu(&intermediate)
            Self.linear(intermediate, rows: n, inWidth: c.intermediateSize, weight: layer.outputWeight, bias: layer.outputBias, outWidth: h, into: &projected)
            Self.addInPlace(&x, projected)
            Self.layerNorm(&x, rows: n, width: h, weight: layer.outputNormWeight, bias: layer.outputNormBias, epsilon: c.layerNormEpsilon)
        }
        return x
    }

    /// Scaled dot-product attention per sequence and head over packed rows of `qkv` (`[q | k | v]`).
    func attention(qkv: [Float], lengths: [Int], scores: inout [Float], into context: inout [Float]) {
        let h = configuration.hiddenSize, heads = configuration.headCount, dh = h / heads
        let stride = 3 * h
        let scale = 1 / Float(dh).squareRoot()
        qkv.withUnsafeBufferPointer { q in
            scores.withUnsafeMutableBufferPointer { sc in
                context.withUnsafeMutableBufferPointer { ctx in
                    guard let qBase = q.baseAddress, let sBase = sc.baseAddress, let cBase = ctx.baseAddress else { return }
                    var row = 0
                    for t in lengths {
                        for head in 0..<heads {
                            let qPtr = qBase + row * stride + head * dh
                            // scores[t×t] = scale · Q·Kᵀ
                            BLAS.sgemm(transposeA: false, transposeB: true, m: t, n: t, k: dh, alpha: scale,
                                       a: qPtr, lda: stride, b: qPtr + h, ldb: stride, beta: 0, c: sBase, ldc: t)
                            for i in 0..<t {
                                let r = i * t
                                var m = -Float.infinity
                                for j in 0..<t { m = max(m, sc[r + j]) }
                                var sum: Float = 0
                                for j in 0..<t { let e = expf(sc[r + j] - m); sc[r + j] = e; sum += e }
                                let inv = 1 / sum
                                for j in 0..<t { sc[r + j] *= inv }
                            }
                            // context[t×dh] = P·V
                            BLAS.sgemm(transposeA: false, transposeB: false, m: t, n: dh, k: t, alpha: 1,
                                       a: sBase, lda: t, b: qPtr + 2 * h, ldb: stride, beta: 0,
                                       c: cBase + row * h + head * dh, ldc: h)
                        }
                        row += t
                    }
                }
            }
        }
    }

    /// out[rows×outWidth] = input · weightᵀ + bias (PyTorch `Linear` layout: weight is [out, in]).
    static func linear(_ input: [Float], rows: Int, inWidth: Int, weight: [Float], bias: [Float], outWidth: Int, into out: inout [Float]) {
        out.withUnsafeMutableBufferPointer { o in
            bias.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let base = r * outWidth
                    for j in 0..<outWidth { o[base + j] = b[j] }
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

    static func addInPlace(_ x: inout [Float], _ y: [Float]) {
        x.withUnsafeMutableBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in
                for i in 0..<xs.count { xs[i] += ys[i] }
            }
        }
    }

    /// GELU with the exact (erf) definition, x · ½ · (1 + erf(x / √2)), erf evaluated by `erfFloat`.
    static func gelu(_ x: inout [Float]) {
        let invSqrt2: Float = 0.70710678118654752
        x.withUnsafeMutableBufferPointer { xs in
            for i in 0..<xs.count {
                let v = xs[i]
                xs[i] = 0.5 * v * (1 + erfFloat(v * invSqrt2))
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

    static func layerNorm(_ x: inout [Float], rows: Int, width: Int, weight: [Float], bias: [Float], epsilon: Float) {
        x.withUnsafeMutableBufferPointer { xs in
            weight.withUnsafeBufferPointer { g in
                bias.withUnsafeBufferPointer { b in
                    for r in 0..<rows {
                        let o = r * width
                        var mean: Float = 0
                        for d in 0..<width { mean += xs[o + d] }
                        mean /= Float(width)
                        var variance: Float = 0
                        for d in 0..<width { let c = xs[o + d] - mean; variance += c * c }
                        variance /= Float(width)
                        let inv = 1 / (variance + epsilon).squareRoot()
                        for d in 0..<width { xs[o + d] = (xs[o + d] - mean) * inv * g[d] + b[d] }
                    }
                }
            }
        }
    }
}
