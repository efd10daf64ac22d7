import Foundation
import XCTest

/// The built `fute-db` binary, run as a separate process: the CLI and reliability tests judge
/// what a user sees (exit status, stdout, stderr), not library calls.
public struct FuteProcess: Sendable {
    /// What one run printed and returned.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Whether the process died from a signal (a Swift trap is SIGILL/SIGTRAP).
        public var signalled: Bool
    }

    /// The executable that ``run(_:environment:in:)`` starts.
    public let url: URL

    /// The MiniLM weights folder for tests that run the encoder: `FUTE_ENCODER_DIR`, else
    /// `<package root>/.build/models/all-MiniLM-L6-v2`, the first that holds `model.safetensors`;
    /// skips the test (visibly, saying where it looked) when neither does.
    public static func encoderDirectory() throws -> String {
        let environment = ProcessInfo.processInfo.environment["FUTE_ENCODER_DIR"]
        let candidates = [environment, packageRoot.appendingPathComponent(".build/models/all-MiniLM-L6-v2").path].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("model.safetensors")) }) else {
            throw XCTSkip("encoder weights not present (looked in \(candidates)); run Tools/fetch-minilm.sh .build/models/all-MiniLM-L6-v2")
        }
        return found
    }

    /// The package root (two levels above this file's folder).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Finds `fute-db` next to the test bundle (the build the tests run in: release with
    /// Tools/test.sh), else in `.build/debug`; skips the test visibly when absent.
    public static func locate() throws -> FuteProcess {
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

    /// Runs the binary with `arguments` (in `directory` when given) and waits for it. `FUTE_DB` is
    /// cleared so the caller's environment cannot pick a store; backtraces are off so a trap shows
    /// as a signal rather than minutes of symbolication.
    @discardableResult
    public func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["FUTE_DB"] = nil
        env["SWIFT_BACKTRACE"] = "enable=no"
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
                      stderr: String(decoding: errData, as: UTF8.self),
                      signalled: process.terminationReason == .uncaughtSignal)
    }
}

/// One temporary directory per test, removed when the value goes away.
public final class ScratchDirectory {
    /// The directory (created by `init`).
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("fute-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The path of `name` inside the directory (not created).
    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name` (creating sub-folders) and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String { try write(name, bytes: Array(text.utf8)) }

    /// Writes `bytes` to `name` (creating sub-folders) and returns its path.
    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let target = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: target)
        return target.path
    }
}
