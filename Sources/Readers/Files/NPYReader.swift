import Foundation

/// A 2-D matrix read from a NumPy `.npy` file, converted to float32 rows.
public struct NPYMatrix: Sendable, Equatable {
    /// Rows in C order.
    public var rows: [[Float]]
    /// The dtype the file stored (`<f4` or `<f8`).
    public var dtype: String
}

/// Reads NumPy `.npy` files (format versions 1.0, 2.0, 3.0).
///
/// Accepted: 2-D, little-endian `float32` (`<f4`) or `float64` (`<f8`), C order. Refused with a
/// clear error: Fortran order, any other dtype (including big-endian), other shapes, headers
/// that do not parse, and a data section whose size disagrees with the header (truncated or
/// with trailing bytes). Errors about values name the row as the record number (1-based).
public enum NPYReader {
    /// Reads and validates `path`.
    public static func read(_ path: String) throws(ReaderError) -> NPYMatrix {
        try parse(InputFile.bytes(path), file: path)
    }

    /// Parses bytes already in memory; `file` names them in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ReaderError) -> NPYMatrix {
        func headerError(_ message: String, field: String? = nil, code: ReaderError.Code = .badHeader) -> ReaderError {
            ReaderError(code, file: file, line: 0, field: field, "header: \(message)")
        }
        guard !bytes.isEmpty else { throw ReaderError(.empty, file: file, line: 0, "file is empty; expected a .npy matrix") }
        guard bytes.count >= 10, bytes.starts(with: [0x93] + Array("NUMPY".utf8)) else {
            throw headerError("not a .npy file (missing the \\x93NUMPY magic); save it with numpy.save")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw headerError("truncated header", code: .truncated) }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw headerError("unsupported .npy format version \(major).\(bytes[7]); save with numpy ≥ 1.9 defaults (version 1.0)", code: .unsupported)
        }
        guard headerStart + headerLength <= bytes.count else {
            throw headerError("header says it is \(headerLength) bytes but the file ends before that", code: .truncated)
        }
        guard let header = String(validating: bytes[headerStart..<headerStart + headerLength], as: UTF8.self) else {
            throw headerError("header is not text")
        }
        let dict = try parseHeaderDict(header, headerError)
        guard let descr = dict["descr"] else { throw headerError("missing 'descr'", field: "descr") }
        guard let fortran = dict["fortran_order"] else { throw headerError("missing 'fortran_order'", field: "fortran_order") }
        guard let shapeText = dict["shape"] else { throw headerError("missing 'shape'", field: "shape") }
        let itemSize: Int
        switch descr {
        case "'<f4'": itemSize = 4
        case "'<f8'": itemSize = 8
        default:
            throw headerError("dtype \(descr) is not supported; convert with array.astype('<f4') (float32 or float64, little-endian)",
                              field: "descr", code: .unsupported)
        }
        switch fortran {
        case "False": break
        case "True":
            throw headerError("Fortran (column-major) order is not supported; save numpy.ascontiguousarray(array)",
                              field: "fortran_order", code: .unsupported)
        default: throw headerError("fortran_order must be True or False, got \(fortran)", field: "fortran_order")
        }
        let shape = try parseShape(shapeText, headerError)
        guard shape.count == 2 else {
            throw headerError("shape \(shapeText) is \(shape.count)-D; expected a 2-D matrix (rows × dimension), e.g. array.reshape(n, d)",
                              field: "shape", code: .unsupported)
        }
        let (rowCount, columns) = (shape[0], shape[1])
        guard rowCount > 0 else { throw ReaderError(.empty, file: file, line: 0, field: "shape", "header: matrix has 0 rows; nothing to ingest") }
        guard columns > 0 else { throw ReaderError(.emptyVector, file: file, line: 0, field: "shape", "header: rows have 0 columns; a vector needs at least one number") }
        let dataStart = headerStart + headerLength
        let (elements, overflow1) = rowCount.multipliedReportingOverflow(by: columns)
        let (expected, overflow2) = elements.multipliedReportingOverflow(by: itemSize)
        guard !overflow1, !overflow2 else { throw headerError("shape \(shapeText) is impossibly large", field: "shape") }
        let actual = bytes.count - dataStart
        if actual < expected {
            let completeRows = actual / (columns * itemSize)
            throw ReaderError(.truncated, file: file, line: completeRows + 1,
                              "truncated: header promises \(rowCount)×\(columns) values (\(expected) bytes) but only \(actual) bytes follow; row \(completeRows + 1) is incomplete — re-export the file")
        }
        if actual > expected {
            throw headerError("header promises \(rowCount)×\(columns) values (\(expected) bytes) but \(actual) bytes follow; the header does not match the data — re-export the file", field: "shape")
        }
        var rows: [[Float]] = []
        rows.reserveCapacity(rowCount)
        var offset = dataStart
        for row in 0..<rowCount {
            var vector = [Float](repeating: 0, count: columns)
            for column in 0..<columns {
                let value: Float
                if itemSize == 4 {
                    let bits = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
                    value = Float(bitPattern: bits)
                } else {
                    var bits: UInt64 = 0
                    for byte in 0..<8 { bits |= UInt64(bytes[offset + byte]) << (8 * UInt64(byte)) }
                    let double = Double(bitPattern: bits)
                    if double.isFinite, !Float(double).isFinite {
                        throw ReaderError(.nonFinite, file: file, line: row + 1, field: "[\(row), \(column)]",
                                          "row \(row + 1) column \(column + 1): \(double) overflows a 32-bit float (max ±3.4e38); rescale the data")
                    }
                    value = Float(double)
                }
                guard value.isFinite else {
                    throw ReaderError(.nonFinite, file: file, line: row + 1, field: "[\(row), \(column)]",
                                      "row \(row + 1) column \(column + 1) is \(value); every value must be finite")
                }
                vector[column] = value
                offset += itemSize
            }
            rows.append(vector)
        }
        return NPYMatrix(rows: rows, dtype: descr.trimmingCharacters(in: ["'"]))
    }

    /// Parses the Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`
    /// into raw value texts by key.
    private static func parseHeaderDict(_ header: String, _ error: (String, String?, ReaderError.Code) -> ReaderError) throws(ReaderError) -> [String: String] {
        let text = header.trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("{"), text.hasSuffix("}") else { throw error("header is not a Python dict literal", nil, .badHeader) }
        var body = Substring(text.dropFirst().dropLast())
        var result: [String: String] = [:]
        while true {
            body = body.drop { $0 == " " || $0 == "," }
            if body.isEmpty { break }
            guard body.first == "'", let keyEnd = body.dropFirst().firstIndex(of: "'") else {
                throw error("cannot read the header dict near \(body.prefix(20))", nil, .badHeader)
            }
            let key = String(body[body.index(after: body.startIndex)..<keyEnd])
            body = body[body.index(after: keyEnd)...].drop { $0 == " " }
            guard body.first == ":" else { throw error("expected ':' after '\(key)'", key, .badHeader) }
            body = body.dropFirst().drop { $0 == " " }
            var valueEnd = body.startIndex
            var depth = 0
            var inQuote = false
            while valueEnd < body.endIndex {
                let character = body[valueEnd]
                if character == "'" { inQuote.toggle() }
                if !inQuote {
                    if character == "(" { depth += 1 }
                    if character == ")" { depth -= 1 }
                    if character == ",", depth == 0 { break }
                }
                valueEnd = body.index(after: valueEnd)
            }
            result[key] = body[..<valueEnd].trimmingCharacters(in: .whitespaces)
            body = body[valueEnd...]
        }
        return result
    }

    private static func parseShape(_ text: String, _ error: (String, String?, ReaderError.Code) -> ReaderError) throws(ReaderError) -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw error("shape must be a tuple, got \(text)", "shape", .badHeader) }
        let inner = text.dropFirst().dropLast()
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let value = Int(trimmed.hasSuffix("L") ? String(trimmed.dropLast()) : trimmed), value >= 0 else {
                throw error("shape entry '\(trimmed)' is not a non-negative integer", "shape", .badHeader)
            }
            dims.append(value)
        }
        return dims
    }
}
