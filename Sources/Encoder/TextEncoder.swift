import Foundation
import Kernels
import Readers
import Synchronization

/// A sentence encoder loaded from a local Hugging Face-format folder (`config.json`, `vocab.txt`,
/// `model.safetensors`), e.g. all-MiniLM-L6-v2 fetched by `Tools/fetch-minilm.sh`. Nothing is
/// downloaded at run time.
///
/// `encode` returns mean-pooled, L2-normalised sentence embeddings, as sentence-transformers does.
public struct TextEncoder: Sendable {
    /// The folder the encoder was loaded from.
    public let directory: String
    /// The tokenizer (`vocab.txt`).
    public let tokenizer: WordPieceTokenizer
    /// The transformer (`config.json` + `model.safetensors`).
    public let model: BertModel
    /// A readable identifier: the folder's last path component (e.g. `all-MiniLM-L6-v2`).
    public let identifier: String
    /// Tokens per forward batch; sequences are grouped by similar length up to this many tokens.
    /// 1024 keeps a batch's activations in cache (4096 measured ~4% slower on one thread) while
    /// the matrix products stay large.
    public var batchTokens = 1024

    /// The width of the embeddings.
    public var dimension: Int { model.configuration.hiddenSize }

    /// Path of the weights file.
    public var weightsPath: String { (directory as NSString).appendingPathComponent("model.safetensors") }

    /// Loads the encoder in `directory`.
    public init(directory: String, maxLength: Int = 256) throws {
        let fm = FileManager.default
        for file in ["config.json", "vocab.txt", "model.safetensors"] {
            let p = (directory as NSString).appendingPathComponent(file)
            guard fm.fileExists(atPath: p) else {
                throw EncoderError("\(directory): no \(file); fetch the encoder with `Tools/fetch-minilm.sh \(directory)`")
            }
        }
        self.directory = directory
        let configuration = try BertConfiguration(file: (directory as NSString).appendingPathComponent("config.json"))
        tokenizer = try WordPieceTokenizer(vocabularyFile: (directory as NSString).appendingPathComponent("vocab.txt"),
                                           maxLength: min(maxLength, configuration.maxPositions))
        // A token id beyond the embedding table would index outside the weights: refuse the folder here.
        if let largest = tokenizer.vocabulary.values.max(), Int(largest) >= configuration.vocabularySize {
            throw EncoderError("\(directory)/vocab.txt: has \(Int(largest) + 1) tokens but config.json's vocab_size is \(configuration.vocabularySize); use the vocab.txt that came with the model")
        }
        let weights = try SafeTensorsFile(path: (directory as NSString).appendingPathComponent("model.safetensors"))
        model = try BertModel(configuration: configuration, weights: weights)
        let name = (directory as NSString).standardizingPath
        identifier = (name as NSString).lastPathComponent
    }

    /// Sets the number of OpenBLAS threads the encoder's matrix products use (process-wide).
    public static func setThreads(_ count: Int) { BLAS.setThreads(count) }

    /// sha256 (hex) of `model.safetensors`: the provenance of every vector this encoder makes.
    /// Reads the whole file (≈90 MB for MiniLM); call once and keep the result.
    public func weightsChecksum() throws -> String {
        do { return try SHA256.hexDigest(ofFile: weightsPath) } catch {
            throw EncoderError("\(weightsPath): cannot read for its checksum (\(error.localizedDescription))")
        }
    }

    /// Token ids and token type ids of one input, with `[CLS]`/`[SEP]` and truncation.
    public func tokenize(_ input: TextInput) -> TokenizedInput {
        tokenizer.encode(input.text, pair: input.pair)
    }

    /// Sentence embeddings (each `dimension` floats, unit length) in input order.
    /// - Parameter progress: called after each batch with (inputs done, total).
    public func encode(_ inputs: [TextInput], progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        let tokenized = inputs.map(tokenize)
        return encode(tokenized: tokenized, progress: progress)
    }

