import Foundation

/// One named vector read from an input file, ready to ingest.
public struct VectorRecord: Sendable, Equatable {
    /// Subject name (unique within one file).
    public var name: String
    /// The vector (finite float32 values).
    public var vector: [Float]
    /// `"dataset"` or `"model"` when the record says so; `nil` means "use --kind".
    public var kind: String?
    /// Metadata object from `"meta"`, if any.
    public var meta: [String: ParsedJSON]?
    /// 1-based line (JSONL) or record/row (binary) the vector came from.
    public var line: Int

    /// Creates a record.
    public init(name: String, vector: [Float], kind: String? = nil, meta: [String: ParsedJSON]? = nil, line: Int) {
        self.name = name
        self.vector = vector
        self.kind = kind
        self.meta = meta
        self.line = line
    }
}

/// A whole vector file, validated: every record has the same dimension and a unique name.
public struct VectorFile: Sendable {
    /// The file as given.
    public var file: String
    /// The records in file order.
    public var records: [VectorRecord]
    /// The common dimension.
    public var dimension: Int
}

/// Reads vectors from `.jsonl`, `.npy`, `.fvecs` files (chosen by extension).
///
/// JSONL records are `{"name": str, "vector": [numbers], "kind"?: "dataset"|"model", "meta"?: {…}}`.
/// Unknown top-level keys are refused, naming the key (put extra data in `meta`). A name that
/// appears twice in one file is refused, naming both lines (across files, a later ingest
/// replaces the vector). For `.npy`/`.fvecs`, names come from a names file (one per line) or
/// are `row-N` (N counted from 0).
public enum VectorReader {
    /// The extensions `read` understands.
    public static let extensions = ["jsonl", "npy", "fvecs"]

    /// Reads and validates a whole file. `namesFile` applies to `.npy` and `.fvecs` only.
    public static func read(_ path: String, namesFile: String? = nil) throws(ReaderError) -> VectorFile {
        let ext = path.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch ext {
        case "jsonl", "ndjson":
            if let namesFile {
                throw ReaderError(.unsupported, file: namesFile, line: 0, "--names applies to .npy and .fvecs files; \(path) carries its own names")
            }
            return try readJSONLines(path)
        case "npy":
            let matrix = try NPYReader.read(path)
            return try named(path, rows: matrix.rows, namesFile: namesFile)
        case "fvecs":
            let rows = try VecsReader.readFvecs(path)
            return try named(path, rows: rows, namesFile: namesFile)
        default:
            throw ReaderError(.unsupported, file: path, line: 0,
                              "unknown file type '.\(ext)'; use .jsonl, .npy or .fvecs")
        }
    }

    /// Decodes JSONL vector records.
    public static func readJSONLines(_ path: String) throws(ReaderError) -> VectorFile {
        try decode(JSONLinesReader.read(path), file: path)
    }

    /// Decodes already-parsed JSONL lines as vector records.
    public static func decode(_ lines: [JSONLine], file: String) throws(ReaderError) -> VectorFile {
        var records: [VectorRecord] = []
        records.reserveCapacity(lines.count)
        var firstLineOfName: [String: Int] = [:]
        var dimension: (value: Int, line: Int)?
        for line in lines {
            let fields = try JSONLineFields(line, file: file, allowed: ["name", "vector", "kind", "meta"])
            let name = try fields.string("name")
            try NameRules.check(name, field: "name", file: file, line: line.line)
            let vector = try fields.floatVector("vector")
            let kind = try fields.optionalString("kind")
            if let kind, kind != "dataset", kind != "model" {
                throw fields.error(.wrongType, "kind", "field \"kind\" must be \"dataset\" or \"model\", got \"\(kind)\"")
            }
            let meta = try fields.optionalObject("meta")
            if let dimension, dimension.value != vector.count {
                throw fields.error(.dimensionMismatch, "vector",
                                   "vector has \(vector.count) numbers but line \(dimension.line) has \(dimension.value); every vector in a file must have the same dimension")
            }
            if dimension == nil { dimension = (vector.count, line.line) }
            if let previous = firstLineOfName[name] {
                throw fields.error(.duplicateName, "name",
                                   "name \"\(name)\" already appeared on line \(previous); each name once per file (re-ingesting in a later file replaces the vector)")
            }
            firstLineOfName[name] = line.line
            records.append(VectorRecord(name: name, vector: vector, kind: kind, meta: meta, line: line.line))
        }
        return VectorFile(file: file, records: records, dimension: dimension?.value ?? 0)
    }

    private static func named(_ path: String, rows: [[Float]], namesFile: String?) throws(ReaderError) -> VectorFile {
        let names: [String]
        if let namesFile {
            names = try NamesReader.read(namesFile)
            guard names.count == rows.count else {
                throw ReaderError(.countMismatch, file: namesFile, line: names.count,
                                  "has \(names.count) names but \(path) has \(rows.count) rows; give one name per row")
            }
        } else {
            names = rows.indices.map { "row-\($0)" }
        }
        let records = zip(names, rows).enumerated().map { VectorRecord(name: $1.0, vector: $1.1, line: $0 + 1) }
        return VectorFile(file: path, records: records, dimension: rows.first?.count ?? 0)
    }
}

/// Reads a names file: one name per line, UTF-8, no blank lines, no duplicates.
public enum NamesReader {
    /// The names in order (a final newline is optional; `\r\n` endings are accepted).
    public static func read(_ path: String) throws(ReaderError) -> [String] {
        let bytes = try InputFile.bytes(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ReaderError(.invalidUTF8, file: path, line: firstInvalidUTF8Line(bytes), "invalid UTF-8 bytes; save the file as UTF-8")
        }
        // Split on scalars, not Characters: "\r\n" is one Character in Swift.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.last == "\r" ? line.dropLast() : line[...]))
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw ReaderError(.empty, file: path, line: 0, "file is empty; expected one name per line") }
        var seen: [String: Int] = [:]
        for (index, name) in lines.enumerated() {
            guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ReaderError(.missingField, file: path, line: index + 1, field: "name", "blank name; give one non-empty name per line")
            }
            try NameRules.check(name, field: "name", file: path, line: index + 1)
            if let previous = seen[name] {
                throw ReaderError(.duplicateName, file: path, line: index + 1, field: "name", "name \"\(name)\" already appeared on line \(previous); names must be unique")
            }
            seen[name] = index + 1
        }
        return lines
    }

    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int {
        var line = 1
        var start = 0
        for (index, byte) in bytes.enumerated() where byte == 0x0A || index == bytes.count - 1 {
            if String(validating: bytes[start...index], as: UTF8.self) == nil { return line }
            line += 1
            start = index + 1
        }
        return line
    }
}
