import Encoder
import Foundation
import Readers

/// `fute-db embed`: sentence embeddings (or token ids) of JSONL texts, one JSON array per line.
struct EmbedCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "embed",
            abstract: "Print the encoder's sentence embedding (or token ids) of each {\"text\", \"text_pair\"?} line.",
            discussion: """
                Reads JSON lines with "text" and optional "text_pair" (a pair is encoded jointly, \
                [CLS] text [SEP] text_pair [SEP]) and prints one JSON array per input line, in order: the \
                mean-pooled, L2-normalised embedding, or with --tokens the token ids. A dataset's other fields \
                ("label", "probs", "value", "choices") are accepted and ignored; any other key is an error naming \
                its line (as in every dataset file). Results are printed 256 lines at a time as they are computed (progress on stderr when \
                it is a terminal); a NaN or infinite value stops the command with an error naming its line, after \
                the lines before it. The encoder is a local Hugging Face folder (config.json, vocab.txt, model.safetensors); \
                fetch all-MiniLM-L6-v2 with Tools/fetch-minilm.sh DIR.
                """,
            options: [
                OptionSpec("encoder", valueName: "DIR", help: "Encoder folder (e.g. .build/models/all-MiniLM-L6-v2)."),
                OptionSpec.flag("tokens", help: "Print token ids instead of embeddings."),
                OptionSpec.flag("benchmark", help: "Print throughput (sentences/s, median of 3 timed passes after a warm-up) instead of embeddings."),
                OptionSpec("threads", valueName: "N", help: "OpenBLAS threads (default: OpenBLAS's own choice; --benchmark: 1)."),
            ],
            positionals: PositionalSpec("FILE", minimum: 1, maximum: 1, help: "JSONL file of {\"text\", \"text_pair\"?}."))
    }

    let encoderDirectory: String
    let tokensOnly: Bool
    let file: String
    let benchmark: Bool
    let threads: Int?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        guard let encoder = arguments.value("encoder") else {
            throw UsageError("--encoder DIR is required: the encoder folder, e.g. --encoder .build/models/all-MiniLM-L6-v2 (fetch it with Tools/fetch-minilm.sh DIR)")
        }
        encoderDirectory = encoder
        tokensOnly = arguments.flag("tokens")
        file = arguments.positionals[0]
        benchmark = arguments.flag("benchmark")
        threads = arguments.has("threads") ? try arguments.integer("threads", default: 1) : nil
        if benchmark && tokensOnly { throw UsageError("--benchmark and --tokens exclude each other; drop one") }
    }

    func run(io: CommandIO) throws {
        let dataset = try TaskDataset.read(path: file, requireTargets: false)
        let encoder = try TextEncoder(directory: encoderDirectory)
        let inputs = dataset.examples.map(\.input)
        if benchmark {
            io.print(EncoderBenchmark.run(encoder: encoder, inputs: inputs, threads: threads ?? 1).description)
            return
        }
        if let threads { TextEncoder.setThreads(threads) }
        if tokensOnly {
            for input in inputs {
                io.print("[" + encoder.tokenize(input).inputIDs.map(String.init).joined(separator: ",") + "]")
            }
            return
        }
        // Streamed: each chunk is encoded and printed before the next is started, so output begins
        // after the first chunk and memory for results stays bounded whatever the input's length.
        let progress = EncoderProgress(io: io, label: "encoding")
        let total = inputs.count
        var start = 0
        while start < total {
            let end = min(start + Self.chunkSize, total)
            let done = start
            let embeddings = encoder.encode(Array(inputs[start..<end])) { finished, _ in progress.update(done + finished, total) }
            for (embedding, example) in zip(embeddings, dataset.examples[start..<end]) {
                io.print(try FloatFormatting.jsonArray(embedding, file: file, line: example.line))
            }
            start = end
        }
        progress.finish()
    }

    /// Lines encoded (and printed) together: enough to fill the encoder's length-sorted batches and
    /// both cores, small enough that the first results appear within seconds.
    static let chunkSize = 256
}

/// A `\r` progress line on stderr, shown only when stderr is a terminal.
final class EncoderProgress: @unchecked Sendable {
    // @unchecked: used from the one thread running the command.
    private let io: CommandIO
    private let label: String
    private let enabled: Bool

    init(io: CommandIO, label: String) {
        self.io = io
        self.label = label
        enabled = io.stderrIsTerminal
    }

    func update(_ done: Int, _ total: Int) {
        if enabled { io.progress("\rfute-db: \(label) \(done)/\(total)") }
    }

    func finish() {
        if enabled { io.progress("\n") }
    }
}

/// JSON text for float vectors (shortest round-trip decimal form).
enum FloatFormatting {
    /// The JSON array of `values`.
    /// - Parameters:
    ///   - file, line: the input line the vector was computed from, named in the error.
    /// - Throws: ``CommandError`` when a value is NaN or infinite: JSON has no such numbers, and
    ///   printing a stand-in would pass a broken embedding off as a real one.
    static func jsonArray(_ values: [Float], file: String, line: Int) throws -> String {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw CommandError("\(file):\(line): the encoder's output has a NaN or infinite value (dimension \(index) of \(values.count)); the encoder's weights are probably damaged — fetch the model again (Tools/fetch-minilm.sh DIR)")
        }
        return "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
    }
}
