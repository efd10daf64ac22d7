import Foundation
import Storage
import XCTest

final class TransactionTests: XCTestCase {
    private func openEnvironment() throws -> (Environment, Database) {
        let env = try Environment(directory: try makeTemporaryDirectory(self))
        return (env, try env.openDatabase(named: "items"))
    }

    func testPrefixScanVisitsOnlyMatchingKeysInOrder() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in
            for space: UInt32 in [1, 2, 3] {
                for subject: UInt64 in [300, 2, 1 << 40, 17] {
                    try txn.put(BigEndian.bytes(subject), forKey: FixedWidthKey(space, subject), in: items)
                }
            }
        }
        var seen: [UInt64] = []
        let visited = try env.read { txn in
            try txn.scan(in: items, prefix: FixedWidthKey(UInt32(2))) { key, value in
                XCTAssertEqual(key.bigEndianUInt32(at: 0), 2)
                XCTAssertEqual(key.bigEndianUInt64(at: 4), value.bigEndianUInt64())
                seen.append(key.bigEndianUInt64(at: 4))
                return .continue
            }
        }
        XCTAssertEqual(visited, 4)
        XCTAssertEqual(seen, [2, 17, 300, 1 << 40])
    }

    func testScanStopsWhenAsked() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in for i: UInt64 in 0..<10 { try txn.put([0], forKey: FixedWidthKey(i), in: items) } }
        var keys: [UInt64] = []
        try env.read { txn in
            try txn.scan(in: items, startingAt: FixedWidthKey(UInt64(4))) { key, _ in
                keys.append(key.bigEndianUInt64())
                return keys.count == 3 ? .stop : .continue
            }
        }
        XCTAssertEqual(keys, [4, 5, 6])
    }

    func testDeleteAndDeleteAllByPrefix() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in
            for space: UInt32 in 1...3 { for subject: UInt64 in 1...5 { try txn.put([1], forKey: FixedWidthKey(space, subject), in: items) } }
        }
        let (removedOne, removedAbsent, removedPrefix) = try env.write { txn in
            (try txn.delete(FixedWidthKey(UInt32(1), UInt64(1)), in: items),
             try txn.delete(FixedWidthKey(UInt32(9), UInt64(1)), in: items),
             try txn.deleteAll(in: items, prefix: FixedWidthKey(UInt32(2))))
        }
        XCTAssertTrue(removedOne)
        XCTAssertFalse(removedAbsent)
        XCTAssertEqual(removedPrefix, 5)
        var remaining: [[UInt64]] = []
        try env.read { txn in
            try txn.forEach(in: items) { key, _ in remaining.append([UInt64(key.bigEndianUInt32()), key.bigEndianUInt64(at: 4)]) }
        }
        XCTAssertEqual(remaining, [[1, 2], [1, 3], [1, 4], [1, 5], [3, 1], [3, 2], [3, 3], [3, 4], [3, 5]])
    }

    func testReservedPutWritesInPlaceAndUpdateKeepsOldBytes() throws {
        let (env, items) = try openEnvironment()
        let key = FixedWidthKey(UInt64(3))
        try env.write { txn in
            try txn.putReserved(forKey: key, count: 6000, in: items) { buffer in  // overflow pages
                for i in 0..<buffer.count { buffer[i] = UInt8(i % 251) }
            }
        }
        try env.write { txn in
            let updated = try txn.update(forKey: key, in: items) { buffer -> Int in
                buffer[10] = 255
                return buffer.count
            }
            XCTAssertEqual(updated, 6000)
            XCTAssertNil(try txn.update(forKey: FixedWidthKey(UInt64(4)), in: items) { _ in 0 })
        }
        let stored = try env.read { try $0.bytes(forKey: key, in: items) } ?? []
        var expected = (0..<6000).map { UInt8($0 % 251) }
        expected[10] = 255
        XCTAssertEqual(stored, expected)
    }

    func testReservedPutWhoseFillThrowsRefusesToCommit() throws {
        struct Boom: Error {}
        let (env, items) = try openEnvironment()
        XCTAssertThrowsError(try env.write { txn in
            try txn.put([1], forKey: "other", in: items)
            _ = try? txn.putReserved(forKey: "k", count: 4, in: items) { _ in throw Boom() }  // error swallowed
        }) { XCTAssertEqual(($0 as? LMDBError)?.kind, .badTransaction) }
        XCTAssertEqual(try env.read { try $0.count(in: items) }, 0)
    }

    func testInsertDoesNotOverwrite() throws {
        let (env, items) = try openEnvironment()
        let results = try env.write { txn in
            [try txn.insert([1], forKey: "k", in: items), try txn.insert([2], forKey: "k", in: items)]
        }
        XCTAssertEqual(results, [true, false])
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "k", in: items) }, [1])
    }

    func testKeysOfInvalidSizeAreRejectedWithAdvice() throws {
        let (env, items) = try openEnvironment()
        for key in [[UInt8](), [UInt8](repeating: 1, count: 512)] {
            XCTAssertThrowsError(try env.write { try $0.put([1], forKey: key, in: items) }) { error in
                XCTAssertEqual((error as? LMDBError)?.kind, .badValueSize)
                XCTAssertTrue((error as? LMDBError)?.message.contains("511") ?? false)
            }
        }
        try env.write { try $0.put([1], forKey: [UInt8](repeating: 1, count: 511), in: items) }
    }

    func testEmptyValueRoundTrips() throws {
        let (env, items) = try openEnvironment()
        try env.write { try $0.put([UInt8](), forKey: "k", in: items) }
        XCTAssertEqual(try env.read { try $0.bytes(forKey: "k", in: items) }, [])
    }

    func testCursorMovesBothWays() throws {
        let (env, items) = try openEnvironment()
        try env.write { txn in for i: UInt32 in [5, 1, 3] { try txn.put([UInt8(i)], forKey: FixedWidthKey(i), in: items) } }
        let order = try env.read { txn in
            try txn.withCursor(in: items) { cursor -> [UInt32] in
                var keys: [UInt32] = []
                var more = try cursor.last()
                while more { keys.append(cursor.withCurrent { key, _ in key.bigEndianUInt32() }); more = try cursor.previous() }
                XCTAssertTrue(try cursor.seek(exactly: FixedWidthKey(UInt32(3))))
                XCTAssertFalse(try cursor.seek(exactly: FixedWidthKey(UInt32(4))))
                XCTAssertTrue(try cursor.seek(atLeast: FixedWidthKey(UInt32(4))))
                keys.append(cursor.withCurrent { key, _ in key.bigEndianUInt32() })
                return keys
            }
        }
        XCTAssertEqual(order, [5, 3, 1, 5])
    }
}

