import XCTest
@testable import Readers

final class ReaderBinaryTests: XCTestCase {
    let expected: [[Float]] = (0..<3).map { row in (0..<4).map { Float(row * 4 + $0) / 4 - 1 } }

    func npy(_ name: String) -> String { readerFixtures.appendingPathComponent("npy/\(name)").path }

    func testReadsNumPyFloat32Float64AndVersion2() throws {
        XCTAssertEqual(try NPYReader.read(npy("f4.npy")).rows, expected)
        XCTAssertEqual(try NPYReader.read(npy("f8.npy")).rows, expected)
        XCTAssertEqual(try NPYReader.read(npy("v2.npy")).rows, expected)
        let file = try VectorReader.read(npy("f4.npy"))
        XCTAssertEqual(file.records.map(\.name), ["row-0", "row-1", "row-2"])
        XCTAssertEqual(file.records.map(\.line), [1, 2, 3])
        XCTAssertEqual(file.dimension, 4)
    }

    func testRefusesUnsupportedNumPyLayouts() {
        let cases: [(String, ReaderError.Code, String)] = [
            ("fortran.npy", .unsupported, "Fortran (column-major) order is not supported"),
            ("big-endian.npy", .unsupported, "dtype '>f4' is not supported"),
            ("int32.npy", .unsupported, "dtype '<i4' is not supported"),
            ("one-d.npy", .unsupported, "is 1-D; expected a 2-D matrix"),
            ("nan.npy", .nonFinite, "row 3 column 1 is nan"),
            ("f8-overflow.npy", .nonFinite, "row 2 column 3: 1e+300 overflows a 32-bit float"),
        ]
        for (name, code, fragment) in cases {
            let failure = expectReaderError { try NPYReader.read(npy(name)) }
            XCTAssertEqual(failure?.code, code, name)
            XCTAssertTrue(failure?.message.contains(fragment) ?? false, "\(name) → \(String(describing: failure))")
        }
    }

    func testRefusesLyingAndTruncatedNumPyFiles() throws {
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: npy("f4.npy"))))
        // Cut in the middle of row 3.
        var failure = expectReaderError { try NPYReader.parse(Array(good.dropLast(6)), file: "t.npy") }
        XCTAssertEqual(failure?.code, .truncated)
        XCTAssertEqual(failure?.line, 3)
        // Header claims 4 rows: the data is short by a row.
        let longer = replace(good, "(3, 4)", "(4, 4)")
        failure = expectReaderError { try NPYReader.parse(longer, file: "t.npy") }
        XCTAssertEqual(failure?.code, .truncated)
        // Header claims 2 rows: trailing bytes.
        failure = expectReaderError { try NPYReader.parse(replace(good, "(3, 4)", "(2, 4)"), file: "t.npy") }
        XCTAssertEqual(failure?.code, .badHeader)
        XCTAssertTrue(failure?.message.contains("header does not match the data") ?? false)
        // Header length pointing past the end.
        var badLength = good
        badLength[8] = 0xFF
        badLength[9] = 0x7F
        XCTAssertEqual(expectReaderError { try NPYReader.parse(badLength, file: "t.npy") }?.code, .truncated)
        XCTAssertEqual(expectReaderError { try NPYReader.parse(Array("hello".utf8), file: "t.npy") }?.code, .badHeader)
        XCTAssertEqual(expectReaderError { try NPYReader.parse([], file: "t.npy") }?.code, .empty)
        XCTAssertEqual(expectReaderError { try NPYReader.parse(Array(good.prefix(9)), file: "t.npy") }?.code, .badHeader)
    }

    func testNamesFileForNumPy() throws {
        let scratch = try ReaderScratch()
        let names = try scratch.file("names.txt", "a\nb\r\nc\n")
        XCTAssertEqual(try VectorReader.read(npy("f4.npy"), namesFile: names).records.map(\.name), ["a", "b", "c"])
        let short = try scratch.file("short.txt", "a\nb\n")
        XCTAssertEqual(expectReaderError { try VectorReader.read(self.npy("f4.npy"), namesFile: short) }?.code, .countMismatch)
        let duplicate = try scratch.file("dup.txt", "a\nb\na\n")
        let failure = expectReaderError { try VectorReader.read(self.npy("f4.npy"), namesFile: duplicate) }
        XCTAssertEqual(failure?.line, 3)
        XCTAssertEqual(failure?.code, .duplicateName)
        let blank = try scratch.file("blank.txt", "a\n\nc\n")
        XCTAssertEqual(expectReaderError { try VectorReader.read(self.npy("f4.npy"), namesFile: blank) }?.line, 2)
    }

    func testFvecsRoundTripAndErrors() throws {
        let rows: [[Float]] = [[1, 2, 3], [-1, 0.5, 4], [0, 0, 1e-3]]
        XCTAssertEqual(try VecsReader.parseFvecs(fvecs(rows), file: "x.fvecs"), rows)
        XCTAssertEqual(try VecsReader.parseIvecs(littleEndian([2, 7, 9, 2, 1, -1]), file: "x.ivecs"), [[7, 9], [1, -1]])

        var failure = expectReaderError { try VecsReader.parseFvecs(fvecs(rows + [[1, 2]]), file: "x.fvecs") }
        XCTAssertEqual(failure?.code, .dimensionMismatch)
        XCTAssertEqual(failure?.description, "x.fvecs:4: record 4 has dimension 2 but record 1 has 3; every record must have the same dimension")
        failure = expectReaderError { try VecsReader.parseFvecs(Array(fvecs(rows).dropLast(2)), file: "x.fvecs") }
        XCTAssertEqual(failure?.code, .truncated)
        XCTAssertEqual(failure?.line, 3)
        failure = expectReaderError { try VecsReader.parseFvecs(fvecs(rows) + [1, 0], file: "x.fvecs") }
        XCTAssertEqual(failure?.code, .truncated)
        XCTAssertEqual(failure?.line, 4)
        XCTAssertEqual(expectReaderError { try VecsReader.parseFvecs(fvecs([[1, .nan]]), file: "x.fvecs") }?.code, .nonFinite)
        XCTAssertEqual(expectReaderError { try VecsReader.parseFvecs(fvecs([[.infinity]]), file: "x.fvecs") }?.code, .nonFinite)
        XCTAssertEqual(expectReaderError { try VecsReader.parseFvecs(littleEndian([0]), file: "x.fvecs") }?.code, .badHeader)
        XCTAssertEqual(expectReaderError { try VecsReader.parseFvecs(littleEndian([-5, 1]), file: "x.fvecs") }?.code, .badHeader)
        XCTAssertEqual(expectReaderError { try VecsReader.parseFvecs([], file: "x.fvecs") }?.code, .empty)
    }

    func testReadsSharedSiftQueriesWhenPresent() throws {
        let path = try TestResources.shared("data/siftsmall/siftsmall_query.fvecs")
        let rows = try VecsReader.readFvecs(path)
        XCTAssertEqual(rows.count, 100)
        XCTAssertEqual(rows[0].count, 128)
    }

    /// Replaces the first occurrence of `old` (same length as `new`) in the header bytes.
    private func replace(_ bytes: [UInt8], _ old: String, _ new: String) -> [UInt8] {
        let old = Array(old.utf8), new = Array(new.utf8)
        precondition(old.count == new.count, "same-length replacement keeps the header length")
        var result = bytes
        for start in 0...(bytes.count - old.count) where Array(bytes[start..<start + old.count]) == old {
            result.replaceSubrange(start..<start + old.count, with: new)
            break
        }
        return result
    }
}
