import Foundation
import FuteDB

/// JSON written by `--json`: keys keep the order they are built in, numbers keep every digit
/// needed to round-trip (`Double.description`).
public indirect enum OutputJSON: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// An integer, printed without a fraction.
    case int(Int)
    /// A double, printed with every digit needed to round-trip; non-finite values print as `null`.
    case number(Double)
    /// A float32, printed with the shortest digits that read back (as a double, then rounded to
    /// float32, as the readers do) to the same bits; non-finite values print as `null`.
    case float(Float)
    /// A string, escaped.
    case string(String)
    /// An array.
    case array([OutputJSON])
    /// An object whose keys keep this order.
    case object([(String, OutputJSON)])

    /// `nil` becomes `null`.
    public static func number(_ value: Double?) -> OutputJSON { value.map { .number($0) } ?? .null }
    /// `nil` becomes `null`.
    public static func string(_ value: String?) -> OutputJSON { value.map { .string($0) } ?? .null }

    /// The JSON of a stored value; object keys sorted, so the text is deterministic.
    public init(_ value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(OutputJSON.init))
        case .object(let object): self = .object(object.keys.sorted().map { ($0, OutputJSON(object[$0] ?? .null)) })
        }
    }

    /// Compact JSON text.
    public var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .number(let value):
            guard value.isFinite else { return "null" }
            if value == value.rounded(), abs(value) < 1e15 { return String(format: "%.1f", value) }
            return "\(value)"
        case .float(let value):
            guard value.isFinite else { return "null" }
            // `description` is the shortest text that round-trips as a float; reading it through a
            // double rounds twice, which could in principle land on the other float: then print the
            // double, which is exact.
            let short = value.description
            return Double(short).map(Float.init)?.bitPattern == value.bitPattern ? short : "\(Double(value))"
        case .string(let value): return Self.quote(value)
        case .array(let items): return "[" + items.map(\.rendered).joined(separator: ",") + "]"
        case .object(let pairs): return "{" + pairs.map { Self.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// Equal when the rendered texts are equal.
    public static func == (lhs: OutputJSON, rhs: OutputJSON) -> Bool { lhs.rendered == rhs.rendered }
}

/// An aligned text table: numbers right-aligned, text left-aligned.
public struct TextTable {
    /// Column headers.
    public var headers: [String]
    /// Which columns are right-aligned.
    public var rightAligned: Set<Int>
    /// Rows of cells.
    public var rows: [[String]] = []

    /// Creates an empty table.
    public init(headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    /// The rendered lines (header, rule, rows), no trailing spaces.
    public var rendered: String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return rightAligned.contains(index) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// Number formatting for tables: fixed 6 decimals (JSON output keeps full precision).
enum Format {
    static func score(_ value: Double?) -> String {
        guard let value else { return "-" }
        return String(format: "%.6f", value)
    }
}
