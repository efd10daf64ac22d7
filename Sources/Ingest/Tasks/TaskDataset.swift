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
/// or a numeric value (regression).
public enum TaskTarget: Sendable, Equatable {
    /// A class, by name (`"label": "entailment"` or `"label": 1`).
    case label(String)
    /// Class probabilities (`"probs": [0.1, 0.9]`), e.g. a classifier's soft output.
    case probabilities([Float])
    /// A numeric target (`"value": 3.5`).
    case value(Double)

    /// The kind, for checking that a file does not mix kinds.
    public var kindName: String {
        switch self {
        case .label: return "label"
        case .probabilities: return "probs"
        case .value: return "value"
        }
    }
}

/// One example: an input and (for labelled data) its target.
public struct TaskExample: Sendable, Equatable {
    /// The text or text pair.
    public var input: TextInput
    /// The target; nil in unsupervised data.
    public var target: TaskTarget?
    /// 1-based line in the source file.
    public var line: Int

    /// Creates an example.
    public init(input: TextInput, target: TaskTarget?, line: Int) {
        self.input = input
        self.target = target
        self.line = line
    }
}

/// A dataset or predictions file: JSON lines of
/// `{"text": str, "text_pair"?: str, "label": str|int | "probs": [number] | "value": number}`.
///
/// Reading validates every line and reports the first bad one as `file:line: field 'x': …`;
/// a file must not mix target kinds, and all `probs` must have the same length.
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

    /// Reads a JSONL file. With `requireTargets`, every line needs exactly one of `label`, `probs`, `value`.
    public static func read(path: String, requireTargets: Bool) throws -> TaskDataset {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError(path: path, line: nil, message: "cannot read (\(error.localizedDescription)); check the path")
        }
        var examples: [TaskExample] = []
        var lineNumber = 0
        var firstKind: (kind: String, line: Int)?
        var probsWidth: (count: Int, line: Int)?
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
            let target = try parseTarget(object, path: path, line: lineNumber)
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
            examples.append(TaskExample(input: TextInput(text, pair: pair), target: target, line: lineNumber))
        }
        if examples.isEmpty {
            throw DatasetError(path: path, line: nil, message: "empty file: no JSON lines; expected one {\"text\": …} object per line")
        }
        return TaskDataset(path: path, examples: examples)
    }

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