final class AppendingPutTests: XCTestCase {
    func testAppendingKeepsPagesFullAndFallsBackForOtherKeys() throws {
        let plainEnv = try Environment(directory: try makeTemporaryDirectory(self))
        let appendEnv = try Environment(directory: try makeTemporaryDirectory(self))
        let value = [UInt8](repeating: 3, count: 1_500)  // two fit in a 4 KiB page
        var pages: [Int] = []
        for (env, appending) in [(plainEnv, false), (appendEnv, true)] {
            let items = try env.openDatabase(named: "items")
            try env.write { txn in
                for i: UInt64 in 0..<400 { try txn.put(value, forKey: FixedWidthKey(i * 2), in: items, appending: appending) }
            }
            pages.append(try env.read { try $0.statistics(of: items).leafPages })
        }
        XCTAssertEqual(pages[1], 200, "appended: two entries per page")
        XCTAssertGreaterThan(pages[0], 300, "plain puts in key order leave pages half-empty")

        // Keys that are not the largest (in between, equal to the last) are stored normally.
        let items = try appendEnv.openDatabase(named: "items")
        try appendEnv.write { txn in
            try txn.put([1], forKey: FixedWidthKey(UInt64(3)), in: items, appending: true)
            try txn.put([2], forKey: FixedWidthKey(UInt64(798)), in: items, appending: true)
            try txn.putReserved(forKey: FixedWidthKey(UInt64(0)), count: 1, in: items, appending: true) { $0[0] = 9 }
        }
        try appendEnv.read { txn in
            XCTAssertEqual(try txn.bytes(forKey: FixedWidthKey(UInt64(3)), in: items), [1])
            XCTAssertEqual(try txn.bytes(forKey: FixedWidthKey(UInt64(798)), in: items), [2])
            XCTAssertEqual(try txn.bytes(forKey: FixedWidthKey(UInt64(0)), in: items), [9])
            XCTAssertEqual(try txn.count(in: items), 401)
        }
    }
}
