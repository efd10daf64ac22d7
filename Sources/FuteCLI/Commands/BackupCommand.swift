import Foundation

/// `fute-db backup`: a consistent, compacted copy of a live store.
struct BackupCommand: FuteCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            name: "backup",
            abstract: "Copy the store, consistently and compacted, into a new directory while it stays in use.",
            discussion: """
                Copies one read snapshot (LMDB mdb_env_copy2), so readers and writers may carry on. With \
                compaction (the default) free pages are left out: a store rewritten by many commits shrinks \
                to its live pages. The copy is a complete store; point --db at it to use it. DEST must not \
                exist or must be an empty directory.
                """,
            options: [CommonOptions.db, OptionSpec.flag("no-compact", help: "Copy free pages too (faster, larger).")],
            positionals: PositionalSpec("DEST", minimum: 1, maximum: 1, help: "give the directory to copy into"))
    }

    let database: String, destination: String, compact: Bool

    init(parsing arguments: ParsedArguments, io: CommandIO) throws {
        database = CommonOptions.databasePath(arguments, io: io)
        destination = arguments.positionals[0]
        compact = !arguments.flag("no-compact")
    }

    func run(io: CommandIO) throws {
        let store = try Stores.open(database, mustExist: true)
        let before = try store.stats().fileSize
        try store.backup(to: destination, compact: compact)
        let after = try Stores.open(destination, mustExist: true).stats().fileSize
        io.note("copied \(database) (\(before) bytes) to \(destination) (\(after) bytes)")
    }
}
