import Foundation

/// `fute-db stats`: what the store holds.
struct StatsCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "stats",
            abstract: "Show spaces (dimension, metric, count), subjects, observations and file size.",
            discussion: "--json output is deterministic for an unchanged store (no timestamps): compare it before and after an operation to check the store is unchanged.",
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
                    .object([("name", .string(space.name)), ("dimension", .int(space.dimension)), ("metric", .string(space.metric.rawValue)),
                             ("embeddings", .int(space.count ?? 0))])
                })),
                ("subjects", .object([("total", .int(stats.datasets + stats.models + stats.examples)), ("dataset", .int(stats.datasets)), ("model", .int(stats.models)), ("example", .int(stats.examples))])),
                ("observations", .int(stats.observations)),
                ("file_size", .int(stats.fileSize)),
            ]).rendered)
            return
        }
        let examples = stats.examples > 0 ? ", \(stats.examples) examples" : ""
        io.print("store \(stats.path): \(stats.datasets + stats.models + stats.examples) subjects (\(stats.datasets) datasets, \(stats.models) models\(examples)), \(stats.observations) observations, \(stats.fileSize) bytes")
        var table = TextTable(headers: ["space", "dimension", "metric", "embeddings"], rightAligned: [1, 3])
        for space in stats.spaces {
            table.rows.append([space.name, String(space.dimension), space.metric.rawValue, String(space.count ?? 0)])
        }
        io.print(table.rendered)
    }
}
