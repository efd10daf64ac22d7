import Foundation
import Readers

/// `fute-db observe`: store observed transfer results.
struct ObserveCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "observe",
            abstract: "Store observed transfer results (source → target scores) from a JSONL file.",
            discussion: """
                One object per line: {"source": str, "target": str, "score": number, "metric"?: str} — e.g. target \
                accuracy after intermediate training on the source, or the gain over no transfer. metric defaults to \
                "score"; other keys are refused. The file is validated completely first, then written in one \
                transaction, so bad input leaves the store unchanged. A (source, target, metric) already stored is replaced.
                """,
            options: [CommonOptions.db],
            positionals: PositionalSpec("FILE", minimum: 1, maximum: 1, help: "give the observations file (.jsonl)"))
    }

    let database: String, file: String

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        file = arguments.positionals[0]
    }

    func run(io: CommandIO) throws {
        let records = try ObservationReader.read(file)
        let store = try Stores.open(database, mustExist: false)
        try store.addObservations(records, file: file)
        io.note("fute-db: stored \(records.count) observations from \(file)")
    }
}
