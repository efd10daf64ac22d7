import Foundation
import Ingest

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

/// `fute-db stats`: what the store holds.
struct StatsCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "stats",
            abstract: "Show spaces (dimension, metric, count), subjects, observations and file size.",
            options: [CommonOptions.db, CommonOptions.json])
    }

    let database: String, json: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        json = arguments.flag("json")
    }

    func run(io: CommandIO) throws {
        let stats = try Stores.open(database, mustExist: true).stats()
        if json {
            io.print(OutputJSON.object([
                ("path", .string(stats.path)),
                ("spaces", .array(stats.spaces.map { space in
                    .object([("name", .string(space.name)), ("dimension", .int(space.dimension)), ("metric", .string(space.metric)),
                             ("embeddings", .int(space.count))])
                })),
                ("subjects", .object([("total", .int(stats.datasets + stats.models)), ("dataset", .int(stats.datasets)), ("model", .int(stats.models))])),
                ("observations", .int(stats.observations)),
                ("file_size", .int(stats.fileSize)),
            ]).rendered)
            return
        }
        io.print("store \(stats.path): \(stats.datasets + stats.models) subjects (\(stats.datasets) datasets, \(stats.models) models), \(stats.observations) observations, \(stats.fileSize) bytes")
        var table = TextTable(headers: ["space", "dimension", "metric", "embeddings"], rightAligned: [1, 3])
        for space in stats.spaces {
            table.rows.append([space.name, String(space.dimension), space.metric, String(space.count)])
        }
        io.print(table.rendered)
    }
}
