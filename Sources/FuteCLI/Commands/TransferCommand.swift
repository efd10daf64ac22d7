import Foundation
import FuteDB

/// `fute-db query transfer`: which source tasks to train on before a target.
struct TransferCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "transfer",
            abstract: "Rank source tasks for intermediate training before a target task.",
            discussion: """
                Sources are ranked by a blended score: the z-scored similarity to the target — example-level retrieval \
                when the space keeps its datasets' examples (ingest --method examples: each target example retrieves its \
                nearest examples from the HNSW-indexed example space; a source scores the mean of its 10 best per \
                target example), else the cosine of the task vectors — plus the z-scored prediction, predicted being the mean z-scored observed \
                score of that source on the target's 5 most similar observed targets (by rank). Without observations it \
                is the similarity order; the first line says which method produced the order. \
                The target's own observations are shown (observed) but never used. Columns: similarity, predicted, \
                observed, evidence (neighbour observations used), blended.
                """,
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("target", valueName: "NAME", help: "The target task."),
                CommonOptions.k(default: 10),
                OptionSpec("sources", valueName: "dataset|model|all", help: "Which subjects may be sources (default: dataset: what you can train on first; `all` adds models)."),
                OptionSpec("metric", valueName: "NAME", help: "Observation metric to use (default: score)."),
                OptionSpec("neighbours", valueName: "N", help: "Observed neighbour targets consulted (default: 5)."),
                CommonOptions.json,
            ])
    }

    let database: String, space: String, target: String, k: Int, sources: SubjectKind?, metric: String, neighbours: Int, json: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        space = try QueryCommand.requireSpace(arguments)
        guard let target = arguments.value("target") else { throw UsageError("--target is required: the task you want to improve") }
        self.target = target
        k = try arguments.integer("k", default: 10)
        let sources = try arguments.choice("sources", ["dataset", "model", "all"], default: "dataset")
        self.sources = sources.flatMap(SubjectKind.init(rawValue:))  // "all" is no kind: every subject
        metric = arguments.value("metric") ?? "score"
        neighbours = try arguments.integer("neighbours", default: TransferQueries.defaultNeighbours, minimum: 0)
        json = arguments.flag("json")
    }

    func run(io: CommandIO) throws {
        let store = try Stores.open(database, mustExist: true)
        let (info, ranking) = try store.transferRanking(space: space, target: target, k: k, sources: sources, metric: metric, neighbours: neighbours)
        let rows = ranking.rows
        if json {
            io.print(OutputJSON.array(rows.map { row in
                .object([("source", .string(row.source)), ("kind", .string(row.kind.rawValue)), ("similarity", .number(row.similarity)),
                         ("predicted", .number(row.predicted)), ("observed", .number(row.observed)), ("evidence", .int(row.evidence)),
                         ("blended", .number(row.blended)), ("method", .string(ranking.method))])
            }).rendered)
            return
        }
        io.print("space \(space) (dimension \(info.dimension)): sources for target '\(target)' (observations: \(metric))")
        io.print("order: \(ranking.method)")
        var table = TextTable(headers: ["rank", "source", "kind", "similarity", "predicted", "observed", "evidence", "blended"],
                              rightAligned: [0, 3, 4, 5, 6, 7])
        for (index, row) in rows.enumerated() {
            table.rows.append([String(index + 1), row.source, row.kind.rawValue, Format.score(row.similarity), Format.score(row.predicted),
                               Format.score(row.observed), String(row.evidence), Format.score(row.blended)])
        }
        io.print(table.rendered)
    }
}
