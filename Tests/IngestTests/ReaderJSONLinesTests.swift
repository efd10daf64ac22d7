import XCTest
@testable import Readers

final class ReaderJSONLinesTests: XCTestCase {
    func read(_ text: String) throws -> VectorFile {
        let scratch = try ReaderScratch()
        return try VectorReader.read(scratch.file("in.jsonl", text))
    }

    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ReaderError? {
        guard let scratch = try? ReaderScratch(), let path = try? scratch.file("in.jsonl", text) else { return nil }
        return expectReaderError({ try VectorReader.read(path) }, file: file, line: line)
    }

    func testReadsRecordsWithKindAndMeta() throws {
        let file = try read("""
            {"name": "sst2", "vector": [1, 2.5, -3e-1], "kind": "dataset", "meta": {"family": "sentiment"}}

            {"name": "gpt-\\u00e9", "vector": [0, 0, 1], "kind": "model"}\r
            {"name": "plain", "vector": [1,1,1], "meta": null, "kind": null}
            """)
        XCTAssertEqual(file.dimension, 3)
        XCTAssertEqual(file.records.map(\.name), ["sst2", "gpt-é", "plain"])
        XCTAssertEqual(file.records[0].vector, [1, 2.5, -0.3])
        XCTAssertEqual(file.records[0].meta, ["family": .string("sentiment")])
        XCTAssertEqual(file.records.map(\.kind), ["dataset", "model", nil])
        XCTAssertEqual(file.records.map(\.line), [1, 3, 4], "blank lines are skipped but counted")
    }

    func testErrorsNameFileLineAndField() throws {
        let scratch = try ReaderScratch()
        let path = try scratch.file("bad.jsonl", "{\"name\": \"a\", \"vector\": [1]}\n{\"name\": \"b\"}\n")
        let failure = expectReaderError { try VectorReader.read(path) }
        XCTAssertEqual(failure?.description, "\(path):2: missing field \"vector\" (an array of numbers)")
        XCTAssertEqual(failure?.field, "vector")
    }

    func testEveryBadInputCase() {
        let cases: [(String, ReaderError.Code, Int, String)] = [
            ("", .empty, 0, "file is empty"),
            ("\n  \n", .empty, 0, "file is empty"),
            ("{\"name\": \"a\", \"vector\": [1, 2]\n", .malformedJSON, 1, "missing '}'"),
            ("{\"name\": \"a\", \"vector\": [1, 2]}\n{\"name\": \"b\", \"vector\": [1, 2, 3]}", .dimensionMismatch, 2, "vector has 3 numbers but line 1 has 2"),
            ("{\"name\": \"a\", \"vector\": [NaN]}", .nonFinite, 1, "NaN and Infinity are not valid numbers"),
            ("{\"name\": \"a\", \"vector\": [Infinity]}", .nonFinite, 1, "NaN and Infinity"),
            ("{\"name\": \"a\", \"vector\": [-Infinity]}", .nonFinite, 1, "-Infinity is not a valid number"),
            ("{\"name\": \"a\", \"vector\": [1e400]}", .nonFinite, 1, "too large"),
            ("{\"name\": \"a\", \"vector\": [1e39]}", .nonFinite, 1, "vector[0] = 1e+39 overflows a 32-bit float"),
            ("{\"name\": \"a\", \"vector\": []}", .emptyVector, 1, "empty array"),
            ("{\"name\": \"a\", \"vector\": [1, \"2\"]}", .wrongType, 1, "vector[1] must be a number, found string"),
            ("{\"name\": 5, \"vector\": [1]}", .wrongType, 1, "field \"name\" must be a string, found number"),
            ("{\"name\": \"\", \"vector\": [1]}", .wrongType, 1, "field \"name\" is empty"),
            ("{\"vector\": [1]}", .missingField, 1, "missing field \"name\""),
            ("{\"name\": \"a\", \"vector\": \"1,2\"}", .wrongType, 1, "must be an array of numbers, found string"),
            ("{\"name\": \"a\", \"vector\": [1], \"kind\": \"task\"}", .wrongType, 1, "must be \"dataset\" or \"model\""),
            ("{\"name\": \"a\", \"vector\": [1], \"meta\": [1]}", .wrongType, 1, "\"meta\" must be a JSON object, found array"),
            ("{\"name\": \"a\", \"vector\": [1], \"colour\": \"red\"}", .unknownField, 1, "unknown field \"colour\""),
            ("{\"name\": \"a\", \"name\": \"b\", \"vector\": [1]}", .malformedJSON, 1, "key \"name\" appears twice"),
            ("{\"name\": \"a\", \"vector\": [1]}\n{\"name\": \"a\", \"vector\": [2]}", .duplicateName, 2, "name \"a\" already appeared on line 1"),
            ("[1, 2]", .wrongType, 1, "expected a JSON object"),
            ("{\"name\": \"a\", \"vector\": [1]} {}", .malformedJSON, 1, "unexpected text after the JSON value"),
            ("{\"name\": \"a\", \"vector\": [01]}", .malformedJSON, 1, "leading zero"),
            ("{\"name\": \"\(String(repeating: "n", count: 512))\", \"vector\": [1]}", .wrongType, 1, "name is 512 UTF-8 bytes long, over the limit of 511"),
            ("{\"name\": \"a\\u0000b\", \"vector\": [1]}", .wrongType, 1, "name contains a NUL character"),
        ]
        for (text, code, line, fragment) in cases {
            guard let failure = error(text) else { continue }
            XCTAssertEqual(failure.code, code, "\(text) → \(failure)")
            XCTAssertEqual(failure.line, line, "\(text) → \(failure)")
            XCTAssertTrue(failure.message.contains(fragment), "\(text) → \(failure.message)")
        }
    }

