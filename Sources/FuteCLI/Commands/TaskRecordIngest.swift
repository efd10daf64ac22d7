import Embedders
import Foundation
import FuteDB

/// Task records (``TaskRecord``) as JSON lines: written by `fute-db ingest --dataset F --out R.jsonl`,
/// stored by `fute-db ingest R.jsonl --space S`.
enum TaskRecordOutput {
    /// One record as one compact JSON line (no newline). Floats are printed so that they read back
    /// bit for bit (``OutputJSON/float(_:)``); `meta` keys are sorted.
    static func line(_ record: TaskRecord) -> String {
        var fields: [(String, OutputJSON)] = [
            ("name", .string(record.name)),
            ("kind", .string(record.subjectKind.rawValue)),
            ("embedding", .string(record.kind.rawValue)),
            ("provenance", provenance(record.provenance)),
            ("meta", OutputJSON(.object(record.metadata))),
            ("vector", floats(record.vector)),
        ]
        if !record.examples.isEmpty {
            fields.append(("example_vectors", .array(record.examples.map(floats))))
        }
        return OutputJSON.object(fields).rendered
    }

    /// The provenance object: every field of ``Provenance``, seeds above 2⁵³ as decimal strings,
    /// ``Provenance/comparison`` in `extra` as the store keeps it.
    static func provenance(_ p: Provenance) -> OutputJSON {
        var fields: [(String, OutputJSON)] = [("method", .string(p.method)), ("encoder", .string(p.encoder)),
                                              ("encoderChecksum", .string(p.encoderChecksum))]
        if let seed = p.seed {
            fields.append(("seed", seed <= TaskRecordReader.exactSeedLimit ? .int(Int(seed)) : .string(String(seed))))
        }
        var extra = p.extra
        if p.comparison != .metric { extra[Provenance.comparisonKey] = p.comparison.rawValue }
        fields.append(("extra", .object(extra.keys.sorted().map { ($0, .string(extra[$0])) })))
        return .object(fields)
    }

    /// A vector as a JSON array of round-tripping floats.
    static func floats(_ values: [Float]) -> OutputJSON { .array(values.map(OutputJSON.float)) }

    /// Writes `record` as the whole content of `path` (one line), atomically: a reader never sees half a record.
    static func write(_ record: TaskRecord, to path: String) throws {
        do {
            try Data((line(record) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandError("cannot write --out \(path): \(error.localizedDescription); check the directory exists and is writable")
        }
    }
}

/// The task record files of one `fute-db ingest FILE... --space S`, read and validated.
struct TaskRecordFile {
    /// The file as given.
    var file: String
    /// Its records in file order.
    var records: [TaskRecord]
}
