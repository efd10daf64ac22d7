import Foundation
import FuteDB

/// `fute-db check`: verifies a store's integrity (issue 6) and lists every problem found.
struct CheckCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "check",
            abstract: "Verify a store's integrity: records, vectors, HNSW graphs, schema version.",
            discussion: """
            Reads every record in one snapshot (writers may continue meanwhile) and checks: the schema \
            version is known; every embedding's subject and space exist; vector lengths match their \
            space; no NaN or infinity is stored; subject names and ids agree both ways; observations \
            name existing subjects; each space's HNSW graph is sound (every live node reachable from the \
            entry point, no link to a missing or deleted node, degrees and levels within bounds) and holds \
            exactly the space's embeddings. The store is opened read-only and never changed.

            Exit status 0 when sound; 1 with the findings listed on stdout (one per line, or --json).
            """,
            options: [CommonOptions.db, CommonOptions.json,
                      OptionSpec("limit", valueName: "N", help: "List at most N findings (default: 1000).")])
    }

    let database: String
    let json: Bool
    let limit: Int

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        json = arguments.flag("json")
        if let text = arguments.value("limit") {
            guard let value = Int(text), value >= 1 else {
                throw UsageError("--limit must be a whole number of at least 1, got '\(text)'")
            }
            limit = value
        } else {
            limit = 1_000
        }
    }

    /// Why there is no store at `path` ("the directory does not exist", "the directory is empty"),
    /// or `nil` when something is there for the check to judge.
    static func absentStore(at path: String) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "the directory does not exist" }
        guard isDirectory.boolValue else { return nil }  // a file: the open reports it as not a store
        let contents: [String]
        do { contents = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw CommandError("cannot list \(path) (\(error.localizedDescription)); check its permissions")
        }
        return contents.isEmpty ? "the directory is empty" : nil
    }

    static func json(_ finding: CheckFinding) -> OutputJSON {
        .object([("area", .string(finding.area.rawValue)), ("message", .string(finding.message)),
                 ("space", .string(finding.space)), ("subject", .string(finding.subject))])
    }

    func run(io: CommandIO) throws {
        if let absence = try Self.absentStore(at: database) {
            throw CommandError("no store at \(database) (\(absence)), so there is nothing to check; a store is created by its first "
                               + "ingest (`fute-db ingest --db \(database) --space NAME FILE`), or pass --db DIR or set FUTE_DB to check an existing one")
        }
        let report: CheckReport
        do {
            var configuration = Configuration()
            configuration.readOnly = true
            configuration.createIfMissing = false
            report = try FuteDatabase(path: database, configuration: configuration).check(limit: limit)
        } catch let error as FuteError {
            // A store that does not open is one finding: print it the same way, then fail.
            report = CheckReport(findings: [CheckFinding(area: .schema, message: error.description)])
        }
        if json {
            io.print(OutputJSON.object([
                ("path", .string(database)),
                ("sound", .bool(report.isSound)),
                ("schema_version", .int(report.schemaVersion)),
                ("spaces", .int(report.spaces)),
                ("subjects", .int(report.subjects)),
                ("embeddings", .int(report.embeddings)),
                ("observations", .int(report.observations)),
                ("indexed_spaces", .int(report.indexedSpaces)),
                ("truncated", .bool(report.truncated)),
                ("findings", .array(report.findings.map(Self.json))),
                ("warnings", .array(report.warnings.map(Self.json))),
            ]).rendered)
        } else {
            io.print("store \(database): schema \(report.schemaVersion), \(report.spaces) spaces, \(report.subjects) subjects, "
                     + "\(report.embeddings) embeddings, \(report.observations) observations; HNSW checked in \(report.indexedSpaces) spaces")
            for finding in report.findings { io.print(finding.description) }
            for warning in report.warnings { io.print("warning: \(warning.description)") }
            if report.truncated { io.print("… more findings not listed (raise --limit)") }
            if report.isSound { io.print("sound") }
        }
        if !report.isSound {
            let count = report.truncated ? "more than \(report.findings.count)" : "\(report.findings.count)"
            throw CommandError("check found \(count) problem\(report.findings.count == 1 ? "" : "s") in \(database) (listed on stdout); restore the store from a backup, or re-ingest the subjects named")
        }
    }
}
