import Foundation

/// A bad line in a dataset or predictions file: `file:line: field 'x': what happened; what to do`.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public let path: String
    /// 1-based line number, or nil for a whole-file problem (e.g. empty file).
    public let line: Int?
    /// The JSON field at fault, if one is.
    public let field: String?
    /// What happened and what to do.
    public let message: String

    /// Creates an error.
    public init(path: String, line: Int?, field: String? = nil, message: String) {
        self.path = path
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var s = path
        if let line { s += ":\(line)" }
        s += ": "
        if let field { s += "field '\(field)': " }
        return s + message
    }
}

/// The supervision of one example: a class name, a probability vector (soft label from a model),
/// a numeric value (regression), or the correct choice of a multiple-choice example.
public enum TaskTarget: Sendable, Equatable {
    /// A class, by name (`"label": "entailment"` or `"label": 1`).
    case label(String)
    /// Class probabilities (`"probs": [0.1, 0.9]`), e.g. a classifier's soft output.
    case probabilities([Float])
    /// A numeric target (`"value": 3.5`).
    case value(Double)
    /// The correct choice of a multiple-choice example, as a 0-based index into that example's
    /// `choices` (`"choices": ["a", "b"], "label": 1`).
    case choice(Int)

    /// The kind, for checking that a file does not mix kinds.
    public var kindName: String {
        switch self {
        case .label: return "label"
        case .probabilities: return "probs"
        case .value: return "value"
        case .choice: return "choice"
        }
    }
}

/// One example: an input and (for labelled data) its target.
public struct TaskExample: Sendable, Equatable {
    /// The text or text pair; for a multiple-choice example, the shared text alone (see `inputs`).
    public var input: TextInput
    /// The target; nil in unsupervised data.
    public var target: TaskTarget?
    /// 1-based line in the source file.
    public var line: Int
    /// The candidate answers of a multiple-choice example (at least 2, none empty); nil otherwise.
    public var choices: [String]?

    /// Creates an example; `choices` makes it a multiple-choice example (its target is then `.choice`).
    public init(input: TextInput, target: TaskTarget?, line: Int, choices: [String]? = nil) {
        self.input = input
        self.target = target
        self.line = line
        self.choices = choices
    }

    /// What the encoder sees: for a multiple-choice example one `(text, choice)` pair per choice,
    /// encoded jointly as BERT does for SWAG; otherwise just `input`.
    public var inputs: [TextInput] {
        guard let choices else { return [input] }
        return choices.map { TextInput(input.text, pair: $0) }
    }
}

/// A dataset or predictions file: JSON lines of one of these shapes
///
/// | shape | line |
/// |---|---|
/// | classification | `{"text": str, "text_pair"?: str, "label": str\|int}` |
/// | soft labels | `{"text": str, "text_pair"?: str, "probs": [number]}` |
/// | regression | `{"text": str, "text_pair"?: str, "value": number}` |
/// | multiple choice | `{"text": str, "choices": [str, str, …], "label": int}` (0-based index of the correct choice) |
///
/// Any target may be left out of unsupervised inputs, except a multiple-choice line's `label`.
/// Unknown keys are refused so that a misspelt key is not silently dropped; the one extra key read
/// (and ignored) is `"source"`, which `fute-db unsupervised` writes into U to name the corpus each
/// input came from, so that U can be fed back to `--inputs` and `fute-db embed`.
///
/// Reading validates every line and reports the first bad one as `file:line: field 'x': …`;
/// a file must not mix target kinds (nor multiple-choice and other lines), and all `probs` must
/// have the same length.
public struct TaskDataset: Sendable {
    /// The file read.
    public var path: String
    /// The examples, in file order.
    public var examples: [TaskExample]

    /// Creates a dataset from examples (e.g. built in memory).
    public init(path: String, examples: [TaskExample]) {
        self.path = path
        self.examples = examples
    }

