import Foundation

/// A problem with an input file, located precisely enough to fix it.
///
/// `description` is `FILE:LINE: message`, where LINE is the 1-based line for text formats
/// (`.jsonl`, names files) and the 1-based record (row) number for binary formats (`.npy`,
/// `.fvecs`, `.ivecs`; 0 means the file header). The CLI prints it after `fute-db: error: `.
public struct ReaderError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem, for tests and callers that branch on it.
    public enum Code: String, Sendable, Equatable {
        /// Missing file, directory, no permission, read failure.
        case unreadable
        /// No records.
        case empty
        /// Bytes that are not UTF-8 in a text format.
        case invalidUTF8
        /// JSON syntax error (including duplicate keys).
        case malformedJSON
        /// A field of the wrong JSON type or an invalid value.
        case wrongType
        /// A required field is absent.
        case missingField
        /// A top-level field that is not allowed.
        case unknownField
        /// NaN, infinity, or a number too large for float32/float64.
        case nonFinite
        /// A vector with no values.
        case emptyVector
        /// Vectors of different lengths in one input, or against the space.
        case dimensionMismatch
        /// The same name (or observation) twice in one file.
        case duplicateName
        /// The file ends inside a record.
        case truncated
        /// A binary header that cannot be read or disagrees with the data.
        case badHeader
        /// A valid but unsupported layout (dtype, order, rank, file type).
        case unsupported
        /// A names file whose count differs from the rows.
        case countMismatch
        /// A record made another way (encoder, method, seed, settings) than the space it goes into.
        case provenanceMismatch
    }

    /// The problem category.
    public var code: Code
    /// The file as given on the command line.
    public var file: String
    /// 1-based line (text) or record (binary); 0 = whole file / header.
    public var line: Int
    /// The field involved, if any (`vector`, `name`, `descr`, …).
    public var field: String?
    /// What happened and what to do.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, file: String, line: Int, field: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `FILE:LINE: message`.
    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads a whole input file with errors that say what to do.
enum InputFile {
    static func bytes(_ path: String) throws(ReaderError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReaderError(.unreadable, file: path, line: 0, "no such file; check the path")
        }
        if isDirectory.boolValue {
            throw ReaderError(.unreadable, file: path, line: 0, "is a directory, expected a file")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ReaderError(.unreadable, file: path, line: 0, "permission denied; make the file readable (chmod +r)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ReaderError(.unreadable, file: path, line: 0, "cannot open the file for reading")
        }
        defer { try? handle.close() }
        do {
            let data = try handle.readToEnd() ?? Data()
            return [UInt8](data)
        } catch {
            throw ReaderError(.unreadable, file: path, line: 0, "read failed (\(error.localizedDescription))")
        }
    }
}