    func testInvalidUTF8NamesTheLine() throws {
        let scratch = try ReaderScratch()
        let bytes = Array("{\"name\": \"a\", \"vector\": [1]}\n{\"name\": \"".utf8) + [0xFF, 0xFE] + Array("\", \"vector\": [1]}\n".utf8)
        let path = try scratch.file("bad.jsonl", bytes: bytes)
        let failure = expectReaderError { try VectorReader.read(path) }
        XCTAssertEqual(failure?.code, .invalidUTF8)
        XCTAssertEqual(failure?.line, 2)
    }

    func testUnreadableInputs() throws {
        let scratch = try ReaderScratch()
        XCTAssertEqual(expectReaderError { try VectorReader.read(scratch.directory.path + "/missing.jsonl") }?.message, "no such file; check the path")
        let directory = scratch.directory.appendingPathComponent("dir.jsonl")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        XCTAssertEqual(expectReaderError { try VectorReader.read(directory.path) }?.message, "is a directory, expected a file")
        let other = try scratch.file("x.csv", "a,b")
        XCTAssertEqual(expectReaderError { try VectorReader.read(other) }?.code, .unsupported)
        if getuid() != 0 {
            let locked = try scratch.file("locked.jsonl", "{}")
            chmod(locked, 0)
            XCTAssertEqual(expectReaderError { try VectorReader.read(locked) }?.code, .unreadable)
        }
    }

    func testObservationsFile() throws {
        let scratch = try ReaderScratch()
        let path = try scratch.file("obs.jsonl", """
            {"source": "mnli", "target": "rte", "score": 0.71}
            {"source": "sst2", "target": "rte", "score": -0.5, "metric": "gain"}
            """)
        let records = try ObservationReader.read(path)
        XCTAssertEqual(records, [
            ObservationRecord(source: "mnli", target: "rte", score: 0.71, line: 1),
            ObservationRecord(source: "sst2", target: "rte", metric: "gain", score: -0.5, line: 2),
        ])
        let cases: [(String, ReaderError.Code, String)] = [
            ("{\"source\": \"a\", \"target\": \"b\"}", .missingField, "missing field \"score\""),
            ("{\"source\": \"a\", \"target\": \"b\", \"score\": \"high\"}", .wrongType, "must be a number, found string"),
            ("{\"source\": \"a\", \"target\": \"b\", \"score\": NaN}", .nonFinite, "NaN"),
            ("{\"source\": \"a\", \"target\": \"b\", \"score\": 1, \"note\": 2}", .unknownField, "unknown field \"note\""),
            ("{\"source\": \"a\", \"target\": \"b\", \"score\": 1, \"metric\": \"\(String(repeating: "m", count: 496))\"}", .wrongType, "over the limit of 495"),
            ("{\"source\": \"a\", \"target\": \"b\", \"score\": 1}\n{\"source\": \"a\", \"target\": \"b\", \"score\": 2}", .duplicateName, "already appeared on line 1"),
        ]
        for (text, code, fragment) in cases {
            let bad = try scratch.file("bad.jsonl", text)
            let failure = expectReaderError { try ObservationReader.read(bad) }
            XCTAssertEqual(failure?.code, code, text)
            XCTAssertTrue(failure?.message.contains(fragment) ?? false, "\(text) → \(String(describing: failure))")
        }
    }

    func testGenericLinesKeepNestedValues() throws {
        let lines = try JSONLinesReader.parse(Array("{\"a\": [true, null, {\"b\": \"\\n\"}], \"c\": -0.5e2}".utf8), file: "x")
        XCTAssertEqual(lines, [JSONLine(line: 1, object: ["a": .array([.bool(true), .null, .object(["b": .string("\n")])]), "c": .number(-50)])])
    }
}
