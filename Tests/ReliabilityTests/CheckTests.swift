import Foundation
import FuteDB
import Index
import Storage
import TestSupport
import XCTest

/// `FuteDatabase.check()` / `fute-db check`: a sound store passes; each corruption, written on
/// purpose through the Storage layer (as a bug or a bad disk would), is reported as a finding.
final class CheckTests: XCTestCase {
    var scratch: ScratchDirectory!
    var path: String!

    override func setUpWithError() throws {
        scratch = try ScratchDirectory()
        path = scratch.path("store")
        let db = try FuteDatabase(path: path)
        var values = SplitMixValues(seed: 11)
        try db.write { w in
            _ = try w.ensureSpace(Space(name: "s", dimension: 4, metric: .l2, index: IndexParameters(m: 4, efConstruction: 32)))
            _ = try w.ensureSpace(Space(name: "t", dimension: 2, metric: .cosine))
            for i in 0..<40 {
                try w.upsertSubject(Subject(name: "a\(i)", kind: i % 3 == 0 ? .model : .dataset))
                try w.putEmbedding(space: "s", subject: "a\(i)", vector: (0..<4).map { _ in values.next() })
            }
            try w.putEmbedding(space: "t", subject: "a1", vector: [1, 0])
            try w.addObservation(TransferObservation(source: "a1", target: "a2", score: 0.5))
        }
        // Until the store wires the HNSW graph in (SpaceIndexing), build space s's graph here from
        // its embeddings, so the index checks have a graph to judge; when wired, keep the store's.
        try withEnvironment { env in
            _ = try HNSWDatabases(environment: env)
            try env.write { txn in
                let spaceID = try self.spaceID("s", txn)
                guard try !HNSWGraph.exists(spaceID: spaceID, in: txn) else { return }
                let graph = try HNSWGraph(spaceID: spaceID, dimension: 4, metric: .l2, parameters: HNSWParameters(m: 4, efConstruction: 32), in: txn)
                let embeddings = try txn.openDatabase(named: "embeddings")
                var rows: [(UInt64, [Float])] = []
                try txn.forEach(in: embeddings, prefix: FixedWidthKey(spaceID)) { key, value in
                    let floats = (0..<4).map { Float(bitPattern: UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 16 + 4 * $0, as: UInt32.self))) }
                    rows.append((key.bigEndianUInt64(at: 4), floats))
                }
                for (key, vector) in rows { try graph.insert(key: key, vector: vector, in: txn) }
            }
        }
    }

    /// Opens the store's LMDB environment directly (no FuteDatabase may be open in this process).
    func withEnvironment<R>(_ body: (Environment) throws -> R) throws -> R {
        var configuration = EnvironmentConfiguration()
        configuration.maxDatabases = 1024
        let env = try Environment(directory: path, configuration: configuration)
        return try body(env)
    }

    func spaceID(_ name: String, _ txn: ReadTransaction) throws -> UInt32 {
        let spaces = try txn.openDatabase(named: "spaces")
        let id = try txn.get(Array(name.utf8), in: spaces) { $0.bigEndianUInt32(at: 1) }
        return try XCTUnwrap(id, "space \(name)")
    }

    func subjectID(_ name: String, _ txn: ReadTransaction) throws -> UInt64 {
        let ids = try txn.openDatabase(named: "subject_ids")
        return try XCTUnwrap(try txn.get(Array(name.utf8), in: ids) { $0.bigEndianUInt64() }, "subject \(name)")
    }

    /// Applies `corrupt` in one raw write transaction, then runs the check.
    func corruptAndCheck(_ corrupt: (WriteTransaction) throws -> Void) throws -> CheckReport {
        try withEnvironment { env in
            _ = try HNSWDatabases(environment: env)
            try env.write(corrupt)
        }
        return try FuteDatabase(path: path).check()
    }

    func assertFinding(_ report: CheckReport, _ area: CheckFinding.Area, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(report.isSound, "expected a finding containing '\(fragment)'", file: file, line: line)
        XCTAssertTrue(report.findings.contains { $0.area == area && $0.message.contains(fragment) },
                      "no \(area) finding containing '\(fragment)' in \(report.findings)", file: file, line: line)
    }

    // MARK: sound

    func testASoundStoreHasNoFindingsAndCountsEverything() throws {
        let report = try FuteDatabase(path: path).check()
        XCTAssertEqual(report.findings, [])
        XCTAssertTrue(report.isSound)
        XCTAssertEqual(report.spaces, 2)
        XCTAssertEqual(report.subjects, 40)
        XCTAssertEqual(report.embeddings, 41)
        XCTAssertEqual(report.observations, 1)
        XCTAssertEqual(report.schemaVersion, FuteDatabase.schemaVersion)
        XCTAssertGreaterThanOrEqual(report.indexedSpaces, 1)
    }

    // MARK: embeddings

    func testNaNAndInfinityInAStoredVectorAreFound() throws {
        let report = try corruptAndCheck { txn in
            let embeddings = try txn.openDatabase(named: "embeddings")
            for (subject, value) in [("a3", Float.nan), ("a4", -Float.infinity)] {
                let key = FixedWidthKey(try self.spaceID("s", txn), try self.subjectID(subject, txn))
                var bytes = try XCTUnwrap(try txn.bytes(forKey: key, in: embeddings))
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(16 + 8..<16 + 12, with: $0) }
                try txn.put(bytes, forKey: key, in: embeddings)
            }
        }
        assertFinding(report, .embedding, "subject \"a3\": value 2 is not finite")
        assertFinding(report, .embedding, "subject \"a4\": value 2 is not finite")
    }

    func testVectorLengthDifferentFromTheSpaceIsFound() throws {
        let report = try corruptAndCheck { txn in
            let embeddings = try txn.openDatabase(named: "embeddings")
            let key = FixedWidthKey(try self.spaceID("s", txn), try self.subjectID("a5", txn))
            let bytes = try XCTUnwrap(try txn.bytes(forKey: key, in: embeddings))
            try txn.put(Array(bytes.dropLast(4)), forKey: key, in: embeddings)
        }
        assertFinding(report, .embedding, "subject \"a5\": vector length 3 (header says 4) differs from the space's dimension 4")
    }

    func testEmbeddingOfAMissingSubjectAndOfAMissingSpaceAreFound() throws {
        let report = try corruptAndCheck { txn in
            let embeddings = try txn.openDatabase(named: "embeddings")
            let spaceID = try self.spaceID("t", txn)
            let value = try XCTUnwrap(try txn.bytes(forKey: FixedWidthKey(spaceID, try self.subjectID("a1", txn)), in: embeddings))
            try txn.put(value, forKey: FixedWidthKey(spaceID, UInt64(987_654)), in: embeddings)
            try txn.put(value, forKey: FixedWidthKey(UInt32(77), try self.subjectID("a1", txn)), in: embeddings)
        }
        assertFinding(report, .embedding, "embedding of subject id 987654, which does not exist")
        assertFinding(report, .embedding, "belongs to space id 77, which does not exist")
    }

    func testUnknownEmbeddingFormatAndKindAreFound() throws {
        let report = try corruptAndCheck { txn in
            let embeddings = try txn.openDatabase(named: "embeddings")
            let key = FixedWidthKey(try self.spaceID("s", txn), try self.subjectID("a6", txn))
            var bytes = try XCTUnwrap(try txn.bytes(forKey: key, in: embeddings))
            bytes[0] = 9
            bytes[1] = 200
            try txn.put(bytes, forKey: key, in: embeddings)
        }
        assertFinding(report, .embedding, "subject \"a6\": unknown embedding format 9")
        assertFinding(report, .embedding, "subject \"a6\": unknown embedding kind 200")
    }

    // MARK: subjects and observations

    func testSubjectNameMapDisagreementsAreFound() throws {
        let report = try corruptAndCheck { txn in
            let ids = try txn.openDatabase(named: "subject_ids")
            try txn.put(BigEndian.bytes(UInt64(555_555)), forKey: Array("ghost".utf8), in: ids)   // name → no record
            _ = try txn.delete(Array("a7".utf8), in: ids)                                        // record → no name
            try txn.put(BigEndian.bytes(try self.subjectID("a8", txn)), forKey: Array("alias".utf8), in: ids)  // two names, one id
        }
        assertFinding(report, .subject, "subject \"ghost\": the name map points to id 555555, which has no subject record")
        assertFinding(report, .subject, "subject \"a7\"")
        assertFinding(report, .subject, "whose record is named \"a8\"")
    }

    func testUndecodableSubjectRecordAndBadObservationAreFound() throws {
        let report = try corruptAndCheck { txn in
            let subjects = try txn.openDatabase(named: "subjects")
            try txn.put([1, 0] + Array("{not json".utf8), forKey: FixedWidthKey(try self.subjectID("a9", txn)), in: subjects)
            let observations = try txn.openDatabase(named: "observations")
            var found: [UInt8]?
            try txn.forEach(in: observations) { key, _ in found = Array(key) }
            let key = try XCTUnwrap(found)
            try txn.put([1] + withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { Array($0) }, forKey: key, in: observations)
            try txn.put([1, 2, 3], forKey: BigEndian.bytes(UInt64(424_242), UInt64(1)) + Array("score".utf8), in: observations)
        }
        assertFinding(report, .subject, "record does not decode")
        assertFinding(report, .observation, "score is not finite")
        assertFinding(report, .observation, "target subject id 424242 does not exist")
        assertFinding(report, .observation, "score record does not decode")
    }

    // MARK: schema

    func testNewerSchemaIsRefusedOnOpenAndABadCounterIsFound() throws {
        try withEnvironment { env in
            try env.write { txn in
                let meta = try txn.openDatabase(named: "meta")
                try txn.put(BigEndian.bytes(UInt32(99)), forKey: Array("schema_version".utf8), in: meta)
            }
        }
        XCTAssertThrowsError(try FuteDatabase(path: path)) { error in
            XCTAssertEqual((error as? FuteError)?.code, .incompatibleSchema, "\(error)")
        }
        try withEnvironment { env in
            try env.write { txn in
                let meta = try txn.openDatabase(named: "meta")
                try txn.put(BigEndian.bytes(UInt32(1)), forKey: Array("schema_version".utf8), in: meta)
                try txn.put(BigEndian.bytes(UInt32(0)), forKey: Array("next_space_id".utf8), in: meta)
            }
        }
        assertFinding(try FuteDatabase(path: path).check(), .schema, "next space id counter is 0")
    }

    // MARK: HNSW

    func testIndexMissingAnEmbeddingOrHoldingAnExtraKeyIsFound() throws {
        let report = try corruptAndCheck { txn in
            let graph = try HNSWGraph(spaceID: try self.spaceID("s", txn), in: txn)
            XCTAssertTrue(try graph.remove(key: try self.subjectID("a10", txn), in: txn))
            try graph.insert(key: 31_337, vector: [0.5, 0.5, 0.5, 0.5], in: txn)
        }
        assertFinding(report, .index, "space \"s\": stored keys differ from expected: 1 extra, 1 missing")
    }

    func testIndexLinkToAMissingNodeIsFound() throws {
        let report = try corruptAndCheck { txn in
            let spaceID = try self.spaceID("s", txn)
            let blocks = try txn.openDatabase(named: "hnsw_blocks")
            var first: ([UInt8], [UInt8])?
            try txn.scan(in: blocks, prefix: FixedWidthKey(spaceID)) { key, value in
                first = (Array(key), Array(value))
                return .stop
            }
            var (key, block) = try XCTUnwrap(first)
            // Node record of slot 0: [u32 level+1][u32 layer-0 link count][u64 key][u32 links…].
            XCTAssertGreaterThan(block.withUnsafeBytes { $0.load(fromByteOffset: 4, as: UInt32.self) }, 0, "slot 0 has links")
            withUnsafeBytes(of: UInt32(4_000_000)) { block.replaceSubrange(16..<20, with: $0) }
            try txn.put(block, forKey: key, in: blocks)
            key = []
        }
        assertFinding(report, .index, "links to free/missing slot 4000000")
    }

    func testIndexNodeCutOffFromTheEntryPointIsFound() throws {
        let report = try corruptAndCheck { txn in
            let spaceID = try self.spaceID("s", txn)
            let blocks = try txn.openDatabase(named: "hnsw_blocks")
            var entries: [([UInt8], [UInt8])] = []
            try txn.forEach(in: blocks, prefix: FixedWidthKey(spaceID)) { key, value in entries.append((Array(key), Array(value))) }
            // Empty every layer-0 link list: only the entry point stays reachable on layer 0.
            let stride = 16 + 4 * 8 + 4 * 4   // header + 2·M links (M = 4) + 4 floats, already 16-aligned
            for (key, var block) in entries {
                var offset = 0
                while offset + stride <= block.count {
                    withUnsafeBytes(of: UInt32(0)) { block.replaceSubrange(offset + 4..<offset + 8, with: $0) }
                    offset += stride
                }
                try txn.put(block, forKey: key, in: blocks)
            }
        }
        assertFinding(report, .index, "unreachable from the entry point on layer 0")
    }

    // MARK: the command

    func testCheckCommandExitsZeroWhenSoundAndOneWithFindings() throws {
        let fute = try FuteProcess.locate()
        let sound = try fute.run(["check", "--db", path])
        if sound.stderr.contains("unknown command 'check'") {
            throw XCTSkip("`check` is not listed in CommandRegistry.builtIn")
        }
        XCTAssertEqual(sound.status, 0, sound.stdout + sound.stderr)
        XCTAssertTrue(sound.stdout.hasSuffix("sound\n"), sound.stdout)
        XCTAssertTrue(sound.stdout.contains("41 embeddings"), sound.stdout)
        XCTAssertEqual(sound.stderr, "")
        let json = try fute.run(["check", "--db", path, "--json"])
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["sound"] as? Bool, true)
        XCTAssertEqual(object["embeddings"] as? Int, 41)

        _ = try corruptAndCheck { txn in
            let embeddings = try txn.openDatabase(named: "embeddings")
            let key = FixedWidthKey(try self.spaceID("s", txn), try self.subjectID("a3", txn))
            var bytes = try XCTUnwrap(try txn.bytes(forKey: key, in: embeddings))
            withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { bytes.replaceSubrange(16..<20, with: $0) }
            try txn.put(bytes, forKey: key, in: embeddings)
        }
        let broken = try fute.run(["check", "--db", path])
        XCTAssertEqual(broken.status, 1)
        XCTAssertFalse(broken.signalled)
        XCTAssertTrue(broken.stdout.contains("embedding: space \"s\", subject \"a3\": value 0 is not finite"), broken.stdout)
        XCTAssertTrue(broken.stderr.hasPrefix("fute-db: error: check found 1 problem in \(path!)"), broken.stderr)
        XCTAssertEqual(broken.stderr.split(separator: "\n").count, 1)
        let brokenJSON = try fute.run(["check", "--db", path, "--json"])
        XCTAssertEqual(brokenJSON.status, 1)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(brokenJSON.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["sound"] as? Bool, false)
        let findings = try XCTUnwrap(report["findings"] as? [[String: Any]])
        XCTAssertEqual(findings.first?["area"] as? String, "embedding")
        XCTAssertEqual(findings.first?["subject"] as? String, "a3")

        let missing = try fute.run(["check", "--db", scratch.path("nothing-here")])
        assertCleanFailure(missing, expectedStatus: 1, contains: ["no store at"], "check on a missing store")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("nothing-here")), "check created a store")
        let usage = try fute.run(["check", "--db", path, "--limit", "0"])
        assertCleanFailure(usage, expectedStatus: 64, contains: ["--limit"], "--limit 0")
    }
}