    /// Sentence embeddings of already tokenized inputs, in input order, batched and threaded as
    /// ``forEachBatch(of:progress:forward:collect:)`` says.
    public func encode(tokenized: [TokenizedInput], progress: ((Int, Int) -> Void)? = nil) -> [[Float]] {
        let h = dimension
        var result = [[Float]](repeating: [], count: tokenized.count)
        forEachBatch(of: tokenized, progress: progress, forward: { [model] in model.sentenceEmbeddings($0) }) { indices, pooled in
            for (j, index) in indices.enumerated() { result[index] = Array(pooled[j * h ..< (j + 1) * h]) }
        }
        return result
    }

    /// Runs `forward` on packed batches of `tokenized` and hands each batch's output to `collect`,
    /// on the calling thread, with the indices (into `tokenized`) of the batch's sequences in
    /// packing order. Batches hold inputs of similar length (sorted by token count, ties by index)
    /// up to ``batchTokens`` tokens; a longer input forms a batch alone.
    ///
    /// With more than one thread (`setThreads`, i.e. OpenBLAS's count) and more than one batch, the
    /// batches are shared among that many workers, each running whole forward passes with
    /// single-threaded OpenBLAS: no synchronisation inside a pass, so both cores stay busy through
    /// the parts BLAS does not parallelise, and a descheduled thread delays only its own batch.
    /// - Parameter progress: called on the calling thread with (inputs done, total) as batches finish.
    func forEachBatch(of tokenized: [TokenizedInput], progress: ((Int, Int) -> Void)?,
                      forward: @Sendable ([TokenizedInput]) -> [Float],
                      collect: (_ indices: ArraySlice<Int>, _ output: [Float]) -> Void) {
        // Similar lengths together: less variation of attention sizes within a batch.
        let order = tokenized.indices.sorted { tokenized[$0].count < tokenized[$1].count || (tokenized[$0].count == tokenized[$1].count && $0 < $1) }
        var batches: [Range<Int>] = []   // ranges of `order`
        var start = 0
        while start < order.count {
            var end = start
            var tokens = 0
            while end < order.count && (end == start || tokens + tokenized[order[end]].count <= batchTokens) {
                tokens += tokenized[order[end]].count
                end += 1
            }
            batches.append(start..<end)
            start = end
        }
        let workers = min(BLAS.threads, batches.count)
        if workers <= 1 {
            for batch in batches {
                collect(order[batch], forward(batch.map { tokenized[order[$0]] }))
                progress?(batch.upperBound, order.count)
            }
            return
        }
        SingleThreadedBLAS.run {
            // Rounds of a few batches per worker, so that progress is reported from this thread.
            let roundSize = workers * 4
            var round = 0
            while round < batches.count {
                let roundBatches = Array(batches[round..<min(round + roundSize, batches.count)])
                let inputs = roundBatches.map { $0.map { tokenized[order[$0]] } }
                let queue = Mutex((next: 0, done: [(Int, [Float])]()))
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let mine = queue.withLock { q -> Int? in
                            guard q.next < inputs.count else { return nil }
                            q.next += 1
                            return q.next - 1
                        }
                        guard let mine else { return }
                        let output = forward(inputs[mine])
                        queue.withLock { $0.done.append((mine, output)) }
                    }
                }
                for (b, output) in queue.withLock({ $0.done }) { collect(order[roundBatches[b]], output) }
                round += roundBatches.count
                progress?(roundBatches[roundBatches.count - 1].upperBound, order.count)
            }
        }
    }
}

/// Runs work with OpenBLAS single-threaded (the caller supplies the parallelism), restoring the
/// thread count when the last concurrent user is done. The setting is process-wide: another BLAS
/// user meanwhile runs single-threaded too (slower, never different results).
enum SingleThreadedBLAS {
    private static let state = Mutex((users: 0, saved: 1))

    static func run(_ body: () -> Void) {
        state.withLock { s in
            if s.users == 0 { s.saved = BLAS.threads; BLAS.setThreads(1) }
            s.users += 1
        }
        defer {
            state.withLock { s in
                s.users -= 1
                if s.users == 0 { BLAS.setThreads(s.saved) }
            }
        }
        body()
    }
}
