import Encoder
import Foundation
import FuteDB
import Readers

/// A task embedding computed without a store (`fute-db ingest --dataset F --out R.jsonl`), to be
/// stored later, possibly by another machine (`fute-db ingest R.jsonl --space S`).
///
/// It carries everything ``TaskEmbeddingStore`` stores — the vector, the subject's metadata, the
/// example vectors of method `examples` — and the space provenance it was made with, so that the
/// writer can refuse to mix it into a space made another way. One record is one JSON line:
///
/// ```
/// {"name":"sst2","kind":"dataset","embedding":"textemb","vector":[…],"meta":{…},
///  "provenance":{"method":"textemb","encoder":"all-MiniLM-L6-v2","encoderChecksum":"53aa…","extra":{}},
///  "example_vectors":[[…],…]}
/// ```
///
/// `kind` is the subject kind (`model` exactly for `mte`); `example_vectors` is present only for
/// method `examples`; `provenance.seed` is a number (or a decimal string above 2⁵³).
public struct TaskRecord: Sendable, Equatable {
    /// The subject's name.
    public var name: String
    /// DTE, MTE or TextEmb.
    public var kind: TaskEmbeddingKind
    /// The task vector.
    public var vector: [Float]
    /// Every example's vector (method `examples`), else empty.
    public var examples: [[Float]]
    /// The subject's metadata (merged over what the store has for the subject).
    public var metadata: [String: JSONValue]
    /// How the vector was made: what the space it goes into must record.
    public var provenance: Provenance
    /// The 1-based line the record was read from (0 for a record not read from a file).
    public var line: Int

    /// The subject kind: `model` for an MTE, else `dataset`.
    public var subjectKind: SubjectKind { kind == .mte ? .model : .dataset }

    /// Creates a record.
    public init(name: String, kind: TaskEmbeddingKind, vector: [Float], examples: [[Float]] = [], metadata: [String: JSONValue] = [:],
                provenance: Provenance, line: Int = 0) {
        self.name = name
        self.kind = kind
        self.vector = vector
        self.examples = examples
        self.metadata = metadata
        self.provenance = provenance
        self.line = line
    }

    /// The record of a freshly computed embedding.
    public init(_ embedding: TaskEmbedding, name: String, metadata: [String: JSONValue] = [:]) {
        self.init(name: name, kind: embedding.kind, vector: embedding.vector, examples: embedding.examples, metadata: metadata,
                  provenance: embedding.provenance.spaceProvenance)
    }
}

/// Reads task records (``TaskRecord``) from JSON lines, with `FILE:LINE` errors naming the field.
public enum TaskRecordReader {
    /// The field that marks a line as a task record (vector lines may not have it).
    public static let marker = "provenance"

    /// The top-level fields of a record line.
    static let allowed: Set<String> = ["name", "kind", "embedding", "vector", "meta", "provenance", "example_vectors"]

    /// Whether parsed lines are task records: their first line has a `provenance` field.
    public static func isRecordFile(_ lines: [JSONLine]) -> Bool {
        lines.first?.object[marker] != nil
    }

    /// Decodes every line as a record; every line must be one, names once per file, one dimension.
    public static func decode(_ lines: [JSONLine], file: String) throws(ReaderError) -> [TaskRecord] {
        var records: [TaskRecord] = []
        var firstLineOfName: [String: Int] = [:]
        for line in lines {
            let record = try decode(line, file: file)
            if let previous = firstLineOfName[record.name] {
                throw ReaderError(.duplicateName, file: file, line: line.line, field: "name",
                                  "name \"\(record.name)\" already appeared on line \(previous); each name once per file")
            }
            if let first = records.first, first.vector.count != record.vector.count {
                throw ReaderError(.dimensionMismatch, file: file, line: line.line, field: "vector",
                                  "field \"vector\" has \(record.vector.count) numbers but line \(first.line) has \(first.vector.count); records of one file go into one space")
            }
            firstLineOfName[record.name] = line.line
            records.append(record)
        }
        return records
    }

