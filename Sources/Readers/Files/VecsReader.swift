/// Reads the texmex `.fvecs` / `.ivecs` formats: per record a little-endian int32 dimension,
/// then that many float32 (fvecs) or int32 (ivecs) values.
///
/// Refused with the record number (1-based): a dimension ≤ 0, a dimension that changes
/// mid-file, a truncated record, NaN or infinite values (fvecs), and an empty file.
public enum VecsReader {
    /// Reads a whole `.fvecs` file.
    public static func readFvecs(_ path: String) throws(ReaderError) -> [[Float]] {
        try parseFvecs(InputFile.bytes(path), file: path)
    }

    /// Reads a whole `.ivecs` file.
    public static func readIvecs(_ path: String) throws(ReaderError) -> [[Int32]] {
        try parse(InputFile.bytes(path), file: path) { Int32(bitPattern: $0) }
    }

    /// Parses `.fvecs` bytes already in memory.
    public static func parseFvecs(_ bytes: [UInt8], file: String) throws(ReaderError) -> [[Float]] {
        let rows = try parse(bytes, file: file) { Float(bitPattern: $0) }
        for (row, vector) in rows.enumerated() {
            if let column = vector.firstIndex(where: { !$0.isFinite }) {
                throw ReaderError(.nonFinite, file: file, line: row + 1, field: "[\(column)]",
                                  "record \(row + 1) value \(column + 1) is \(vector[column]); every value must be finite")
            }
        }
        return rows
    }

    /// Parses `.ivecs` bytes already in memory.
    public static func parseIvecs(_ bytes: [UInt8], file: String) throws(ReaderError) -> [[Int32]] {
        try parse(bytes, file: file) { Int32(bitPattern: $0) }
    }

    private static func parse<T>(_ bytes: [UInt8], file: String, convert: (UInt32) -> T) throws(ReaderError) -> [[T]] {
        guard !bytes.isEmpty else { throw ReaderError(.empty, file: file, line: 0, "file is empty; expected records of (int32 dimension, values)") }
        func word(_ offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        }
        var rows: [[T]] = []
        var offset = 0
        var firstDimension: Int?
        while offset < bytes.count {
            let record = rows.count + 1
            guard offset + 4 <= bytes.count else {
                throw ReaderError(.truncated, file: file, line: record,
                                  "truncated: record \(record) has only \(bytes.count - offset) of the 4 dimension bytes; the file was cut short")
            }
            let dimension = Int(Int32(bitPattern: word(offset)))
            guard dimension > 0 else {
                throw ReaderError(.badHeader, file: file, line: record, field: "dimension",
                                  dimension == 0 ? "record \(record) has dimension 0 (empty vector); a vector needs at least one value"
                                                 : "record \(record) has negative dimension \(dimension); the file is corrupt or not .fvecs/.ivecs")
            }
            if let firstDimension, firstDimension != dimension {
                throw ReaderError(.dimensionMismatch, file: file, line: record, field: "dimension",
                                  "record \(record) has dimension \(dimension) but record 1 has \(firstDimension); every record must have the same dimension")
            }
            firstDimension = dimension
            let end = offset + 4 + 4 * dimension
            guard end <= bytes.count else {
                throw ReaderError(.truncated, file: file, line: record,
                                  "truncated: record \(record) needs \(4 * dimension) value bytes but \(bytes.count - offset - 4) remain; the file was cut short")
            }
            var row: [T] = []
            row.reserveCapacity(dimension)
            var position = offset + 4
            while position < end {
                row.append(convert(word(position)))
                position += 4
            }
            rows.append(row)
            offset = end
        }
        return rows
    }
}
