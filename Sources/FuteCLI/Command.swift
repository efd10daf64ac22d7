import Foundation

/// Exit statuses of `fute-db`.
public enum ExitStatus: Int32, Sendable {
    /// Success.
    case ok = 0
    /// A runtime failure (bad input file, missing subject, store error).
    case failure = 1
    /// A usage mistake on the command line (BSD `EX_USAGE`).
    case usage = 64
}

/// Describes a command for parsing and help: one value per command type.
public struct CommandConfiguration {
    /// The word after `fute-db` (or after the parent command), e.g. `ingest`.
    public var name: String
    /// One-line summary shown in the command list.
    public var abstract: String
    /// Paragraphs shown in `--help` after the abstract.
    public var discussion: String
    /// The option table (parsing and help both read it).
    public var options: [OptionSpec]
    /// Positional arguments.
    public var positionals: PositionalSpec
    /// Nested commands (`query transfer`), chosen by the first argument.
    public var subcommands: [any FuteCommand.Type]

    /// Creates a configuration.
    public init(name: String, abstract: String, discussion: String = "", options: [OptionSpec] = [],
                positionals: PositionalSpec = .none, subcommands: [any FuteCommand.Type] = []) {
        self.name = name
        self.abstract = abstract
        self.discussion = discussion
        self.options = options
        self.positionals = positionals
        self.subcommands = subcommands
    }
}

/// Where a command writes: data to stdout, diagnostics to stderr.
public final class CommandIO: @unchecked Sendable {
    // @unchecked: used by one command on one thread; FileHandle writes are themselves thread-safe.
    /// Environment variables (for `$FUTE_DB`).
    public let environment: [String: String]
    private let out: FileHandle
    private let err: FileHandle

    /// Creates an IO bound to the process's standard streams.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                out: FileHandle = .standardOutput, err: FileHandle = .standardError) {
        self.environment = environment
        self.out = out
        self.err = err
    }

    /// Writes data (a result) to stdout, with a trailing newline.
    public func print(_ text: String) { out.write(Data((text + "\n").utf8)) }
    /// Writes a diagnostic to stderr, with a trailing newline.
    public func note(_ text: String) { err.write(Data((text + "\n").utf8)) }
    /// Writes to stderr without a newline (progress lines use `\r`).
    public func progress(_ text: String) { err.write(Data(text.utf8)) }
    /// Whether stderr is a terminal (progress lines are shown only then).
    public var stderrIsTerminal: Bool { isatty(err.fileDescriptor) != 0 }
}

/// A `fute-db` command: one type per file in `Commands/`.
///
/// `init(parsing:io:)` is the validation step: it turns parsed arguments into typed fields and
/// throws `UsageError` for bad combinations before any work is done. `run` does the work and
/// throws anything else (exit status 1).
public protocol FuteCommand {
    /// Name, abstract, discussion, option table.
    static var configuration: CommandConfiguration { get }
    /// Validates the arguments; throws `UsageError` (exit 64) naming the flag and the fix.
    init(parsing arguments: ParsedArguments, io: CommandIO) throws
    /// Does the work; any thrown error is printed as `fute-db: error: …` with exit status 1.
    func run(io: CommandIO) throws
}

/// Options shared by every command that opens a store.
public enum CommonOptions {
    /// `--db DIR`.
    public static let db = OptionSpec("db", valueName: "DIR", help: "Store directory (default: $FUTE_DB, else ./fute.db).")
    /// `--space NAME`.
    public static let space = OptionSpec("space", valueName: "NAME", help: "Embedding space to use.")
    /// `--json`.
    public static let json = OptionSpec.flag("json", help: "Print JSON for programs instead of a table.")
    /// `-k N`.
    public static func k(default value: Int, help: String = "Number of results") -> OptionSpec {
        OptionSpec("k", short: "k", valueName: "N", help: "\(help) (default: \(value)).")
    }

    /// The store directory: `--db`, else `$FUTE_DB`, else `./fute.db`.
    public static func databasePath(_ arguments: ParsedArguments, io: CommandIO) -> String {
        if let path = arguments.value("db") { return path }
        if let path = io.environment["FUTE_DB"], !path.isEmpty { return path }
        return "./fute.db"
    }
}
