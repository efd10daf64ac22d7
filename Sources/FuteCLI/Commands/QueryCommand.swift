import Foundation
import FuteDB
import Readers

/// `fute-db query`: nearest subjects to a stored subject, a vector, or a file of vectors.
struct QueryCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "query",
            abstract: "Find the subjects nearest to a subject or vector (subcommands: transfer, models).",
            discussion: """
                Give exactly one of --name (a stored subject, left out of its own results), --vector '[...]' or \
                --vectors FILE (.fvecs, .npy or .jsonl; one result list per vector; with --exact they are scored \
                together as one BLAS matrix product). Scores use the space's metric: \
                cosine similarity or dot product (higher is nearer), squared L2 distance (lower is nearer). \
                --where key=value keeps subjects whose metadata matches (exact scoring).

                --json prints one JSON array of {"name", "kind", "score"} per query, one line each; otherwise an \
                aligned table under a header naming the space and metric.
                """,
            options: [
                CommonOptions.db, CommonOptions.space,
                OptionSpec("name", valueName: "SUBJECT", help: "Query with this stored subject's vector."),
                OptionSpec("vector", valueName: "JSON", help: "Query with this vector, e.g. '[0.1, 0.2]'."),
                OptionSpec("vectors", valueName: "FILE", help: "Query with every vector of a .fvecs/.npy/.jsonl file."),
                CommonOptions.k(default: 10),
                OptionSpec("kind", valueName: "dataset|model", help: "Only subjects of this kind."),
                OptionSpec("where", arity: .repeated, valueName: "KEY=VALUE", help: "Only subjects whose metadata KEY equals VALUE."),
                .flag("exact", help: "Exact (brute-force) search instead of the HNSW index."),
                OptionSpec("ef", valueName: "N", help: "HNSW search breadth (default: the space's efSearch)."),
                CommonOptions.json,
            ],
            subcommands: [TransferCommand.self, ModelsCommand.self])
    }

    enum Source { case name(String), vector([Float]), file(String) }

    let database: String
    let space: String
    let source: Source
    let k: Int
    let kind: SubjectKind?
    let filters: [MetadataFilter]
    let exact: Bool
    let ef: Int?
    let json: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        space = try Self.requireSpace(arguments)
        let given = ["name", "vector", "vectors"].filter { arguments.has($0) }
        guard given.count == 1 else {
            throw UsageError(given.isEmpty ? "give one of --name SUBJECT, --vector '[...]' or --vectors FILE"
                                           : "give only one of --name, --vector, --vectors (got --\(given.joined(separator: " and --")))")
        }
        if let name = arguments.value("name") {
            source = .name(name)
        } else if let text = arguments.value("vector") {
            do {
                source = .vector(try ParsedJSON.parse(text, source: "--vector").floatVector(source: "--vector"))
            } catch {
                throw UsageError("--vector must be a JSON array of finite numbers, e.g. --vector '[0.1, 0.2]': \(error.message)")
            }
        } else {
            source = .file(arguments.value("vectors") ?? "")
        }
        k = try arguments.integer("k", default: 10)
        kind = try arguments.choice("kind", ["dataset", "model"], default: nil).flatMap(SubjectKind.init(rawValue:))
        filters = try Self.filters(arguments)
        exact = arguments.flag("exact")
        ef = arguments.has("ef") ? try arguments.integer("ef", default: 64) : nil
        if ef != nil && exact { throw UsageError("--ef tunes the HNSW search; it has no effect with --exact (drop one)") }
        json = arguments.flag("json")
    }

    static func requireSpace(_ arguments: ParsedArguments) throws -> String {
        guard let space = arguments.value("space") else { throw UsageError("--space is required, e.g. --space tasks (fute-db stats lists spaces)") }
        return space
    }

    static func filters(_ arguments: ParsedArguments) throws -> [MetadataFilter] {
        do {
            return try arguments.all("where").map { try MetadataFilter(parsing: $0) }
        } catch let error as FuteError {
            throw UsageError("--where: \(error.message)")
        }
    }

    func run(io: CommandIO) throws {
        let store = try Stores.open(database, mustExist: true)
        let query: NearestRequest.Query
        switch source {
        case .name(let name):
            query = .subject(name)
        case .vector(let vector):
            query = .vectors([("the given vector", vector)])
        case .file(let path):
            query = .vectors(try VectorReader.read(path).records.map { ("\($0.name) (\(path):\($0.line))", $0.vector) })
        }
        let answer = try store.nearest(NearestRequest(space: space, query: query, k: k, kind: kind, filters: filters, exact: exact, ef: ef))
        let info = answer.space
        for (label, matches) in answer.results {
            if json {
                io.print(OutputJSON.array(matches.map { .object([("name", .string($0.name)), ("kind", .string($0.kind.rawValue)), ("score", .number($0.score))]) }).rendered)
            } else {
                let scoreName = answer.centered ? "cosine" : (info.metric == .l2 ? "distance²" : (info.metric == .ip ? "dot" : "cosine"))
                let comparison = answer.centered ? "centered cosine" : "metric \(info.metric.rawValue)"
                io.print("space \(space) (\(comparison), dimension \(info.dimension)): \(matches.count) nearest to \(label)")
                var table = TextTable(headers: ["rank", "name", "kind", scoreName], rightAligned: [0, 3])
                for (index, match) in matches.enumerated() {
                    table.rows.append([String(index + 1), match.name, match.kind.rawValue, Format.score(match.score)])
                }
                io.print(table.rendered)
                if answer.results.count > 1 { io.print("") }
            }
        }
    }
}
