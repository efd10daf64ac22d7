import Foundation
import XCTest

/// Runs the built `fute-db` binary (found next to the test bundle in the build products dir).
struct FuteBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let url: URL

    static func locate() throws -> FuteBinary {
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0])
        candidates.append(runner.deletingLastPathComponent().appendingPathComponent("fute-db"))
        for bundle in Bundle.allBundles {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("fute-db"))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/fute-db"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("fute-db binary not found next to the test bundle (looked in \(candidates.map(\.path))); run `swift build` first")
        }
        return FuteBinary(url: found)
    }

    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FUTE_DB"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A temporary directory per test.
final class Scratch {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fute-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, bytes: Array(text.utf8)) }
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) throws -> String {
        try Data(bytes).write(to: url.appendingPathComponent(name))
        return path(name)
    }
}

/// Deterministic vectors (SplitMix64), independent of the code under test.
struct SeededVectors {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53) * 2 - 1
    }
    mutating func vectors(count: Int, dimension: Int) -> [[Float]] {
        (0..<count).map { _ in (0..<dimension).map { _ in Float(next()) } }
    }
}

func fvecsBytes(_ rows: [[Float]]) -> [UInt8] {
    rows.flatMap { row -> [UInt8] in
        var bytes = withUnsafeBytes(of: Int32(row.count).littleEndian) { Array($0) }
        for value in row { bytes += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
        return bytes
    }
}

func jsonLines(_ rows: [[Float]], prefix: String = "v") -> String {
    rows.enumerated().map { index, row in
        "{\"name\": \"\(prefix)\(index)\", \"vector\": [\(row.map { "\($0)" }.joined(separator: ", "))]}"
    }.joined(separator: "\n") + "\n"
}

func decodeJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}
