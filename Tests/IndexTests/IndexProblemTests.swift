import Foundation
import Storage
import XCTest
@testable import Index

/// Typed index problems and graph lookups that keep real errors (issue 13, findings 4 and 6).
final class IndexProblemTests: XCTestCase {
    /// Callers used to find reachability problems with `problem.contains("unreachable")`.
    func testReachabilityIsACaseNotAWordInTheText() {
        let unreachable = IndexProblem.unreachable(count: 3, of: 40, layer: 0, example: 7)
        XCTAssertTrue(unreachable.isUnreachable)
        XCTAssertEqual(unreachable.description, "3 of 40 nodes unreachable from the entry point on layer 0, e.g. slot 7")
        let others: [IndexProblem] = [
            .keyInTwoSlots(key: 1), .keyMapMismatch(key: 1, slot: 2), .keySetMismatch(extra: 1, missing: 0),
            .noEntryPoint(liveNodes: 4), .entryPointNotLive(slot: 1), .entryPointLevelMismatch(headerLevel: 2, nodeLevel: -1),
            .entryPointNotHighest(entryLevel: 1, highestLevel: 3), .tooManyLinks(slot: 1, layer: 0, count: 40, capacity: 32),
            .duplicateLinks(slot: 1, layer: 0), .selfLink(slot: 1, layer: 0), .linkToMissingSlot(slot: 1, layer: 0, target: 9),
            .linkAboveTargetLevel(slot: 1, layer: 2, target: 9, targetLevel: 0), .liveCountMismatch(header: 3, blocks: 4),
            .keyMapCountMismatch(entries: 3, liveNodes: 4), .inDegreeMismatch(slot: 5, layer: 0, stored: 2, counted: 3),
        ]
        for problem in others { XCTAssertFalse(problem.isUnreachable, problem.description) }
        XCTAssertEqual(IndexProblem.linkToMissingSlot(slot: 1, layer: 0, target: 9).description, "slot 1 links to free/missing slot 9 on layer 0")
        XCTAssertEqual(IndexProblem.inDegreeMismatch(slot: 5, layer: 0, stored: 2, counted: 3).description,
                       "slot 5 records 2 in-links on layer 0 but 3 links point at it")
    }

    func testExistsIsFalseOnlyWhenTheIndexDatabasesAreAbsent() throws {
        let path = NSTemporaryDirectory() + "fute-index-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        let env = try Environment(directory: path)
        _ = try env.openDatabase(named: "items")
        XCTAssertFalse(try env.read { try HNSWGraph.exists(spaceID: 1, in: $0) })
    }

    /// Regression: `try?` turned any failure to open the index databases into "no graph".
    func testExistsPropagatesAFailureToOpenTheIndexDatabases() throws {
        let path = NSTemporaryDirectory() + "fute-index-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        var configuration = EnvironmentConfiguration()
        configuration.maxDatabases = 1
        let env = try Environment(directory: path, configuration: configuration)
        _ = try env.openDatabase(named: "items")  // takes the one database slot
        XCTAssertThrowsError(try env.read { try HNSWGraph.exists(spaceID: 1, in: $0) }) { error in
            XCTAssertEqual((error as? LMDBError)?.kind, .databasesFull, "\(error)")
        }
    }
}
