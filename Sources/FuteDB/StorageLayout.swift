import Foundation
import Storage

#if _endian(big)
#error("fute-db stores float32 little-endian and copies vectors with memcpy: big-endian hosts are not supported")
#endif

/// The named LMDB databases of a store and the byte formats of their records.
///
/// ```
/// meta          "magic" → "fute-db"; "schema_version" → u32 BE;
///               "next_space_id" → u32 BE; "next_subject_id" → u64 BE
/// spaces        space name (UTF-8) → [u8 1][u32 BE space id] + JSON(Space)
/// subject_ids   subject name (UTF-8) → u64 BE subject id
/// subjects      u64 BE subject id → [u8 1][u8 kind: 0 dataset, 1 model, 2 example] + JSON(Subject)
/// embeddings    (u32 BE space id, u64 BE subject id) → 16-byte header + float32 LE × dimension
///               header: [u8 format 1][u8 kind: 0 raw, 1 textemb, 2 dte, 3 mte][u16 0]
///                       [u32 LE dimension][i64 LE created, ms since 1970]
/// observations  (u64 BE target id, u64 BE source id) + metric (UTF-8) → [u8 1][f64 LE score]
/// ```
/// Index databases (one set per space) belong to the Index module.
struct StorageLayout: Sendable {
    static let magic = Array("fute-db".utf8)
    /// The schema this library writes. Stores with a higher version are refused on open.
    static let schemaVersion: UInt32 = 1
    static let embeddingFormat: UInt8 = 1
    static let embeddingHeaderSize = 16
    static let recordVersion: UInt8 = 1
    /// LMDB's key size limit.
    static let maxKeyBytes = 511
    /// Longest metric name of an observation: the key also holds two 8-byte ids.
    static let maxObservationMetricBytes = maxKeyBytes - 16
    static let maxDimension = 1 << 24

    enum MetaKey {
        static let magic = "magic"
        static let schemaVersion = "schema_version"
        static let nextSpaceID = "next_space_id"
        static let nextSubjectID = "next_subject_id"
    }

    static let databaseNames = ["meta", "spaces", "subject_ids", "subjects", "embeddings", "observations"]

    let meta: Database
    let spaces: Database
    let subjectIDs: Database
    let subjects: Database
    let embeddings: Database
    let observations: Database

    init(opening environment: Environment, create: Bool) throws {
        meta = try environment.openDatabase(named: "meta", create: create)
        spaces = try environment.openDatabase(named: "spaces", create: create)
        subjectIDs = try environment.openDatabase(named: "subject_ids", create: create)
        subjects = try environment.openDatabase(named: "subjects", create: create)
        embeddings = try environment.openDatabase(named: "embeddings", create: create)
        observations = try environment.openDatabase(named: "observations", create: create)
    }
}

// MARK: - Record encoding

/// A space as stored: its id and definition.
struct StoredSpace: Sendable {
    var id: UInt32
    var space: Space
}

enum RecordCoding {
    static func encodeSpace(_ stored: StoredSpace) throws -> [UInt8] {
        [StorageLayout.recordVersion] + BigEndian.bytes(stored.id) + Array(try sortedEncoder().encode(stored.space))
    }

    static func decodeSpace(_ bytes: UnsafeRawBufferPointer, name: String) throws -> StoredSpace {
        guard bytes.count > 5, bytes[0] == StorageLayout.recordVersion else {
            throw FuteError(.corrupted, "the record of space \"\(name)\" is unreadable; restore the store from a backup")
        }
        do {
            let space = try JSONDecoder().decode(Space.self, from: Data(bytes[5...]))
            return StoredSpace(id: bytes.bigEndianUInt32(at: 1), space: space)
        } catch {
            throw FuteError(.corrupted, "the record of space \"\(name)\" is unreadable (\(error)); restore the store from a backup")
        }
    }

    static func encodeSubject(_ subject: Subject) throws -> [UInt8] {
        [StorageLayout.recordVersion, subjectKindByte(subject.kind)] + Array(try sortedEncoder().encode(subject))
    }

    static func decodeSubject(_ bytes: UnsafeRawBufferPointer) throws -> Subject {
        guard bytes.count > 2, bytes[0] == StorageLayout.recordVersion else {
            throw FuteError(.corrupted, "a subject record is unreadable; restore the store from a backup")
        }
        do {
            return try JSONDecoder().decode(Subject.self, from: Data(bytes[2...]))
        } catch {
            throw FuteError(.corrupted, "a subject record is unreadable (\(error)); restore the store from a backup")
        }
    }

    /// The kind of a subject record without decoding its JSON.
    static func subjectKind(_ bytes: UnsafeRawBufferPointer) -> SubjectKind? {
        guard bytes.count > 2 else { return nil }
        switch bytes[1] { case 0: return .dataset; case 1: return .model; case 2: return .example; default: return nil }
    }