    /// The file name without directory and extension (e.g. `sst2` for `data/sst2.jsonl`).
    public var name: String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }

    /// The keys a dataset line may have; anything else is refused (see the type's documentation).
    static let allowedKeys: Set<String> = ["text", "text_pair", "label", "probs", "value", "choices", "source"]

    /// Reads a JSONL file. With `requireTargets`, every line needs exactly one of `label`, `probs`, `value`;
    /// a multiple-choice line (one with `choices`) always needs its `label`.
    public static func read(path: String, requireTargets: Bool) throws -> TaskDataset {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError(path: path, line: nil, message: "cannot read (\(error.localizedDescription)); check the path")
        }
        var examples: [TaskExample] = []
        var lineNumber = 0
        var firstKind: (kind: String, line: Int)?
        var probsWidth: (count: Int, line: Int)?
        var firstShape: (isMultipleChoice: Bool, line: Int)?
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.last == UInt8(ascii: "\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let parsed: LineValue
            do { parsed = try JSONDecoder().decode(LineValue.self, from: Data(line)) } catch {
                throw DatasetError(path: path, line: lineNumber, message: "invalid JSON; each line must be one JSON object")
            }
            guard case .object(let object) = parsed else {
                throw DatasetError(path: path, line: lineNumber, message: "not a JSON object; each line must be {\"text\": …}")
            }
            // Before "text": a misspelt "txt" is better reported as unknown than "text" as missing.
            if let unknown = object.keys.filter({ !allowedKeys.contains($0) }).sorted().first {
                throw DatasetError(path: path, line: lineNumber, field: unknown,
                                   message: "unknown key; a dataset line has \"text\", \"text_pair\", \"label\"|\"probs\"|\"value\", \"choices\"")
            }
            guard let textValue = object["text"] else {
                throw DatasetError(path: path, line: lineNumber, field: "text", message: "missing; every line needs a \"text\" string")
            }
            guard case .string(let text) = textValue, !text.isEmpty else {
                throw DatasetError(path: path, line: lineNumber, field: "text", message: "must be a non-empty string")
            }
            var pair: String?
            if let p = object["text_pair"], p != .null {
                guard case .string(let s) = p else {
                    throw DatasetError(path: path, line: lineNumber, field: "text_pair", message: "must be a string when present")
                }
                pair = s
            }
            let choices = try parseChoices(object, path: path, line: lineNumber)
            let isMultipleChoice = choices != nil
            if let first = firstShape, first.isMultipleChoice != isMultipleChoice {
                throw DatasetError(path: path, line: lineNumber, field: "choices",
                                   message: first.isMultipleChoice
                                       ? "missing; this file's line \(first.line) is multiple choice, and one file must be all multiple choice or none"
                                       : "this file's line \(first.line) has no \"choices\", and one file must be all multiple choice or none")
            }
            if firstShape == nil { firstShape = (isMultipleChoice, lineNumber) }
            let target = try choices.map { try parseChoiceLabel(object, choiceCount: $0.count, path: path, line: lineNumber) }
                ?? parseTarget(object, path: path, line: lineNumber)
            if requireTargets && target == nil {
                throw DatasetError(path: path, line: lineNumber, field: "label", message: "missing; a labelled line needs \"label\" (class), \"probs\" (soft label) or \"value\" (number)")
            }
            if let target {
                if let first = firstKind, first.kind != target.kindName {
                    throw DatasetError(path: path, line: lineNumber, field: target.kindName,
                                       message: "this file's line \(first.line) uses \"\(first.kind)\"; one file must use one kind of target")
                }
                if firstKind == nil { firstKind = (target.kindName, lineNumber) }
                if case .probabilities(let p) = target {
                    if let w = probsWidth, w.count != p.count {
                        throw DatasetError(path: path, line: lineNumber, field: "probs",
                                           message: "has \(p.count) entries but line \(w.line) has \(w.count); every line needs one entry per class")
                    }
                    if probsWidth == nil { probsWidth = (p.count, lineNumber) }
                }
            }
            examples.append(TaskExample(input: TextInput(text, pair: pair), target: target, line: lineNumber, choices: choices))
        }
        if examples.isEmpty {
            throw DatasetError(path: path, line: nil, message: "empty file: no JSON lines; expected one {\"text\": …} object per line")
        }
        return TaskDataset(path: path, examples: examples)
    }

    /// A non-multiple-choice line's target: at most one of `label`, `probs`, `value`; nil when none.
    static func parseTarget(_ object: [String: LineValue], path: String, line: Int) throws -> TaskTarget? {
        let present = ["label", "probs", "value"].filter { object[$0] != nil && object[$0] != .null }
        if present.count > 1 {
            throw DatasetError(path: path, line: line, field: present[1], message: "a line may carry only one of \"label\", \"probs\", \"value\" (found \(present.joined(separator: ", ")))")
        }
        guard let field = present.first, let value = object[field] else { return nil }
        switch (field, value) {
        case ("label", .string(let s)) where !s.isEmpty:
            return .label(s)
        case ("label", .number(let d)):
            if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return .label(String(Int64(d))) }
            throw DatasetError(path: path, line: line, field: "label", message: "number \(d) is not a class id; use \"value\" for a numeric target")
        case ("label", _):
            throw DatasetError(path: path, line: line, field: "label", message: "unknown label type; use a non-empty string or integer class, \"probs\": [..] or \"value\": number")
        case ("probs", .array(let array)) where !array.isEmpty:
            var probs: [Float] = []
            for v in array {
                guard case .number(let d) = v, d.isFinite, d >= 0 else {
                    throw DatasetError(path: path, line: line, field: "probs", message: "entries must be non-negative numbers")
                }
                probs.append(Float(d))
            }
            let sum = probs.reduce(0, +)
            guard sum > 0 else {
                throw DatasetError(path: path, line: line, field: "probs", message: "entries sum to 0; give a probability per class")
            }
            return .probabilities(probs.map { $0 / sum })
        case ("probs", _):
            throw DatasetError(path: path, line: line, field: "probs", message: "must be a non-empty array of numbers")
        case ("value", .number(let d)) where d.isFinite:
            return .value(d)
        default:
            throw DatasetError(path: path, line: line, field: field, message: "must be a finite number")
        }
    }

    /// A multiple-choice line's `choices` (nil when the line has none): at least 2 non-empty strings,
    /// and no `text_pair`, `probs` or `value` beside them.
    static func parseChoices(_ object: [String: LineValue], path: String, line: Int) throws -> [String]? {
        guard let value = object["choices"], value != .null else { return nil }
        for other in ["text_pair", "probs", "value"] where object[other] != nil && object[other] != .null {
            throw DatasetError(path: path, line: line, field: "choices",
                               message: "cannot go with \"\(other)\": a multiple-choice line is {\"text\", \"choices\", \"label\": index}; drop \"\(other)\" or \"choices\"")
        }
        guard case .array(let array) = value else {
            throw DatasetError(path: path, line: line, field: "choices", message: "must be an array of non-empty strings, e.g. [\"yes\", \"no\"]")
        }
        var choices: [String] = []
        for (index, entry) in array.enumerated() {
            guard case .string(let choice) = entry else {
                throw DatasetError(path: path, line: line, field: "choices", message: "entry \(index) (0-based) is not a string; every choice must be a non-empty string")
            }
            guard !choice.isEmpty else {
                throw DatasetError(path: path, line: line, field: "choices", message: "entry \(index) (0-based) is empty; every choice must be a non-empty string")
            }
            choices.append(choice)
        }
        guard choices.count >= 2 else {
            throw DatasetError(path: path, line: line, field: "choices", message: "has \(choices.count) choice\(choices.count == 1 ? "" : "s"); a multiple-choice line needs at least 2")
        }
        return choices
    }

    /// A multiple-choice line's `label`: the 0-based index of the correct choice, required.
    static func parseChoiceLabel(_ object: [String: LineValue], choiceCount: Int, path: String, line: Int) throws -> TaskTarget {
        let range = "0...\(choiceCount - 1)"
        guard let value = object["label"], value != .null else {
            throw DatasetError(path: path, line: line, field: "label", message: "missing; a multiple-choice line needs \"label\": the 0-based index of the correct choice (\(range))")
        }
        guard case .number(let d) = value, d.isFinite, d == d.rounded() else {
            throw DatasetError(path: path, line: line, field: "label", message: "must be an integer, the 0-based index of the correct choice (\(range)), not a class name or fraction")
        }
        guard d >= 0, d < Double(choiceCount) else {
            throw DatasetError(path: path, line: line, field: "label", message: "\(abs(d) < 1e15 ? String(Int64(d)) : String(d)) is out of range; the line has \(choiceCount) choices, so the label must be in \(range)")
        }
        return .choice(Int(d))
    }

    /// At most `count` examples: all when the file is smaller, else a sample drawn with `seed`,
    /// kept in file order (so a file sorted by label still gives every label).
    public func sample(atMost count: Int, seed: UInt64) -> TaskDataset {
        guard examples.count > count else { return self }
        var indices = Array(examples.indices)
        var rng = SplitMix64(seed: seed ^ 0x5A4D_504C_4500_0001)
        rng.shuffle(&indices)
        let chosen = indices.prefix(count).sorted()
        return TaskDataset(path: path, examples: chosen.map { examples[$0] })
    }
}

/// A JSON value as read from one line (bools kept apart from numbers, unlike `JSONSerialization`).
enum LineValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([LineValue]), object([String: LineValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([LineValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: LineValue].self)) }
    }
}
