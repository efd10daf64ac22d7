import Foundation
import TestSupport
import XCTest

/// Locates the encoder weights and `../shared` for tests; both are optional and tests skip visibly.
enum TestResources {
    /// `<package root>` from this file's path.
    static var packageRoot: URL { FuteProcess.packageRoot }

    /// `FUTE_ENCODER_DIR`, else `<package root>/.build/models/all-MiniLM-L6-v2`; skips when absent.
    static func encoderDirectory() throws -> String { try FuteProcess.encoderDirectory() }

    /// `FUTE_SHARED_DIR/<relative>`, else `<package root>/../shared/<relative>`; skips when absent.
    static func shared(_ relative: String) throws -> String {
        let root = ProcessInfo.processInfo.environment["FUTE_SHARED_DIR"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
        let path = root.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("../shared/\(relative) not present: \(path)")
        }
        return path
    }
}
