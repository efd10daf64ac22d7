import Foundation

/// A problem with an input file, located precisely enough to fix it.
///
/// `description` is `FILE:LINE: message`, where LINE is the 1-based line for text formats
/// (`.jsonl`, names files) and the 1-based record (row) number for binary formats (`.npy`,
/// `.fvecs`, `.ivecs`; 0 means the file header). The CLI prints it after `fute-db: error: `.
public struct ReaderError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem, for tests and callers that branch on it.
    public enum Code: String, Sendable, Equatable {
        case unreadable, empty, invalidUTF8, malformedJSON, wrongType, missingField, unknownField
        case nonFinite, emptyVector, dimensionMismatch, duplicateName, truncated, badHeader, unsupported
        case countMismatch
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
