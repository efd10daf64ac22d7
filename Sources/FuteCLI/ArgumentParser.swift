// A small hand-written command-line parser: the same option table drives parsing and `--help`.
//
// Supported forms: `--name value`, `--name=value`, `-k 10`, `-k10`, repeated options, flags,
// positional arguments, `--` (everything after it is positional), `-h`/`--help`.

/// One command-line option in a command's option table.
public struct OptionSpec: Sendable, Equatable {
    /// How an option takes values.
    public enum Arity: Sendable, Equatable {
        /// A switch without a value (`--json`).
        case flag
        /// Exactly one value, given at most once (`--space NAME`).
        case single
        /// One value per occurrence, may be given many times (`--where key=value`).
        case repeated
    }

    /// Long name without the dashes, e.g. `"space"` for `--space`.
    public var long: String
    /// Optional one-letter short name, e.g. `"k"` for `-k`.
    public var short: Character?
    /// Whether the option is a flag, single-valued or repeatable.
    public var arity: Arity
    /// Placeholder shown in help for the value (`NAME`, `N`, `DIR`); ignored for flags.
    public var valueName: String
    /// One-line description shown in help.
    public var help: String

    /// Creates an option; `valueName` defaults to `VALUE`.
    public init(_ long: String, short: Character? = nil, arity: Arity = .single, valueName: String = "VALUE", help: String) {
        self.long = long
        self.short = short
        self.arity = arity
        self.valueName = valueName
        self.help = help
    }

    /// A flag (no value).
    public static func flag(_ long: String, short: Character? = nil, help: String) -> OptionSpec {
        OptionSpec(long, short: short, arity: .flag, help: help)
    }

    /// How the option is spelled in help, e.g. `-k, --k N`.
    var helpLabel: String {
        var label = short.map { "-\($0), " } ?? ""
        label += "--\(long)"
        if arity != .flag { label += " \(valueName)" }
        return label
    }
}

/// The positional arguments a command accepts.
public struct PositionalSpec: Sendable, Equatable {
    /// Placeholder shown in usage, e.g. `FILE`.
    public var name: String
    /// Fewest positional arguments accepted.
    public var minimum: Int
    /// Most positional arguments accepted (`nil` = unlimited).
    public var maximum: Int?
    /// One-line description shown in help.
    public var help: String

    /// Creates a positional-argument rule.
    public init(_ name: String, minimum: Int, maximum: Int?, help: String) {
        self.name = name
        self.minimum = minimum
        self.maximum = maximum
        self.help = help
    }

    /// No positional arguments.
    public static let none = PositionalSpec("", minimum: 0, maximum: 0, help: "")
}

/// A command-line usage mistake: exit status 64, message names the flag and the fix.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    /// What was wrong and what to do.
    public var message: String
    /// Creates a usage error with a message that says what to do.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The result of parsing: option values by long name, flags, positionals.
public struct ParsedArguments: Sendable, Equatable {
    /// Values of single and repeated options, by long name, in command-line order.
    public var values: [String: [String]] = [:]
    /// Long names of the flags that were given.
    public var flags: Set<String> = []
    /// Positional arguments in order.
    public var positionals: [String] = []
    /// True when `-h`/`--help` was given.
    public var helpRequested = false

    /// Creates an empty result.
    public init() {}

    /// The value of a single-valued option, or nil when absent.
    public func value(_ long: String) -> String? { values[long]?.last }
    /// All values of a repeatable option (empty when absent).
    public func all(_ long: String) -> [String] { values[long] ?? [] }
    /// Whether a flag was given.
    public func flag(_ long: String) -> Bool { flags.contains(long) }
    /// Whether an option or flag was given at all.
    public func has(_ long: String) -> Bool { flags.contains(long) || values[long] != nil }

    /// A positive integer option (e.g. `-k`), or `defaultValue` when absent.
    /// - Throws: `UsageError` naming the flag when the value is not an integer ≥ `minimum`.
    public func integer(_ long: String, default defaultValue: Int, minimum: Int = 1) throws(UsageError) -> Int {
        guard let text = value(long) else { return defaultValue }
        guard let number = Int(text) else {
            throw UsageError("--\(long) expects a whole number, got '\(text)'; e.g. --\(long) \(defaultValue)")
        }
        guard number >= minimum else {
            throw UsageError("--\(long) must be at least \(minimum), got \(number)")
        }
        return number
    }

    /// A string option restricted to `choices`, or `defaultValue` when absent.
    public func choice(_ long: String, _ choices: [String], default defaultValue: String?) throws(UsageError) -> String? {
        guard let text = value(long) else { return defaultValue }
        guard choices.contains(text) else {
            throw UsageError("--\(long) must be one of \(choices.joined(separator: ", ")), got '\(text)'")
        }
        return text
    }
}

