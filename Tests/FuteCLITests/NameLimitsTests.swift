import Readers
import XCTest
@testable import FuteDB

/// The readers check names against the store's limits before writing; the numbers must agree.
final class NameLimitsTests: XCTestCase {
    func testReaderNameLimitsMatchTheStore() {
        XCTAssertEqual(NameRules.maxNameBytes, StorageLayout.maxKeyBytes)
        XCTAssertEqual(NameRules.maxMetricBytes, StorageLayout.maxObservationMetricBytes)
    }
}
