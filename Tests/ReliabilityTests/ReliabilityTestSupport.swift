import Foundation
import XCTest

/// The built `fute-db` binary, run as a separate process (the tests judge what a user sees).
struct FuteProcess {
    /// What one run printed and returned.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Whether the process died from a signal (a Swift trap is SIGILL/SIGTRAP).
        var signalled: Bool
    }

    let url: URL

    /// The package root (two levels above this file's folder).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Finds `fute-db` next to the test bundle, else in `.build/debug`; skips visibly when absent.
    static func locate() throws -> FuteProcess {
        var candidates: [URL] = []
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("fute-db"))
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("fute-db"))
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/fute-db"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("fute-db binary not found (looked in \(candidates.map(\.path))); run `swift build` first")
        }
        return FuteProcess(url: found)
    }

    /// Runs the binary with `arguments` and waits for it.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FUTE_DB"] = nil
        env["SWIFT_BACKTRACE"] = "enable=no"  // a trap must show as a signal, not minutes of symbolication
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self),
                      signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// One temporary directory per test, removed afterwards.
final class ScratchDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fute-rel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, bytes: Array(text.utf8)) }
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        let target = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: target)
        return target.path
    }
}

/// Deterministic values (SplitMix64), independent of the code under test.
struct SplitMixValues {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func nextBits() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func next() -> Float { Float(Double(nextBits() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func vectors(count: Int, dimension: Int) -> [[Float]] {
        (0..<count).map { _ in (0..<dimension).map { _ in next() } }
    }
}

/// JSONL vector records `{"name": "<prefix>i", "vector": [...]}` (Swift's `description` round-trips floats).
func vectorLines(_ rows: [[Float]], prefix: String = "v") -> String {
    rows.enumerated().map { index, row in
        "{\"name\": \"\(prefix)\(index)\", \"vector\": [\(row.map { "\($0)" }.joined(separator: ", "))]}"
    }.joined(separator: "\n") + "\n"
}

/// texmex `.fvecs` bytes.
func fvecs(_ rows: [[Float]]) -> [UInt8] {
    rows.flatMap { row -> [UInt8] in
        var bytes = withUnsafeBytes(of: Int32(row.count).littleEndian) { Array($0) }
        for value in row { bytes += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        return bytes
    }
}

/// A `.npy` version 1.0 file with `header` as its dictionary and `payload` as the data.
func npy(header dictionary: String, payload: [UInt8]) -> [UInt8] {
    var text = dictionary
    while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
    text += "\n"
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count & 0xFF), UInt8(text.utf8.count >> 8)] + Array(text.utf8) + payload
}

/// Little-endian float32 bytes of `values`.
func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// Everything observable about a store, for "unchanged" assertions: `stats --json` and, when the
/// store is an LMDB environment, `mdb_dump -a` (every named database, keys and values in hex);
/// otherwise the bytes of every file in the directory.
func storeFingerprint(_ fute: FuteProcess, db: String) throws -> String {
    let stats = try fute.run(["stats", "--db", db, "--json"])
    var fingerprint = "status \(stats.status)\n\(stats.stdout)\n"
    let dataFile = (db as NSString).appendingPathComponent("data.mdb")
    if FileManager.default.fileExists(atPath: dataFile) {
        let dump = Process()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_dump")
        dump.arguments = ["-a", db]
        let out = Pipe()
        dump.standardOutput = out
        dump.standardError = Pipe()
        try dump.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        dump.waitUntilExit()
        XCTAssertEqual(dump.terminationStatus, 0, "mdb_dump -a \(db) failed")
        fingerprint += String(decoding: data, as: UTF8.self)
    } else {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: db))?.sorted() ?? []
        for name in names {
            let data = FileManager.default.contents(atPath: (db as NSString).appendingPathComponent(name)) ?? Data()
            // FNV-1a over the whole file (Data's own hash looks at a prefix only).
            let digest = data.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
            fingerprint += "\(name) \(data.count) \(String(digest, radix: 16))\n"
        }
    }
    return fingerprint
}

/// Asserts the run failed the way issue 6 asks: non-zero exit, no signal (trap), exactly one
/// stderr line starting `fute-db: error: `, containing every fragment.
func assertCleanFailure(_ result: FuteProcess.Result, expectedStatus: Int32? = nil, contains fragments: [String],
                        _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(result.signalled, "\(label): killed by a signal (a trap?): \(result.stderr)", file: file, line: line)
    XCTAssertNotEqual(result.status, 0, "\(label): exit 0", file: file, line: line)
    if let expectedStatus { XCTAssertEqual(result.status, expectedStatus, "\(label): \(result.stderr)", file: file, line: line) }
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    XCTAssertTrue(result.stderr.hasPrefix("fute-db: error: "), "\(label): \(result.stderr)", file: file, line: line)
    // Usage errors add a second `usage: see …` line by design; anything else must be one line.
    let extra = lines.dropFirst().filter { !$0.hasPrefix("usage: see ") }
    XCTAssertTrue(extra.isEmpty, "\(label): more than one line: \(result.stderr)", file: file, line: line)
    XCTAssertFalse(result.stderr.contains("Fatal error") || result.stderr.contains("Stack dump") || result.stderr.contains("💣"),
                   "\(label): runtime trap: \(result.stderr)", file: file, line: line)
    for fragment in fragments {
        XCTAssertTrue(result.stderr.contains(fragment), "\(label): expected '\(fragment)' in: \(result.stderr)", file: file, line: line)
    }
}