    /// Decodes one record line.
    public static func decode(_ line: JSONLine, file: String) throws(ReaderError) -> TaskRecord {
        let fields = try JSONLineFields(line, file: file, allowed: allowed)
        guard line.object[marker] != nil else {
            throw fields.error(.missingField, marker, "missing field \"provenance\": a task record file (from fute-db ingest --out) has it on every line; vector files have none")
        }
        let name = try fields.string("name")
        try NameRules.check(name, field: "name", file: file, line: line.line)
        let embedding = try fields.string("embedding")
        guard let kind = TaskEmbeddingKind(rawValue: embedding) else {
            throw fields.error(.wrongType, "embedding", "field \"embedding\" must be \"dte\", \"mte\" or \"textemb\", got \"\(embedding)\"")
        }
        let subjectKind = try fields.string("kind")
        let expectedKind = kind == .mte ? SubjectKind.model : .dataset
        guard subjectKind == expectedKind.rawValue else {
            throw fields.error(.wrongType, "kind", "field \"kind\" is \"\(subjectKind)\" but a \(embedding) record is of a \(expectedKind.rawValue)")
        }
        let vector = try fields.floatVector("vector")
        let metadata = try fields.optionalObject("meta")?.mapValues(JSONValue.init) ?? [:]
        let provenance = try self.provenance(fields)
        var examples: [[Float]] = []
        if let value = line.object["example_vectors"], value != .null {
            guard case .array(let items) = value else {
                throw fields.error(.wrongType, "example_vectors", "field \"example_vectors\" must be an array of vectors, found \(value.typeName)")
            }
            for (index, item) in items.enumerated() {
                let element = JSONLine(line: line.line, object: ["example_vectors[\(index)]": item])
                let vector = try JSONLineFields(element, file: file, allowed: ["example_vectors[\(index)]"]).floatVector("example_vectors[\(index)]")
                if let first = examples.first, first.count != vector.count {
                    throw fields.error(.dimensionMismatch, "example_vectors", "example_vectors[\(index)] has \(vector.count) numbers but example_vectors[0] has \(first.count)")
                }
                examples.append(vector)
            }
        }
        return TaskRecord(name: name, kind: kind, vector: vector, examples: examples, metadata: metadata, provenance: provenance, line: line.line)
    }

    /// The `provenance` object: strings `method`, `encoder`, `encoderChecksum`, a seed, an `extra` object of strings.
    private static func provenance(_ fields: JSONLineFields) throws(ReaderError) -> Provenance {
        guard case .object(let object)? = fields.line.object[marker] else {
            throw fields.error(.wrongType, marker, "field \"provenance\" must be a JSON object {\"method\",\"encoder\",\"encoderChecksum\",\"seed\"?,\"extra\"}")
        }
        let known: Set<String> = ["method", "encoder", "encoderChecksum", "seed", "extra"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw fields.error(.unknownField, "provenance.\(unknown)", "unknown field \"provenance.\(unknown)\"; allowed: \(known.sorted().joined(separator: ", "))")
        }
        func text(_ key: String, _ value: ParsedJSON?) throws(ReaderError) -> String? {
            guard let value, value != .null else { return nil }
            guard case .string(let string) = value else {
                throw fields.error(.wrongType, "provenance.\(key)", "field \"provenance.\(key)\" must be a string, found \(value.typeName)")
            }
            return string
        }
        var provenance = Provenance(method: try text("method", object["method"]), encoder: try text("encoder", object["encoder"]),
                                    encoderChecksum: try text("encoderChecksum", object["encoderChecksum"]))
        switch object["seed"] {
        case nil, .null?: break
        case .number(let number)? where number >= 0 && number <= Double(Self.exactSeedLimit) && number == number.rounded():
            provenance.seed = UInt64(number)
        case .string(let digits)? where UInt64(digits) != nil:
            provenance.seed = UInt64(digits)
        case let other?:
            throw fields.error(.wrongType, "provenance.seed", "field \"provenance.seed\" must be a non-negative integer (a decimal string above 2^53), found \(other.typeName)")
        }
        if let extra = object["extra"], extra != .null {
            guard case .object(let pairs) = extra else {
                throw fields.error(.wrongType, "provenance.extra", "field \"provenance.extra\" must be an object of strings, found \(extra.typeName)")
            }
            for key in pairs.keys.sorted() {
                provenance.extra[key] = try text("extra.\(key)", pairs[key]) ?? ""
            }
        }
        // The comparison is typed in memory and kept in `extra` on disk, as the store keeps it.
        if let raw = provenance.extra.removeValue(forKey: Provenance.comparisonKey) {
            guard let comparison = Comparison(rawValue: raw) else {
                throw fields.error(.wrongType, "provenance.extra.\(Provenance.comparisonKey)",
                                   "field \"provenance.extra.\(Provenance.comparisonKey)\" must be one of \(Comparison.allCases.map(\.rawValue).joined(separator: ", ")), found \"\(raw)\"")
            }
            provenance.comparison = comparison
        }
        return provenance
    }

    /// Seeds up to 2⁵³ are written as JSON numbers (exact in a double); larger ones as decimal strings.
    public static let exactSeedLimit: UInt64 = 1 << 53
}

extension JSONValue {
    /// The store's JSON value of a parsed reader value.
    public init(_ parsed: ParsedJSON) {
        switch parsed {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let object): self = .object(object.mapValues(JSONValue.init))
        }
    }
}
