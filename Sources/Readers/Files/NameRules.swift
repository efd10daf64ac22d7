/// Limits on names the store accepts, checked while reading so that a bad name is reported with
/// its file and line before anything is written (the store would refuse it mid-batch).
public enum NameRules {
    /// Longest subject name in UTF-8 bytes (LMDB's default key limit; `StorageLayout.maxKeyBytes`).
    public static let maxNameBytes = 511
    /// Longest observation metric name in UTF-8 bytes (the key also holds two 8-byte ids).
    public static let maxMetricBytes = maxNameBytes - 16

    /// Throws when `value` is too long or contains a NUL character.
    public static func check(_ value: String, field: String, limit: Int = maxNameBytes, file: String, line: Int) throws(ReaderError) {
        let bytes = value.utf8.count
        guard bytes <= limit else {
            throw ReaderError(.wrongType, file: file, line: line, field: field,
                              "\(field) is \(bytes) UTF-8 bytes long, over the limit of \(limit); shorten it")
        }
        guard !value.utf8.contains(0) else {
            throw ReaderError(.wrongType, file: file, line: line, field: field, "\(field) contains a NUL character; remove it")
        }
    }
}
