import Foundation
import TestSupport
import XCTest

/// Issue 6, "bad input, everywhere input enters": each case exits non-zero with one line
/// `fute-db: error: …` naming the file/line/field or flag, never traps, and leaves the store
/// byte-for-byte unchanged (`stats --json` + `mdb_dump -a`). Cases already covered by
/// `Tests/FuteCLITests/CLIEndToEndTests.swift` (malformed JSON, wrong types, missing/unknown
/// fields, NaN/Infinity/1e39 in JSONL, empty file, duplicates, invalid UTF-8 in JSONL, truncated
/// and lying .npy, truncated and dimension-changing .fvecs, a directory, a missing file) are not
/// repeated here; these extend them.
final class BadInputTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var db: String!

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        scratch = try ScratchDirectory()
        db = scratch.path("store")
        let good = try scratch.write("good.jsonl", vectorLines([[1, 2, 3], [4, 5, 6], [0, 1, 0]], prefix: "g"))
        let result = try fute.run(["ingest", "--db", db, "--space", "s", good])
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    /// Runs `arguments` and asserts a clean failure and an unchanged store.
    func assertRejected(_ arguments: [String], status: Int32? = nil, contains fragments: [String], _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try storeFingerprint(fute, db: db)
        let result = try fute.run(arguments)
        assertCleanFailure(result, expectedStatus: status, contains: fragments, label, file: file, line: line)
        XCTAssertEqual(try storeFingerprint(fute, db: db), before, "\(label) changed the store", file: file, line: line)
    }

    func ingest(_ path: String, _ extra: [String] = []) -> [String] {
        ["ingest", "--db", db, "--space", "s"] + extra + [path]
    }

    // MARK: .npy

    func testNpyUnsupportedLayoutsAndLyingHeadersAreRefusedNamingTheField() throws {
        let payload = float32Bytes([1, 2, 3, 4, 5, 6])
        let cases: [(String, [UInt8], [String])] = [
            ("int32.npy", npy(header: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", payload: payload), [":0: ", "dtype '<i4'"]),
            ("big-endian.npy", npy(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", payload: payload), [":0: "]),
            ("fortran.npy", npy(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", payload: payload), [":0: ", "ortran"]),
            ("one-d.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", payload: payload), [":0: ", "shape"]),
            ("three-d.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", payload: payload), [":0: ", "shape"]),
            // A header that claims far more data than any machine has: must not overflow or allocate.
            ("huge-shape.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }", payload: payload), [":"]),
            ("negative-shape.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", payload: payload), [":0: "]),
            ("zero-columns.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", payload: []), [":"]),
            ("no-magic.npy", Array("this is not numpy".utf8), [":0: ", "magic"]),
            ("header-past-end.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF] + Array("{'descr".utf8), [":0: ", "header"]),
            ("nan.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", payload: float32Bytes([1, .nan, 3])), [":1: "]),
            ("inf.npy", npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }", payload: float32Bytes([1, 2, -.infinity])), [":1: "]),
            ("f8-overflow.npy", npy(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }",
                                    payload: [1.0, 1e300, 3.0].flatMap { (v: Double) in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }), [":1: "]),
            ("version-9.npy", [0x93] + Array("NUMPY".utf8) + [9, 0, 0, 0], [":0: ", "version"]),
        ]
        for (name, bytes, fragments) in cases {
            let path = try scratch.write(name, bytes: bytes)
            try assertRejected(ingest(path), status: 1, contains: ["fute-db: error: \(path):"] + fragments, name)
        }
    }

    func testNpyDimensionAgainstTheSpaceIsRefused() throws {
        let path = try scratch.write("two.npy", bytes: npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", payload: float32Bytes([1, 2])))
        try assertRejected(ingest(path), status: 1, contains: [path, "dimension 3"], "npy vs space")
    }

    // MARK: .fvecs

    func testFvecsWithImpossibleDimensionsIsRefused() throws {
        func word(_ v: Int32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
        let cases: [(String, [UInt8], [String])] = [
            ("zero-dim.fvecs", word(0), [":1: ", "dimension 0"]),
            ("negative-dim.fvecs", word(-3) + float32Bytes([1, 2, 3]), [":1: ", "negative dimension"]),
            ("huge-dim.fvecs", word(Int32.max) + float32Bytes([1, 2, 3]), [":1: ", "truncated"]),
            ("three-bytes.fvecs", [3, 0, 0], [":1: ", "truncated"]),
            ("inf.fvecs", fvecs([[1, 2, .infinity]]), [":1: ", "finite"]),
            ("space-dim.fvecs", fvecs([[1, 2, 3, 4]]), [path("space-dim.fvecs"), "dimension 3"]),
        ]
        for (name, bytes, fragments) in cases {
            let path = try scratch.write(name, bytes: bytes)
            try assertRejected(ingest(path), status: 1, contains: ["fute-db: error: \(path):"] + fragments, name)
        }
    }

    private func path(_ name: String) -> String { scratch.path(name) }

    /// Every proper prefix of a valid file is refused cleanly (the full file would be accepted).
    func testEveryTruncationOfValidBinaryFilesIsRefusedWithoutATrap() throws {
        let fv = fvecs([[1, 2, 3], [4, 5, 6]])
        let np = npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", payload: float32Bytes([1, 2, 3, 4, 5, 6]))
        let before = try storeFingerprint(fute, db: db)
        // Every length for .fvecs (32 bytes; 16 is a whole one-record file); for .npy every length around the header and data boundaries.
        let npyLengths = Array(Set(Array(0..<14) + Array(56..<np.count) + [20, 40])).sorted()
        for (name, bytes, lengths) in [("cut.fvecs", fv, Array(0..<fv.count).filter { $0 != 16 }), ("cut.npy", np, npyLengths)] {
            for length in lengths {
                let file = try scratch.write(name, bytes: Array(bytes.prefix(length)))
                let result = try fute.run(ingest(file))
                assertCleanFailure(result, expectedStatus: 1, contains: ["fute-db: error: \(file):"], "\(name) cut at \(length)")
            }
        }
        XCTAssertEqual(try storeFingerprint(fute, db: db), before)
    }

    /// Random garbage under every input extension: a clean error, never a trap.
    func testRandomBytesUnderEveryExtensionFailCleanly() throws {
        var random = SplitMixValues(seed: 6)
        let before = try storeFingerprint(fute, db: db)
        for round in 0..<6 {
            let count = Int(random.nextBits() % 300) + 1
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.nextBits()) }
            if round % 2 == 1 { bytes = [0x93] + Array("NUMPY".utf8) + [1, 0] + bytes }  // past the magic check
            for ext in ["jsonl", "npy", "fvecs"] {
                let file = try scratch.write("garbage\(round).\(ext)", bytes: bytes)
                let result = try fute.run(ingest(file))
                assertCleanFailure(result, expectedStatus: 1, contains: [file], "garbage round \(round) .\(ext)")
            }
        }
        XCTAssertEqual(try storeFingerprint(fute, db: db), before)
    }

    // MARK: JSONL corners not covered by FuteCLITests

    func testJSONLCornerCasesAreRefusedNamingLineAndField() throws {
        let deep = "{\"name\": \"a\", \"vector\": [1, 2, 3], \"meta\": {\"x\": " + String(repeating: "[", count: 100_000) + "\n"
        let cases: [(String, String, [String])] = [
            ("deep.jsonl", deep, [":1: ", "deeper"]),
            ("top-array.jsonl", "[1, 2, 3]\n", [":1: "]),
            ("vector-object.jsonl", "{\"name\": \"a\", \"vector\": {\"0\": 1}}\n", [":1: ", "vector"]),
            ("name-number.jsonl", "{\"name\": 7, \"vector\": [1, 2, 3]}\n", [":1: ", "name"]),
            ("kind-alien.jsonl", "{\"name\": \"a\", \"vector\": [1, 2, 3], \"kind\": \"alien\"}\n", [":1: ", "kind"]),
            ("meta-array.jsonl", "{\"name\": \"a\", \"vector\": [1, 2, 3], \"meta\": [1]}\n", [":1: ", "meta"]),
            ("nested-vector.jsonl", "{\"name\": \"a\", \"vector\": [[1, 2, 3]]}\n", [":1: ", "vector"]),
            ("huge-negative.jsonl", "{\"name\": \"a\", \"vector\": [1, -1e39, 3]}\n", [":1: "]),
            ("overflow-double.jsonl", "{\"name\": \"a\", \"vector\": [1, 1e400, 3]}\n", [":1: "]),
            ("second-line-bad.jsonl", "{\"name\": \"a\", \"vector\": [1, 2, 3]}\n\n{\"name\": \"b\", \"vector\": [1, 2, 3]}\n{\"name\": \"c\"\n", [":4: "]),
            ("only-blank-lines.jsonl", "\n\n  \n", [":"]),
            ("trailing-garbage.jsonl", "{\"name\": \"a\", \"vector\": [1, 2, 3]} xyz\n", [":1: "]),
            ("nul-byte.jsonl", "{\"name\": \"a\u{0}\", \"vector\": [1, 2, 3]}\n", [":1: "]),
        ]
        for (name, text, fragments) in cases {
            let path = try scratch.write(name, text)
            try assertRejected(ingest(path), status: 1, contains: ["fute-db: error: \(path):"] + fragments, name)
        }
    }

    // MARK: names files

    func testNamesFileProblemsAreRefused() throws {
        let rows = try scratch.write("rows.fvecs", bytes: fvecs([[1, 2, 3], [4, 5, 6]]))
        let cases: [(String, [UInt8], [String])] = [
            ("short.txt", Array("only-one\n".utf8), ["short.txt", "has 1 names but"]),
            ("dupe.txt", Array("a\na\n".utf8), ["dupe.txt:2: ", "already appeared on line 1"]),
            ("blank.txt", Array("a\n \n".utf8), ["blank.txt:2: ", "blank"]),
            ("utf8.txt", Array("a\n".utf8) + [0xFF, 0xFE, 0x0A], ["utf8.txt:2: ", "UTF-8"]),
            ("empty.txt", [], ["empty.txt:0: ", "empty"]),
        ]
        for (name, bytes, fragments) in cases {
            let names = try scratch.write(name, bytes: bytes)
            try assertRejected(ingest(rows, ["--names", names]), status: 1, contains: fragments, name)
        }
        try FileManager.default.createDirectory(atPath: scratch.path("names-dir"), withIntermediateDirectories: true)
        try assertRejected(ingest(rows, ["--names", scratch.path("names-dir")]), status: 1, contains: ["names-dir:0: ", "directory"], "names is a directory")
    }

    // MARK: observations

    func testObservationFileProblemsAreRefused() throws {
        let cases: [(String, String, [String])] = [
            ("nan.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"score\": NaN}\n", [":1: "]),
            ("string-score.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"score\": \"0.5\"}\n", [":1: ", "score"]),
            ("empty-source.jsonl", "{\"source\": \"\", \"target\": \"b\", \"score\": 1}\n", [":1: ", "source"]),
            ("dupe.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"score\": 1}\n{\"source\": \"a\", \"target\": \"b\", \"score\": 2}\n", [":2: "]),
            ("extra.jsonl", "{\"source\": \"a\", \"target\": \"b\", \"score\": 1, \"note\": \"x\"}\n", [":1: ", "note"]),
            ("empty.jsonl", "", [":0: "]),
        ]
        for (name, text, fragments) in cases {
            let path = try scratch.write("obs-" + name, text)
            try assertRejected(["observe", "--db", db, path], status: 1, contains: ["fute-db: error: \(path):"] + fragments, "observe \(name)")
        }
    }

    // MARK: unreadable permissions

    func testUnreadableFileIsRefused() throws {
        let path = try scratch.write("secret.jsonl", vectorLines([[1, 2, 3]], prefix: "x"))
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path) }
        if geteuid() == 0 {
            throw XCTSkip("running as root: permission bits do not stop root from reading \(path)")
        }
        try assertRejected(ingest(path), status: 1, contains: ["\(path):0: ", "permission"], "chmod 000")
    }

    // MARK: command-line values

    func testCommandLineValuesOutOfRangeAreUsageErrors() throws {
        let file = try scratch.write("ok.jsonl", vectorLines([[1, 2, 3]], prefix: "ok"))
        let cases: [([String], [String])] = [
            (["ingest", "--db", db, "--space", "s", "--batch-size", "-1", file], ["--batch-size"]),
            (["ingest", "--db", db, "--space", "s", "--batch-size", "99999999999999999999999", file], ["--batch-size"]),
            (["ingest", "--db", db, "--space", "n", "--m", "1", file], ["--m"]),
            (["ingest", "--db", db, "--space", "n", "--ef-construction", "0", file], ["--ef-construction"]),
            (["ingest", "--db", db, "--space", "n", "--encoding", "float8", file], ["--encoding", "float32", "float16"]),
            (["ingest", "--db", db, "--space", "s", "--kind", "alien", file], ["--kind"]),
            (["query", "--db", db, "--space", "s", "--name", "g0", "-k", "99999999999999999999999"], ["--k"]),
            (["query", "--db", db, "--space", "s", "--name", "g0", "-k", "2.5"], ["--k"]),
            (["query", "--db", db, "--space", "s", "--name", "g0", "--ef", "0"], ["--ef"]),
            (["query", "--db", db, "--space", "s", "--vector", "[]"], ["--vector"]),
            (["query", "--db", db, "--space", "s", "--vector", "[1, NaN, 3]"], ["--vector"]),
            (["query", "--db", db, "--space", "s", "--vector", "[1, 1e39, 3]"], ["--vector"]),
            (["query", "--db", db, "--space", "s", "--name", "g0", "--kind", "alien"], ["--kind"]),
            (["query", "--db", db, "--space", "s", "--name", "g0", "-k"], ["-k"]),
        ]
        for (arguments, fragments) in cases {
            try assertRejected(arguments, status: 64, contains: fragments, arguments.joined(separator: " "))
        }
    }

    /// An l2 space whose index stores halves refuses a component beyond ±65,504 naming file,
    /// line and component, before anything is written; a float32 space takes it.
    func testHalfPrecisionRangeIsCheckedBeforeWriting() throws {
        let file = try scratch.write("big.jsonl", vectorLines([[1, 2, 3], [4, 70_000, 6]], prefix: "big"))
        try assertRejected(["ingest", "--db", db, "--space", "h", "--metric", "l2", "--encoding", "float16", file],
                           contains: ["big.jsonl:2: ", "vector[1] = 70000.0", "--encoding float32"], "float16 l2")
        let stored = try fute.run(["query", "--db", db, "--space", "h", "--vector", "[1, 2, 3]"])
        XCTAssertNotEqual(stored.status, 0, "the space was not created: \(stored.stdout)")
        let ok = try fute.run(["ingest", "--db", db, "--space", "w", "--metric", "l2", "--encoding", "float32", file])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    /// Found while the CLI ran on its temporary JSON backend (both exited 0); the FuteDB store now
    /// refuses them (exit 1, naming the field) before anything is written.
    func testHNSWMAboveRangeAndEmptySpaceNameAreRefused() throws {
        let file = try scratch.write("ok.jsonl", vectorLines([[1, 2, 3]], prefix: "ok"))
        try assertRejected(["ingest", "--db", db, "--space", "n", "--m", "100000", file], contains: ["m must be between 2 and 256"], "--m 100000")
        try assertRejected(["ingest", "--db", db, "--space", "", file], contains: ["space name is empty"], "--space ''")
    }

    func testQueryValuesWrongForTheStoreAreRuntimeErrors() throws {
        let cases: [([String], [String])] = [
            (["query", "--db", db, "--space", "s", "--vector", "[1, 2]"], ["dimension"]),
            (["query", "--db", db, "--space", "s", "--name", "nobody"], ["nobody"]),
            (["query", "--db", scratch.path("absent-store"), "--space", "s", "--name", "g0"], ["no store at"]),
            (["query", "--db", try scratch.write("plain-file", "x"), "--space", "s", "--name", "g0"], ["not a store directory"]),
        ]
        for (arguments, fragments) in cases {
            try assertRejected(arguments, status: 1, contains: fragments, arguments.joined(separator: " "))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("absent-store")), "a read-only command created a store")
    }
}