    static func subjectKindByte(_ kind: SubjectKind) -> UInt8 {
        switch kind { case .dataset: 0; case .model: 1; case .example: 2 }
    }

    /// Writes an embedding value (header + floats) into `target`, which has `embeddingSize(dimension:)` bytes.
    static func writeEmbedding(_ vector: [Float], kind: EmbeddingKind, createdAt: Date, into target: UnsafeMutableRawBufferPointer) {
        precondition(target.count == embeddingSize(dimension: vector.count), "embedding buffer size mismatch")
        target.storeBytes(of: StorageLayout.embeddingFormat, toByteOffset: 0, as: UInt8.self)
        target.storeBytes(of: kind.byte, toByteOffset: 1, as: UInt8.self)
        target.storeBytes(of: UInt16(0), toByteOffset: 2, as: UInt16.self)
        target.storeBytes(of: UInt32(vector.count).littleEndian, toByteOffset: 4, as: UInt32.self)
        let milliseconds = Int64((createdAt.timeIntervalSince1970 * 1000).rounded())
        target.storeBytes(of: milliseconds.littleEndian, toByteOffset: 8, as: Int64.self)
        vector.withUnsafeBytes { floats in
            UnsafeMutableRawBufferPointer(rebasing: target[StorageLayout.embeddingHeaderSize...]).copyMemory(from: floats)
        }
    }

    static func embeddingSize(dimension: Int) -> Int { StorageLayout.embeddingHeaderSize + dimension * 4 }

    /// Checks an embedding value's header; returns its kind, or throws when unreadable.
    static func embeddingHeader(_ bytes: UnsafeRawBufferPointer, dimension: Int) throws -> (kind: EmbeddingKind, createdAt: Date) {
        guard bytes.count >= StorageLayout.embeddingHeaderSize, bytes[0] == StorageLayout.embeddingFormat,
              let kind = EmbeddingKind(byte: bytes[1]),
              UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) == UInt32(dimension),
              bytes.count == embeddingSize(dimension: dimension) else {
            throw FuteError(.corrupted, "an embedding record is unreadable (unknown format or wrong size); restore the store from a backup")
        }
        let milliseconds = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        return (kind, Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    /// Appends the floats of a checked embedding value to `output` (memcpy: stored little-endian).
    static func appendVector(_ bytes: UnsafeRawBufferPointer, dimension: Int, to output: inout [Float]) {
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: dimension))
        output.withUnsafeMutableBytes { out in
            UnsafeMutableRawBufferPointer(rebasing: out[(start * 4)...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[StorageLayout.embeddingHeaderSize...]))
        }
    }

    // Key decoding: stored keys are checked before use, so a damaged store throws `.corrupted`, never traps.

    /// The subject id of an `embeddings` key (u32 space, u64 subject).
    static func subjectID(embeddingKey key: UnsafeRawBufferPointer) throws -> UInt64 {
        guard key.count == 12 else { throw corruptKey("embedding") }
        return key.bigEndianUInt64(at: 4)
    }

    /// The id of a `subjects` key.
    static func subjectID(subjectKey key: UnsafeRawBufferPointer) throws -> UInt64 {
        guard key.count == 8 else { throw corruptKey("subject") }
        return key.bigEndianUInt64()
    }

    /// The id stored as a `subject_ids` value.
    static func subjectID(nameMapValue value: UnsafeRawBufferPointer) throws -> UInt64 {
        guard value.count == 8 else {
            throw FuteError(.corrupted, "a subject name maps to an unreadable id; restore the store from a backup")
        }
        return value.bigEndianUInt64()
    }

    /// The parts of an `observations` key.
    static func observationParts(_ key: UnsafeRawBufferPointer) throws -> (target: UInt64, source: UInt64, metric: String) {
        guard key.count > 16 else { throw corruptKey("observation") }
        return (key.bigEndianUInt64(at: 0), key.bigEndianUInt64(at: 8), String(decoding: key[16...], as: UTF8.self))
    }

    private static func corruptKey(_ kind: String) -> FuteError {
        FuteError(.corrupted, "a stored \(kind) key has the wrong length; restore the store from a backup")
    }

    static func observationKey(target: UInt64, source: UInt64, metric: String) -> [UInt8] {
        BigEndian.bytes(target, source) + Array(metric.utf8)
    }

    static func encodeScore(_ score: Double) -> [UInt8] {
        [StorageLayout.recordVersion] + withUnsafeBytes(of: score.bitPattern.littleEndian) { Array($0) }
    }

    static func decodeScore(_ bytes: UnsafeRawBufferPointer) throws -> Double {
        guard bytes.count == 9, bytes[0] == StorageLayout.recordVersion else {
            throw FuteError(.corrupted, "an observation record is unreadable; restore the store from a backup")
        }
        return Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
    }

    /// Deterministic JSON (sorted keys), so identical records are identical bytes.
    static func sortedEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
