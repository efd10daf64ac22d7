import Foundation

/// `fute-db delete`: remove embeddings from a space, or whole subjects from the store.
struct DeleteCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "delete",
            abstract: "Remove subjects' embeddings from a space (--space), or whole subjects everywhere (--subjects).",
            discussion: """
                Names come from the NAME arguments, then from --names FILE (one per line; blank lines are skipped but \
                counted). With --space NAME the embeddings of those subjects are removed from that space (the HNSW graph \
                is repaired in the same transaction); the subjects and their other embeddings stay. With --subjects (no \
                --space) the subjects themselves are deleted: their embeddings in every space, the transfer observations \
                they appear in, and their metadata.

                Every name is checked before anything is written: the space must exist, every name must have an \
                embedding in it (with --subjects: must be a stored subject), and no name may appear twice. A bad name \
                exits 1 with `fute-db: error: FILE:LINE: ...` (or `argument N: ...`) and leaves the store unchanged. \
                Names are then deleted in input order in batches of --batch-size, one transaction each: after a crash \
                the store holds a whole number of batches' deletions, in order.
                """,
            options: [
                CommonOptions.db,
                OptionSpec("space", valueName: "NAME", help: "Space to remove the embeddings from (required unless --subjects)."),
                OptionSpec.flag("subjects", help: "Delete whole subjects everywhere (embeddings in every space, observations, metadata)."),
                OptionSpec("names", valueName: "FILE", help: "More names, one per line."),
                OptionSpec("batch-size", valueName: "N", help: "Names per write transaction (default: 1000)."),
                OptionSpec("progress-log", valueName: "FILE", help: "After each committed batch, append and fsync a line 'batch N records FIRST-LAST committed TOTAL'."),
            ],
            positionals: PositionalSpec("NAME", minimum: 0, maximum: nil, help: "Subject names."))
    }

    let database: String
    let space: String?
    let batchSize: Int
    let namesFile: String?
    let arguments: [String]
    let progressLog: String?

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        let space = arguments.value("space")
        if arguments.flag("subjects") {
            if space != nil {
                throw UsageError("--space and --subjects exclude each other: --space NAME removes embeddings from one space, --subjects deletes whole subjects")
            }
        } else if space == nil {
            throw UsageError("--space is required: the space to remove embeddings from (or --subjects to delete whole subjects)")
        }
        self.space = space
        batchSize = try arguments.integer("batch-size", default: 1000)
        namesFile = arguments.value("names")
        progressLog = arguments.value("progress-log")
        self.arguments = arguments.positionals
        guard namesFile != nil || !self.arguments.isEmpty else {
            throw UsageError("missing names: give NAME arguments or --names FILE")
        }
    }

    /// A name and where it came from, for error messages.
    private struct Entry {
        var name: String
        var origin: String
    }

    /// The names in input order (arguments, then the file), each with its origin.
    private func readNames() throws -> [Entry] {
        var entries = arguments.enumerated().map { Entry(name: $0.element, origin: "argument \($0.offset + 1)") }
        if let namesFile {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: namesFile, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw CommandError("\(namesFile):0: --names: no such file; give a file with one name per line")
            }
            guard let data = FileManager.default.contents(atPath: namesFile) else {
                throw CommandError("\(namesFile):0: --names: cannot read the file; check permissions")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw CommandError("\(namesFile):0: --names: not UTF-8 text; give one name per line")
            }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last == "" { lines.removeLast() }
            for (index, line) in lines.enumerated() {
                let name = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
                if name.allSatisfy(\.isWhitespace) { continue }
                entries.append(Entry(name: name, origin: "\(namesFile):\(index + 1)"))
            }
        }
        var seen: [String: String] = [:]
        for entry in entries {
            if let first = seen[entry.name] {
                throw CommandError("\(entry.origin): '\(entry.name)' is listed twice (first at \(first)); list each name once")
            }
            seen[entry.name] = entry.origin
        }
        guard !entries.isEmpty else {
            throw CommandError("\(namesFile ?? "--names"):0: no names to delete; give one name per line")
        }
        return entries
    }

    func run(io: CommandIO) throws {
        // 1. Validate everything; nothing is written if any name is bad.
        let entries = try readNames()
        let store = try Stores.open(database, mustExist: true, writable: true)
        if let space { _ = try store.space(space) }
        let present = try store.present(names: entries.map(\.name), space: space)
        if let missing = zip(entries, present).first(where: { !$0.1 })?.0 {
            let what = space.map { "has no embedding in space '\($0)'" } ?? "is not a stored subject"
            throw CommandError("\(missing.origin): '\(missing.name)' \(what); check the name (fute-db stats lists the spaces); nothing was deleted")
        }
        // 2. Delete in batches.
        let names = entries.map(\.name)
        let showProgress = io.stderrIsTerminal && names.count > batchSize
        let log = try progressLog.map(ProgressLog.init(path:))
        try store.delete(names: names, space: space, batchSize: batchSize) { batch, range in
            try log?.append("batch \(batch) records \(range.lowerBound)-\(range.upperBound - 1) committed \(range.upperBound)")
            if showProgress { io.progress("\rfute-db: deleted \(range.upperBound)/\(names.count)") }
        }
        if showProgress { io.progress("\n") }
        if let space {
            io.note("fute-db: removed \(names.count) embeddings from space '\(space)'")
        } else {
            io.note("fute-db: deleted \(names.count) subjects")
        }
    }
}
