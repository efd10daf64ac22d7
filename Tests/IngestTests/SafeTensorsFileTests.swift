import Foundation
import XCTest
@testable import Encoder

final class SafeTensorsFileTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func write(header: String, payload: [UInt8]) throws -> String {
        var bytes: [UInt8] = []
        let h = Array(header.utf8)
        var n = UInt64(h.count).littleEndian
        withUnsafeBytes(of: &n) { bytes += $0 }
        bytes += h + payload
        let path = directory.appendingPathComponent("t.safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testReadsF32AndF16LittleEndian() throws {
        // F32 [1.5, -2] then F16 [1.0, -0.5] (0x3C00, 0xB800), hand-encoded.
        let payload: [UInt8] = [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x3C, 0x00, 0xB8]
        let path = try write(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"__metadata__":{"format":"pt"}}"#, payload: payload)
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(try file.floats("a", shape: [2]), [1.5, -2])
        XCTAssertEqual(try file.floats("h"), [1.0, -0.5])
        XCTAssertEqual(file.metadata["format"], "pt")
    }

    func testRefusesOffsetsOutsideTheFileNamingFileAndTensor() throws {
        let path = try write(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, payload: [0, 0, 0, 0])
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) { error in
            let e = error as? SafeTensorsError
            XCTAssertEqual(e?.tensor, "w")
            XCTAssertTrue("\(error)".contains(path))
            XCTAssertTrue("\(error)".contains("outside the data section"))
        }
    }

    func testRefusesShapeThatDisagreesWithByteCountAndWrongExpectedShape() throws {
        let bad = try write(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, payload: Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try SafeTensorsFile(path: bad))
        let good = try write(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, payload: Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try SafeTensorsFile(path: good).floats("w", shape: [1, 2])) { XCTAssertTrue("\($0)".contains("'w'")) }
        XCTAssertThrowsError(try SafeTensorsFile(path: good).floats("missing")) { XCTAssertTrue("\($0)".contains("'missing'")) }
    }

    func testRefusesTruncatedHeader() throws {
        let path = directory.appendingPathComponent("short.safetensors").path
        try Data([0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0x7B]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafeTensorsFile(path: path)) { XCTAssertTrue("\($0)".contains("runs past the end")) }
    }

    func testHalfToFloatEdgeCases() {
        XCTAssertEqual(SafeTensorsFile.halfToFloat(0x0001), Float(1) / Float(1 << 24))   // smallest subnormal
        XCTAssertEqual(SafeTensorsFile.halfToFloat(0x7C00), .infinity)
        XCTAssertEqual(SafeTensorsFile.halfToFloat(0x7BFF), 65504)
        XCTAssertTrue(SafeTensorsFile.halfToFloat(0x7E00).isNaN)
    }

    func testSHA256KnownVectors() {
        var empty = SHA256()
        XCTAssertEqual(empty.finalizeHex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256()
        abc.update(Data("abc".utf8))
        XCTAssertEqual(abc.finalizeHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()   // 56 bytes spans the padding boundary; fed in two pieces
        long.update(Data("abcdbcdecdefdefgefghfghighij".utf8))
        long.update(Data("hijkijkljklmklmnlmnomnopnopq".utf8))
        XCTAssertEqual(long.finalizeHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
