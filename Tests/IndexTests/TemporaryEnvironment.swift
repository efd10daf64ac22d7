import Foundation
import Storage
import XCTest

extension XCTestCase {
    /// An LMDB environment (noSync) in a fresh temporary directory named `prefix-UUID`, removed
    /// when the test ends.
    func makeEnvironment(_ prefix: String = "fute-index") throws -> Environment {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        var configuration = EnvironmentConfiguration()
        configuration.noSync = true
        return try Environment(directory: path, configuration: configuration)
    }
}
