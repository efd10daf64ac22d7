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
        let info = try store.space(space)
        var queries: [(label: String, vector: [Float], excluding: String?)] = []
        switch source {
        case .name(let name):
            queries = [("'\(name)'", try store.vector(space: space, subject: name), name)]
        case .vector(let vector):
            queries = [("the given vector", vector, nil)]
        case .file(let path):
            queries = try VectorReader.read(path).records.map { ("\($0.name) (\(path):\($0.line))", $0.vector, nil) }
        }
        for query in queries where query.vector.count != info.dimension {
            throw CommandError("\(query.label) has dimension \(query.vector.count) but space '\(space)' has dimension \(info.dimension); vectors from different spaces are never compared")
        }
        // Filters, and spaces compared by centered cosine (exact, in the library too), are answered
        // from one snapshot of the query layer, which also says whether centering is in effect.
        let snapshot = filters.isEmpty && info.comparison == .metric ? nil : try store.snapshot(space: space)
        // Many exact queries without filters: one BLAS matrix product instead of one scan each.
        let batched = (exact && snapshot == nil && queries.count > 1)
            ? try store.nearestBatch(space: info, vectors: queries.map(\.vector), k: k, kind: kind) : nil
        for (position, query) in queries.enumerated() {
            let matches: [TaskMatch]
            if let batched {
                matches = batched[position]
            } else if let snapshot {
                matches = try TaskQueries.nearest(in: snapshot, to: query.vector, k: k, kind: kind, filters: filters, excluding: query.excluding)
            } else {
                matches = try store.nearest(space: info, vector: query.vector, k: k, kind: kind, exact: exact, ef: ef, excluding: query.excluding)
            }
            if json {
                io.print(OutputJSON.array(matches.map { .object([("name", .string($0.name)), ("kind", .string($0.kind.rawValue)), ("score", .number($0.score))]) }).rendered)
            } else {
                let centered = snapshot?.center != nil
                let scoreName = centered ? "cosine" : (info.metric == .l2 ? "distance²" : (info.metric == .ip ? "dot" : "cosine"))
                let comparison = centered ? "centered cosine" : "metric \(info.metric.rawValue)"
                io.print("space \(space) (\(comparison), dimension \(info.dimension)): \(matches.count) nearest to \(query.label)")
                var table = TextTable(headers: ["rank", "name", "kind", scoreName], rightAligned: [0, 3])
                for (index, match) in matches.enumerated() {
                    table.rows.append([String(index + 1), match.name, match.kind.rawValue, Format.score(match.score)])
                }
                io.print(table.rendered)
                if queries.count > 1 { io.print("") }
            }
        }
    }
}