/// Parses arguments against an option table.
public enum ArgumentParser {
    /// Parses `arguments` (without the program and command names).
    /// - Throws: `UsageError` for unknown options, missing values, repeated single options,
    ///   values given to flags, and too few or too many positionals. `-h`/`--help` never throws:
    ///   it sets `helpRequested` and stops checking.
    public static func parse(_ arguments: [String], options: [OptionSpec], positionals: PositionalSpec) throws(UsageError) -> ParsedArguments {
        var result = ParsedArguments()
        var index = 0
        var onlyPositionals = false
        func lookup(long: String) -> OptionSpec? { options.first { $0.long == long } }
        func lookup(short: Character) -> OptionSpec? { options.first { $0.short == short } }

        func record(_ option: OptionSpec, value: String?, spelled: String) throws(UsageError) {
            switch option.arity {
            case .flag:
                if value != nil { throw UsageError("\(spelled) is a flag and takes no value; write just \(spelled)") }
                result.flags.insert(option.long)
            case .single, .repeated:
                guard let value else {
                    throw UsageError("\(spelled) needs a value: \(spelled) \(option.valueName)")
                }
                if option.arity == .single, result.values[option.long] != nil {
                    throw UsageError("--\(option.long) was given twice; give it once")
                }
                result.values[option.long, default: []].append(value)
            }
        }

        // The value following an option; refuses to swallow another option by mistake.
        func nextValue(for option: OptionSpec, spelled: String) throws(UsageError) -> String? {
            guard option.arity != .flag else { return nil }
            guard index + 1 < arguments.count else { return nil }
            let candidate = arguments[index + 1]
            if candidate.hasPrefix("--"), candidate.count > 2, lookup(long: optionName(candidate)) != nil || candidate == "--help" {
                throw UsageError("\(spelled) needs a value but is followed by \(candidate); write \(spelled) \(option.valueName)")
            }
            index += 1
            return candidate
        }

        while index < arguments.count {
            let argument = arguments[index]
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") || isNegativeNumber(argument) {
                result.positionals.append(argument)
            } else if argument == "--" {
                onlyPositionals = true
            } else if argument == "--help" || argument == "-h" {
                result.helpRequested = true
                return result
            } else if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name: String
                var inlineValue: String?
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inlineValue = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                }
                guard let option = lookup(long: name) else {
                    throw UsageError(unknownOptionMessage("--\(name)", options: options))
                }
                let value: String?
                if let inlineValue { value = inlineValue } else { value = try nextValue(for: option, spelled: "--\(name)") }
                try record(option, value: value, spelled: "--\(name)")
            } else {
                // Short form: -k 10, -k10, -k=10.
                let letters = argument.dropFirst()
                guard let letter = letters.first, let option = lookup(short: letter) else {
                    throw UsageError(unknownOptionMessage(argument, options: options))
                }
                var rest = String(letters.dropFirst())
                if rest.hasPrefix("=") { rest.removeFirst() }
                if option.arity == .flag {
                    guard rest.isEmpty else { throw UsageError("-\(letter) is a flag and takes no value; write just -\(letter)") }
                    try record(option, value: nil, spelled: "-\(letter)")
                } else {
                    let value: String?
                    if rest.isEmpty { value = try nextValue(for: option, spelled: "-\(letter)") } else { value = rest }
                    try record(option, value: value, spelled: "-\(letter)")
                }
            }
            index += 1
        }

        if result.positionals.count < positionals.minimum {
            let what = positionals.minimum == 1 ? "a \(positionals.name)" : "at least \(positionals.minimum) \(positionals.name) arguments"
            throw UsageError("missing \(what); \(positionals.help.isEmpty ? "see --help" : positionals.help)")
        }
        if let maximum = positionals.maximum, result.positionals.count > maximum {
            let extra = result.positionals[maximum]
            if maximum == 0 {
                throw UsageError("unexpected argument '\(extra)'; this command takes options only (see --help)")
            }
            throw UsageError("unexpected argument '\(extra)'; at most \(maximum) \(positionals.name) allowed")
        }
        return result
    }

    private static func optionName(_ argument: String) -> String {
        let body = argument.dropFirst(2)
        return String(body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    private static func isNegativeNumber(_ argument: String) -> Bool {
        argument.count > 1 && Double(argument) != nil
    }

    private static func unknownOptionMessage(_ spelled: String, options: [OptionSpec]) -> String {
        let name = spelled.drop { $0 == "-" }.split(separator: "=").first.map(String.init) ?? ""
        let candidates = options.map(\.long) + ["help"]
        let best = candidates.min { editDistance($0, name) < editDistance($1, name) }
        if let best, editDistance(best, name) <= max(2, name.count / 3) {
            return "unknown option \(spelled); did you mean --\(best)? (see --help)"
        }
        return "unknown option \(spelled); see --help for the options of this command"
    }

    /// Levenshtein distance, for "did you mean" suggestions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
