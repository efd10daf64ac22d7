import Foundation

/// A JSON value as read from an input file (numbers kept as `Double`).
///
/// Separate from `FuteDB.JSONValue` so the readers stand alone; `FuteCLI` converts.
public indirect enum ParsedJSON: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` / `false`.
    case bool(Bool)
    /// A finite number.
    case number(Double)
    /// A string (escapes decoded).
    case string(String)
    /// An array.
    case array([ParsedJSON])
    /// An object (duplicate keys are refused by the parser).
    case object([String: ParsedJSON])

    /// The JSON type name used in error messages (`string`, `number`, …).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// A syntax error inside one JSON text: byte offset (0-based) and message.
struct JSONSyntaxError: Error {
    var offset: Int
    var message: String
}

/// A strict RFC 8259 parser over bytes, stricter than Foundation where it matters for data:
/// `NaN`/`Infinity` tokens, numbers that overflow a Double, and duplicate keys are errors.
struct JSONParser {
    private let bytes: [UInt8]
    private var position: Int
    private let end: Int

    /// Parses exactly one JSON value spanning `bytes[range]` (surrounding whitespace allowed).
    static func parse(_ bytes: [UInt8], range: Range<Int>) throws(JSONSyntaxError) -> ParsedJSON {
        var parser = JSONParser(bytes: bytes, position: range.lowerBound, end: range.upperBound)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.position < parser.end {
            throw JSONSyntaxError(offset: parser.position - range.lowerBound,
                                  message: "unexpected text after the JSON value; put one object per line")
        }
        return value
    }

    private init(bytes: [UInt8], position: Int, end: Int) {
        self.bytes = bytes
        self.position = position
        self.end = end
        self.start = position
    }

    private let start: Int

    private func fail(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position - start, message: message)
    }

    private mutating func skipWhitespace() {
        while position < end, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> ParsedJSON {
        guard depth < 512 else { throw fail("JSON nested deeper than 512 levels") }
        guard position < end else { throw fail("unexpected end of line; the JSON value is incomplete") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw fail("NaN and Infinity are not valid numbers; every value must be finite")
        case UInt8(ascii: "-") where position + 1 < end && bytes[position + 1] == UInt8(ascii: "I"):
            throw fail("-Infinity is not a valid number; every value must be finite")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw fail("unexpected character '\(Self.printable(bytes[position]))'; expected a JSON value")
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : String(format: "\\x%02X", byte)
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let utf8 = Array(word.utf8)
        guard position + utf8.count <= end, Array(bytes[position..<position + utf8.count]) == utf8 else {
            throw fail("invalid literal; expected \(word)")
        }
        position += utf8.count
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> ParsedJSON {
        position += 1
        var object: [String: ParsedJSON] = [:]
        skipWhitespace()
        if position < end, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
        while true {
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a quoted key in the object") }
            let key = try parseString()
            if object[key] != nil { throw fail("key \"\(key)\" appears twice in one object; keep one") }
            skipWhitespace()
            guard position < end, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after key \"\(key)\"") }
            position += 1
            skipWhitespace()
            object[key] = try parseValue(depth: depth + 1)
            skipWhitespace()
            guard position < end else { throw fail("unexpected end of line inside an object; missing '}'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
            throw fail("expected ',' or '}' in the object")
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> ParsedJSON {
        position += 1
        var array: [ParsedJSON] = []
        skipWhitespace()
        if position < end, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(array) }
        while true {
            skipWhitespace()
            array.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard position < end else { throw fail("unexpected end of line inside an array; missing ']'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(array) }
            throw fail("expected ',' or ']' in the array")
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let begin = position
        func digits() -> Int {
            let from = position
            while position < end, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - from
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerDigits = digits()
        guard integerDigits > 0 else { throw fail("invalid number; expected digits") }
        if integerDigits > 1, bytes[position - integerDigits] == UInt8(ascii: "0") {
            throw fail("invalid number: leading zero")
        }
        if position < end, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw fail("invalid number; expected digits after '.'") }
        }
        if position < end, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < end, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw fail("invalid number; expected digits in the exponent") }
        }
        let text = String(decoding: bytes[begin..<position], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw fail("number \(text) is too large (overflows a 64-bit float); every value must be finite")
        }
        return value
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        position += 1
        var scalars: [UInt8] = []
        while true {
            guard position < end else { throw fail("unterminated string; missing closing '\"'") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { position += 1; break }
            if byte < 0x20 { throw fail("control character inside a string; escape it (\\n, \\t, \\u00XX)") }
            if byte != UInt8(ascii: "\\") {
                scalars.append(byte)
                position += 1
                continue
            }
            position += 1
            guard position < end else { throw fail("unterminated escape in a string") }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append(0x22)
            case UInt8(ascii: "\\"): scalars.append(0x5C)
            case UInt8(ascii: "/"): scalars.append(0x2F)
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard position + 1 < end, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired UTF-16 surrogate in a \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("unpaired UTF-16 surrogate in a \\u escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw fail("unpaired UTF-16 surrogate in a \\u escape")
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("invalid escape '\\\(Self.printable(escape))' in a string")
            }
        }
        return String(decoding: scalars, as: UTF8.self)
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard position + 4 <= end else { throw fail("incomplete \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in a \\u escape")
            }
            value = value * 16 + digit
            position += 1
        }
        return value
    }
}

extension ParsedJSON {
    /// Parses one JSON text given on the command line (e.g. `--vector '[1, 2]'`).
    /// - Throws: `ReaderError` located at `source` (e.g. `--vector`) with the column.
    public static func parse(_ text: String, source: String) throws(ReaderError) -> ParsedJSON {
        let bytes = Array(text.utf8)
        do {
            return try JSONParser.parse(bytes, range: 0..<bytes.count)
        } catch {
            throw ReaderError(error.message.contains("finite") ? .nonFinite : .malformedJSON, file: source, line: 1,
                              "malformed JSON at column \(error.offset + 1): \(error.message)")
        }
    }

    /// A non-empty array of numbers that fit a float32, as a vector.
    public func floatVector(source: String) throws(ReaderError) -> [Float] {
        let line = JSONLine(line: 1, object: ["vector": self])
        return try JSONLineFields(line, file: source, allowed: ["vector"]).floatVector("vector")
    }
}
