import Storage
import XCTest

final class KeyEncodingTests: XCTestCase {
    /// Lexicographic (memcmp) order of the encoded bytes, as LMDB compares keys.
    private func bytewiseLess(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    func testBigEndianKeysSortNumerically() {
        var values: [UInt64] = [0, 1, 255, 256, 65_535, 65_536, 1 << 32, (1 << 32) + 1, UInt64.max - 1, UInt64.max]
        var generator = SystemRandomNumberGenerator()
        values += (0..<200).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
        let byBytes = values.sorted { bytewiseLess(FixedWidthKey($0).bytes, FixedWidthKey($1).bytes) }
        XCTAssertEqual(byBytes, values.sorted())
        // Little-endian would not: 256 encodes as 00 01 …, which sorts before 1 (01 00 …).
        XCTAssertTrue(bytewiseLess(withUnsafeBytes(of: UInt64(256).littleEndian, Array.init), withUnsafeBytes(of: UInt64(1).littleEndian, Array.init)))
    }

    func testTupleKeysSortByFirstThenSecondComponent() {
        let pairs: [(UInt32, UInt64)] = [(2, 1), (1, UInt64.max), (1, 0), (300, 5), (2, 0), (1, 256)]
        let sorted = pairs.sorted { bytewiseLess(FixedWidthKey($0.0, $0.1).bytes, FixedWidthKey($1.0, $1.1).bytes) }
        XCTAssertEqual(sorted.map { [UInt64($0.0), $0.1] }, [[1, 0], [1, 256], [1, UInt64.max], [2, 0], [2, 1], [300, 5]])
    }

    func testEncodingIsBigEndianAndFixedWidth() {
        XCTAssertEqual(FixedWidthKey(UInt32(0x0102_0304)).bytes, [1, 2, 3, 4])
        XCTAssertEqual(FixedWidthKey(UInt32(1), UInt64(2)).bytes, [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2])
        XCTAssertEqual(FixedWidthKey(UInt32(1), UInt64(2)).bytes, BigEndian.bytes(UInt32(1), UInt64(2)))
        XCTAssertEqual(FixedWidthKey(UInt32(1), UInt32(2), UInt64(3)).count, 16)
        XCTAssertEqual(FixedWidthKey(UInt32(7)).appending(UInt64(9)), FixedWidthKey(UInt32(7), UInt64(9)))
    }

    func testDecodingReadsUnalignedBigEndian() {
        let bytes: [UInt8] = [0xFF] + FixedWidthKey(UInt32(0xDEAD_BEEF), UInt64(0x0102_0304_0506_0708)).bytes
        bytes.withUnsafeBytes { raw in
            XCTAssertEqual(raw.bigEndianUInt32(at: 1), 0xDEAD_BEEF)
            XCTAssertEqual(raw.bigEndianUInt64(at: 5), 0x0102_0304_0506_0708)
        }
    }
}
