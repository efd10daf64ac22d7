import Foundation
import FuteDB
import XCTest
@testable import Ingest

final class TaskEmbeddingStoreTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskstore-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func embedding(_ vector: [Float], kind: TaskEmbeddingKind = .dte, method: TaskEmbeddingMethod = .fute, seed: UInt64 = 0, checksum: String = "abc") -> TaskEmbedding {
        TaskEmbedding(vector: vector, kind: kind,
                      provenance: EmbeddingProvenance(encoder: "enc", encoderChecksum: checksum, method: method, surrogate: SurrogateSettings(seed: seed)),
                      exampleCount: 3)
    }

    func testStoresIntoASpaceThatRecordsProvenanceAndKinds() throws {
        let db = try FuteDatabase(path: directory)
        try TaskEmbeddingStore.store(embedding([1, 0, 0]), name: "sst2", space: "s", metadata: ["family": "sentiment"], in: db)
        try TaskEmbeddingStore.store(embedding([0, 1, 0], kind: .mte), name: "clf", space: "s", in: db)
        try db.read { reader in
            let space = try XCTUnwrap(try reader.space(named: "s"))
            XCTAssertEqual(space.provenance.encoderChecksum, "abc")
            XCTAssertEqual(space.provenance.method, "fute")
            XCTAssertEqual(space.provenance.seed, 0)
            XCTAssertEqual(space.provenance.extra["rank"], "128")
            XCTAssertEqual(try reader.subject(named: "clf")?.kind, .model)
            XCTAssertEqual(try reader.subject(named: "sst2")?.metadata["family"], "sentiment")
            XCTAssertEqual(try reader.embedding(space: "s", subject: "clf")?.kind, .mte)
            XCTAssertEqual(try reader.embedding(space: "s", subject: "sst2")?.vector, [1, 0, 0])
        }
    }

    func testRefusesAnotherSeedMethodOrEncoderNamingBoth() throws {
        let db = try FuteDatabase(path: directory)
        try TaskEmbeddingStore.store(embedding([1, 0, 0]), name: "a", space: "s", in: db)
        for (other, expected) in [(embedding([1, 1, 0], seed: 7), "seed 7"), (embedding([1, 1, 0], checksum: "def"), "sha256 def"),
                                  (embedding([1, 1, 0], kind: .textemb, method: .textemb), "method textemb")] {
            XCTAssertThrowsError(try TaskEmbeddingStore.store(other, name: "b", space: "s", in: db)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(expected) && text.contains("seed 0") && text.contains("sha256 abc"), text)
            }
            XCTAssertThrowsError(try TaskEmbeddingStore.checkCompatible(space: "s", provenance: other.provenance, dimension: 3, in: db))
        }
        try db.read { XCTAssertNil(try $0.subject(named: "b")) }
    }
}
