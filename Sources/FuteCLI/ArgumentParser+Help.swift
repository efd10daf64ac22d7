// Help text generated from the same option table the parser uses, so the two cannot drift.

/// Renders `--help` for a command from its option table.
public enum HelpFormatter {
    /// The full help text for `fute-db <path> --help`.
    public static func help(
        commandPath: String, abstract: String, discussion: String,
        options: [OptionSpec], positionals: PositionalSpec, subcommands: [(name: String, abstract: String)] = []
    ) -> String {
        var lines: [String] = ["OVERVIEW: \(abstract)", ""]
        if !discussion.isEmpty {
            lines += wrap(discussion, width: 92).map { $0 }
            lines.append("")
        }
        var usage = "USAGE: \(commandPath)"
        if !subcommands.isEmpty && options.isEmpty { usage += " <subcommand>" }
        if !options.isEmpty { usage += " [options]" }
        if positionals.maximum != 0 {
            let name = positionals.name
            let repeated = positionals.maximum.map { $0 > 1 } ?? true
            let shape = repeated ? "\(name)..." : name
            usage += " " + (positionals.minimum == 0 ? "[\(shape)]" : shape)
        }
        lines.append(usage)
        if !subcommands.isEmpty {
            lines += ["", "SUBCOMMANDS:"]
            let width = (subcommands.map(\.name.count).max() ?? 0) + 4
            for (name, abstract) in subcommands {
                lines.append("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + abstract)
            }
        }
        if positionals.maximum != 0 && !positionals.help.isEmpty {
            lines += ["", "ARGUMENTS:", "  " + positionals.name.padding(toLength: 26, withPad: " ", startingAt: 0) + positionals.help]
        }
        let all = options + [OptionSpec.flag("help", short: "h", help: "Show this help.")]
        lines += ["", "OPTIONS:"]
        let labelWidth = max(26, (all.map(\.helpLabel.count).max() ?? 0) + 2)
        for option in all {
            let label = option.helpLabel
            let suffix = option.arity == .repeated ? " (repeatable)" : ""
            lines.append("  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0) + option.help + suffix)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Greedy word wrap that keeps blank lines (paragraphs) and lines that start with spaces (examples).
    static func wrap(_ text: String, width: Int) -> [String] {
        var out: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if paragraph.hasPrefix(" ") || paragraph.isEmpty {
                out.append(String(paragraph))
                continue
            }
            var line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty && line.count + 1 + word.count > width {
                    out.append(line)
                    line = ""
                }
                line += (line.isEmpty ? "" : " ") + word
            }
            out.append(line)
        }
        return out
    }
}
