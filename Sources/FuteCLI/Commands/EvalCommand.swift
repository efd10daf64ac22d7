import Foundation
import FuteDB
import Readers

/// `fute-db eval`: how good are the transferability rankings, against observed results.
struct EvalCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "eval",
            abstract: "Score transferability rankings against observed transfer results (NDCG@k, Regret@k, ρ).",
            discussion: """
                For each target t: candidates = sources with an observed score for t (source ≠ t, embedded in the space); \
                predicted order = descending cosine similarity (ties by name). \
                NDCG@k = DCG@k/IDCG@k with gains 2^rel − 1 and discounts 1/log2(i+1) for 1-based position i (targets with \
                IDCG ≤ 0 are skipped and counted). The relevance rel is chosen with --gain: `score` (default) = the observed \
                score; `rank` = TaskWeb's (Kim et al. 2023): n − the source's 0-based rank among the n candidates by \
                descending observed score (ties by name), comparable with published TaskWeb figures. \
                Regret@k = 100·(max score − best score in the top k)/max score and ρ = mean predicted rank of the truly \
                best source use the observed scores under either gain. Also reported: the blended ranking of \
                `query transfer` scored leave-one-target-out (the target's own observations hidden) and the expected \
                values of a random ranking.
                Truth is the stored observations, or --truth FILE.jsonl (observe's format); with --truth the blended \
                ranking is also made from the file's observations, not the stored ones.
                """,
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("truth", valueName: "FILE", help: "Observed results to score against (default: the stored ones)."),
                CommonOptions.k(default: 3, help: "Cut-off of NDCG@k and Regret@k"),
                OptionSpec("metric", valueName: "NAME", help: "Observation metric (default: score)."),
                OptionSpec("neighbours", valueName: "N", help: "Neighbour targets for the blended ranking (default: 5)."),
                OptionSpec("gain", valueName: "rank|score", help: "NDCG relevance: the observed score (default), or rank = TaskWeb's n − gold rank."),
                CommonOptions.json,
            ])
    }

    let database: String, space: String, truth: String?, k: Int, metric: String, neighbours: Int, gain: RelevanceGain, json: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        space = try QueryCommand.requireSpace(arguments)
        truth = arguments.value("truth")
        k = try arguments.integer("k", default: 3)
        metric = arguments.value("metric") ?? "score"
        neighbours = try arguments.integer("neighbours", default: TransferQueries.defaultNeighbours, minimum: 0)
        let gainName = try arguments.choice("gain", RelevanceGain.allCases.map(\.rawValue), default: RelevanceGain.score.rawValue)
        gain = gainName.flatMap(RelevanceGain.init(rawValue:)) ?? .score
        json = arguments.flag("json")
    }

    func run(io: CommandIO) throws {
        let truthRecords = try truth.map { file in
            try ObservationReader.read(file).map { TransferRecord(source: $0.source, target: $0.target, metric: $0.metric, score: $0.score) }
        }
        let store = try Stores.open(database, mustExist: true)
        // With --truth, the blended ranking learns from the file's observations too (leave-one-target-out).
        let report = try store.evaluateTransfer(space: space, truth: truthRecords, truthFile: truth, k: k, metric: metric,
                                                neighbours: neighbours, gain: gain)
        if json {
            io.print(Self.json(report, k: k, gain: gain).rendered)
        } else {
            io.print(Self.table(report, space: space, k: k, gain: gain))
        }
    }

    static func summaryFields(_ summary: EvaluationSummary) -> [(String, OutputJSON)] {
        [("targets", .int(summary.targets)), ("skipped", .int(summary.skipped)),
         ("ndcg@k", .number(summary.ndcg)), ("regret@k", .number(summary.regret)), ("rho", .number(summary.rho))]
    }

    static func json(_ report: TransferEvaluationReport, k: Int, gain: RelevanceGain = .score) -> OutputJSON {
        let summary = report.similarity
        let blendedByTarget = Dictionary(report.blended.perTarget.map { ($0.target, $0) }, uniquingKeysWith: { a, _ in a })
        let perTarget: [OutputJSON] = summary.perTarget.map { target in
            var fields: [(String, OutputJSON)] = [
                ("target", .string(target.target)), ("candidates", .int(target.candidates)),
                ("ndcg@k", .number(target.ndcg)), ("regret@k", .number(target.regret)), ("rho", .number(target.rho)),
                ("best", .string(target.best)), ("predicted", .array(target.predictedOrder.map { .string($0) })),
                ("random", .object([("ndcg@k", .number(target.randomNDCG)), ("regret@k", .number(target.randomRegret)), ("rho", .number(target.randomRho))])),
            ]
            if let blended = blendedByTarget[target.target] {
                fields.append(("blended", .object([("ndcg@k", .number(blended.ndcg)), ("regret@k", .number(blended.regret)), ("rho", .number(blended.rho))])))
            }
            if let reason = target.skipped { fields.append(("skipped", .string(reason))) }
            return .object(fields)
        }
        return .object(summaryFields(summary) + [
            ("k", .int(k)),
            ("gain", .string(gain.rawValue)),
            ("per_target", .array(perTarget)),
            ("random", .object([("ndcg@k", .number(summary.randomNDCG)), ("regret@k", .number(summary.randomRegret)), ("rho", .number(summary.randomRho))])),
            ("blended", .object(summaryFields(report.blended))),
        ])
    }

    static func table(_ report: TransferEvaluationReport, space: String, k: Int, gain: RelevanceGain = .score) -> String {
        let summary = report.similarity
        let gainNote = gain == .score ? "" : ", \(gain.rawValue) gain"
        let similarity = report.similarityKind.rawValue.replacingOccurrences(of: "-", with: " ")
        var lines = ["space \(space) (\(similarity) similarity): \(summary.targets) targets evaluated, \(summary.skipped) skipped, k = \(k)\(gainNote)"]
        var table = TextTable(headers: ["ranking", "ndcg@\(k)", "regret@\(k)", "rho"], rightAligned: [1, 2, 3])
        table.rows = [
            ["similarity", Format.score(summary.ndcg), Format.score(summary.regret), Format.score(summary.rho)],
            ["blended", Format.score(report.blended.ndcg), Format.score(report.blended.regret), Format.score(report.blended.rho)],
            ["random (expected)", Format.score(summary.randomNDCG), Format.score(summary.randomRegret), Format.score(summary.randomRho)],
        ]
        lines.append(table.rendered)
        lines.append("")
        var perTarget = TextTable(headers: ["target", "sources", "ndcg@\(k)", "regret@\(k)", "rho", "best", "note"], rightAligned: [1, 2, 3, 4])
        for target in summary.perTarget {
            perTarget.rows.append([target.target, String(target.candidates), Format.score(target.ndcg), Format.score(target.regret),
                                   target.rho.map { String(Int($0)) } ?? "-", target.best ?? "-", target.skipped.map { "skipped: \($0)" } ?? ""])
        }
        lines.append(perTarget.rendered)
        return lines.joined(separator: "\n")
    }
}
