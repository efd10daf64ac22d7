import Foundation
import FuteDB

/// `fute-db query models`: which model or model+prompt fits this dataset.
struct ModelsCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "models",
            abstract: "Rank model subjects (MTEs; an LLM+prompt is one model) by similarity to a dataset.",
            discussion: "Cosine similarity between the dataset's embedding (DTE) and each model's (MTE) in one space. --where filters on model metadata, e.g. --where family=llama.",
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("task", valueName: "NAME", help: "The dataset subject to match models to."),
                CommonOptions.k(default: 10),
                OptionSpec("where", arity: .repeated, valueName: "KEY=VALUE", help: "Only models whose metadata KEY equals VALUE."),
                CommonOptions.json,
            ])
    }

    let database: String, space: String, task: String, k: Int, filters: [MetadataFilter], json: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        space = try QueryCommand.requireSpace(arguments)
        guard let task = arguments.value("task") else { throw UsageError("--task is required: the dataset to find models for") }
        self.task = task
        k = try arguments.integer("k", default: 10)
        filters = try QueryCommand.filters(arguments)
        json = arguments.flag("json")
    }

    func run(io: CommandIO) throws {
        let store = try Stores.open(database, mustExist: true)
        let (info, centered, matches) = try store.models(space: space, task: task, k: k, filters: filters)
        if json {
            io.print(OutputJSON.array(matches.map { match in
                .object([("name", .string(match.name)), ("kind", .string(match.kind.rawValue)), ("score", .number(match.score)),
                         ("meta", .object(match.metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }))])
            }).rendered)
            return
        }
        let comparison = centered ? "centered cosine" : "metric cosine"
        io.print("space \(space) (\(comparison) for model selection, dimension \(info.dimension)): models for '\(task)'")
        var table = TextTable(headers: ["rank", "model", "cosine", "meta"], rightAligned: [0, 2])
        for (index, match) in matches.enumerated() {
            let meta = match.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            table.rows.append([String(index + 1), match.name, Format.score(match.score), meta])
        }
        io.print(table.rendered)
    }
}
