import Foundation
import Readers

/// `fute-db unsupervised`: sample the unsupervised inputs U that models are run on for MTEs.
struct UnsupervisedCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "unsupervised",
            abstract: "Sample N unsupervised inputs U from several JSONL corpora (for model task embeddings).",
            discussion: """
                Each --from file is a JSONL corpus of {"text", "text_pair"?, …} (labels are ignored); its name is \
                the file name without extension. Corpora named by --exclude (e.g. the evaluation datasets) are left \
                out. The sample is stratified: corpora take turns (round-robin, each shuffled with --seed) until N \
                distinct inputs are drawn or all are used. Output: one {"text", "text_pair"?, "source"} per line. \
                Run your model on U and write {"text", "text_pair"?, "probs": [..] | "label": str | "value": number} \
                per line, then `fute-db ingest --predictions FILE --name MODEL …`.
                """,
            options: [
                OptionSpec("from", arity: .repeated, valueName: "FILE", help: "A JSONL corpus (repeat for several)."),
                OptionSpec("n", valueName: "N", help: "Number of inputs to draw."),
                OptionSpec("exclude", arity: .repeated, valueName: "NAME", help: "Leave out the corpus with this name (repeatable)."),
                OptionSpec("seed", valueName: "S", help: "Sampling seed (default: 0)."),
                OptionSpec("out", valueName: "FILE", help: "Write U here (default: stdout)."),
            ])
    }

    let corpora: [String]
    let count: Int
    let exclude: Set<String>
    let seed: UInt64
    let out: String?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        corpora = arguments.all("from")
        guard !corpora.isEmpty else {
            throw UsageError("--from FILE is required (repeat it for several corpora), e.g. --from data/sst2.jsonl --from data/trec.jsonl")
        }
        guard arguments.has("n") else { throw UsageError("--n N is required: how many inputs to draw, e.g. --n 1000") }
        count = try arguments.integer("n", default: 1000)
        exclude = Set(arguments.all("exclude"))
        seed = try SeedOption.parse(arguments)
        out = arguments.value("out")
        let names = Set(corpora.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension })
        if let unknown = exclude.subtracting(names).sorted().first {
            throw UsageError("--exclude \(unknown) names no --from corpus (corpora: \(names.sorted().joined(separator: ", ")))")
        }
    }

    func run(io: CommandIO) throws {
        let items = try UnsupervisedSampler.sample(from: corpora, count: count, exclude: exclude, seed: seed)
        let text = try UnsupervisedSampler.jsonLines(items)
        if let out {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw CommandError("cannot write --out \(out): \(error.localizedDescription)")
            }
            let sources = Dictionary(grouping: items, by: \.source).mapValues(\.count)
            io.note("fute-db: wrote \(items.count) inputs to \(out) (" + sources.keys.sorted().map { "\($0): \(sources[$0] ?? 0)" }.joined(separator: ", ") + ")")
        } else {
            for line in text.split(separator: "\n") { io.print(String(line)) }
        }
        if items.count < count { io.note("fute-db: only \(items.count) distinct inputs available (asked for \(count))") }
    }
}

/// `--seed S`: a non-negative integer (UInt64).
enum SeedOption {
    static func parse(_ arguments: ParsedArguments) throws -> UInt64 {
        guard let text = arguments.value("seed") else { return 0 }
        guard let seed = UInt64(text) else {
            throw UsageError("--seed \(text) is not a non-negative integer; e.g. --seed 0")
        }
        return seed
    }
}
