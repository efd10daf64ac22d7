import Foundation

/// One non-blank line of a JSON Lines file, parsed.
public struct JSONLine: Sendable, Equatable {
    /// 1-based line number in the file.
    public var line: Int
    /// The object on that line.
    public var object: [String: ParsedJSON]

    package init(line: Int, object: [String: ParsedJSON]) {
        self.line = line
        self.object = object
    }
}

/// Reads JSON Lines files: one JSON object per line.
///
/// Rules (the same for every JSONL input fute-db reads):
/// - The file must be UTF-8 (a leading byte-order mark is ignored); invalid bytes are an error
///   naming the line.
/// - Blank lines (only whitespace) are skipped; a file with no objects is an error.
/// - Each line holds exactly one JSON object. `NaN`, `Infinity`, numbers that overflow a
///   64-bit float, and duplicate keys are errors.
public enum JSONLinesReader {
    /// Reads every object of `path`.
    public static func read(_ path: String) throws(ReaderError) -> [JSONLine] {
        try parse(InputFile.bytes(path), file: path)
    }

    /// Parses bytes already in memory; `file` names them in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReaderError) -> [JSONLine] {
        var lines: [JSONLine] = []
        var lineStart = 0
        var lineNumber = 1
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { lineStart = 3 }
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let range = lineStart..<lineEnd
            if !bytes[range].allSatisfy({ [0x20, 0x09, 0x0D].contains($0) }) {
                guard String(validating: bytes[range], as: UTF8.self) != nil else {
                    throw ReaderError(.invalidUTF8, file: file, line: lineNumber,
                                      "invalid UTF-8 bytes; save the file as UTF-8")
                }
                let value: ParsedJSON
                do {
                    value = try JSONParser.parse(bytes, range: range)
                } catch {
                    let nonFinite = error.message.contains("finite")
                    throw ReaderError(nonFinite ? .nonFinite : .malformedJSON, file: file, line: lineNumber,
                                      "malformed JSON at column \(error.offset + 1): \(error.message)")
                }
                guard case .object(let object) = value else {
                    throw ReaderError(.wrongType, file: file, line: lineNumber,
                                      "expected a JSON object ({...}) on each line, found \(value.typeName)")
                }
                lines.append(JSONLine(line: lineNumber, object: object))
            }
            lineStart = lineEnd + 1
            lineNumber += 1
        }
        guard !lines.isEmpty else {
            throw ReaderError(.empty, file: file, line: 0, "file is empty; expected one JSON object per line")
        }
        return lines
    }
}

/// Typed field access for one JSONL line, with errors that name the field and the line.
public struct JSONLineFields {
    /// The line being decoded.
    public let line: JSONLine
    /// The file name for errors.
    public let file: String

    /// Creates field access; refuses keys outside `allowed`, naming the first unknown one.
    public init(_ line: JSONLine, file: String, allowed: Set<String>) throws(ReaderError) {
        self.line = line
        self.file = file
        if let unknown = line.object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ReaderError(.unknownField, file: file, line: line.line, field: unknown,
                              "unknown field \"\(unknown)\"; allowed fields are \(allowed.sorted().joined(separator: ", ")) (put extra data under \"meta\" where supported)")
        }
    }

    /// An error at this line about `field`.
    public func error(_ code: ReaderError.Code, _ field: String, _ message: String) -> ReaderError {
        ReaderError(code, file: file, line: line.line, field: field, message)
    }

    /// A required, non-empty string field.
    public func string(_ field: String) throws(ReaderError) -> String {
        guard let value = line.object[field] else {
            throw error(.missingField, field, "missing field \"\(field)\" (a string)")
        }
        return try nonEmptyString(field, value)
    }

    /// An optional string field (`nil` when absent or null).
    public func optionalString(_ field: String) throws(ReaderError) -> String? {
        guard let value = line.object[field], value != .null else { return nil }
        return try nonEmptyString(field, value)
    }

    private func nonEmptyString(_ field: String, _ value: ParsedJSON) throws(ReaderError) -> String {
        guard case .string(let text) = value else {
            throw error(.wrongType, field, "field \"\(field)\" must be a string, found \(value.typeName)")
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw error(.wrongType, field, "field \"\(field)\" is empty; give a non-empty string")
        }
        return text
    }

    /// A required finite number.
    public func number(_ field: String) throws(ReaderError) -> Double {
        guard let value = line.object[field] else {
            throw error(.missingField, field, "missing field \"\(field)\" (a number)")
        }
        guard case .number(let number) = value else {
            throw error(.wrongType, field, "field \"\(field)\" must be a number, found \(value.typeName)")
        }
        return number
    }

    /// A required non-empty array of numbers that fit a 32-bit float.
    public func floatVector(_ field: String) throws(ReaderError) -> [Float] {
        guard let value = line.object[field] else {
            throw error(.missingField, field, "missing field \"\(field)\" (an array of numbers)")
        }
        guard case .array(let items) = value else {
            throw error(.wrongType, field, "field \"\(field)\" must be an array of numbers, found \(value.typeName)")
        }
        guard !items.isEmpty else {
            throw error(.emptyVector, field, "field \"\(field)\" is an empty array; a vector needs at least one number")
        }
        var vector: [Float] = []
        vector.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .number(let number) = item else {
                throw error(.wrongType, field, "\(field)[\(index)] must be a number, found \(item.typeName)")
            }
            let single = Float(number)
            guard single.isFinite else {
                throw error(.nonFinite, field, "\(field)[\(index)] = \(number) overflows a 32-bit float (max ±3.4e38); rescale the vector")
            }
            vector.append(single)
        }
        return vector
    }

    /// An optional JSON object field.
    public func optionalObject(_ field: String) throws(ReaderError) -> [String: ParsedJSON]? {
        guard let value = line.object[field], value != .null else { return nil }
        guard case .object(let object) = value else {
            throw error(.wrongType, field, "field \"\(field)\" must be a JSON object, found \(value.typeName)")
        }
        return object
    }
}
