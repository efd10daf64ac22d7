import Foundation
import FuteDB

/// Entry point of the `fute-db` executable: parse, validate, dispatch, print errors, exit.
public enum FuteCommandLine {
    /// The version printed by `fute-db --version`.
    public static let version = "0.1.0"

    /// Runs `fute-db` with the process's arguments and exits with its status.
    public static func main() -> Never {
        let status = run(Array(CommandLine.arguments.dropFirst()), io: CommandIO())
        exit(status.rawValue)
    }

    /// Runs `fute-db` with `arguments` (program name excluded) and returns the exit status.
    public static func run(_ arguments: [String], io: CommandIO) -> ExitStatus {
        let commands = CommandRegistry.commands
        guard let first = arguments.first else {
            io.note(topLevelHelp(commands))
            return .usage
        }
        if first == "--help" || first == "-h" || first == "help" {
            if first == "help", arguments.count > 1 {
                return run(Array(arguments.dropFirst()) + ["--help"], io: io)
            }
            io.print(topLevelHelp(commands))
            return .ok
        }
        if first == "--version" {
            io.print("fute-db \(version)")
            io.print(KernelVariant.summary)
            return .ok
        }
        guard let command = commands.first(where: { $0.configuration.name == first }) else {
            let names = commands.map { $0.configuration.name }
            let suggestion = names.min { ArgumentParser.editDistance($0, first) < ArgumentParser.editDistance($1, first) }
            var message = first.hasPrefix("-") ? "unknown option \(first) before the command" : "unknown command '\(first)'"
            if let suggestion, ArgumentParser.editDistance(suggestion, first) <= 2, !first.hasPrefix("-") {
                message += "; did you mean '\(suggestion)'?"
            }
            io.note("fute-db: error: \(message); commands: \(names.joined(separator: ", ")) (see fute-db --help)")
            return .usage
        }
        return dispatch(command, path: "fute-db \(first)", arguments: Array(arguments.dropFirst()), io: io)
    }

    private static func dispatch(_ command: any FuteCommand.Type, path: String, arguments: [String], io: CommandIO) -> ExitStatus {
        let configuration = command.configuration
        if let next = arguments.first, let sub = configuration.subcommands.first(where: { $0.configuration.name == next }) {
            return dispatch(sub, path: "\(path) \(next)", arguments: Array(arguments.dropFirst()), io: io)
        }
        do {
            let parsed = try ArgumentParser.parse(arguments, options: configuration.options, positionals: configuration.positionals)
            if parsed.helpRequested {
                io.print(help(for: command, path: path))
                return .ok
            }
            let instance = try command.init(parsing: parsed, io: io)
            try instance.run(io: io)
            return .ok
        } catch let error as UsageError {
            io.note("fute-db: error: \(error.message)")
            io.note("usage: see '\(path) --help'")
            return .usage
        } catch {
            io.note("fute-db: error: \(error)")
            return .failure
        }
    }

    /// The `--help` text of one command.
    public static func help(for command: any FuteCommand.Type, path: String) -> String {
        let configuration = command.configuration
        return HelpFormatter.help(
            commandPath: path, abstract: configuration.abstract, discussion: configuration.discussion,
            options: configuration.options, positionals: configuration.positionals,
            subcommands: configuration.subcommands.map { ($0.configuration.name, $0.configuration.abstract) })
    }

    static func topLevelHelp(_ commands: [any FuteCommand.Type]) -> String {
        var lines = [
            "OVERVIEW: fute-db \(version) — an embedded database of task embeddings (FUTE) on LMDB.",
            "",
            "USAGE: fute-db <command> [options]",
            "",
            "COMMANDS:",
        ]
        let width = (commands.map { $0.configuration.name.count }.max() ?? 0) + 4
        for command in commands {
            let configuration = command.configuration
            lines.append("  " + configuration.name.padding(toLength: width, withPad: " ", startingAt: 0) + configuration.abstract)
        }
        lines += [
            "",
            "OPTIONS:",
            "  -h, --help      Show help (fute-db <command> --help for a command).",
            "  --version       Print the version and which distance kernels run.",
            "",
            "The store directory is --db DIR, else $FUTE_DB, else ./fute.db.",
            "FUTE_KERNELS=portable runs the portable kernels on a CPU with AVX2+FMA (default: chosen at run time).",
            "Exit status: 0 ok, 1 runtime failure, 64 usage error.",
        ]
        return lines.joined(separator: "\n")
    }
}
