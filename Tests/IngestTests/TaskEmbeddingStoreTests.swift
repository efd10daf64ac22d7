import Foundation
import FuteDB
import XCTest
@testable import Embedders
@testable import Ingest

final class TaskEmbeddingStoreTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskstore-\(UUID().uuidString)").path
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func embedding(_ vector: [Float], kind: TaskEmbeddingKind = .dte, method: TaskEmbeddingMethod = .fute, seed: UInt64 = 0, checksum: String = "abc",
                   part: SurrogateSettings.TrainablePart = .lastLayerAttention) -> TaskEmbedding {
        TaskEmbedding(vector: vector, kind: kind,
                      provenance: EmbeddingProvenance(encoder: "enc", encoderChecksum: checksum, method: method, surrogate: SurrogateSettings(seed: seed, part: part)),
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
            XCTAssertEqual(space.provenance.extra["trainable"], "last-layer-attention")
            XCTAssertEqual(space.provenance.extra["learningRate"], "0.0003")
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
                                  (embedding([1, 1, 0], kind: .textemb, method: .textemb), "method textemb"),
                                  (embedding([1, 1, 0], part: .bottleneck), "trainable bottleneck")] {
            XCTAssertThrowsError(try TaskEmbeddingStore.store(other, name: "b", space: "s", in: db)) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(expected) && text.contains("seed 0") && text.contains("sha256 abc"), text)
            }
            XCTAssertThrowsError(try TaskEmbeddingStore.checkCompatible(space: "s", provenance: other.provenance, dimension: 3, in: db))
        }
        try db.read { XCTAssertNil(try $0.subject(named: "b")) }
    }

    /// A space made by the first FUTE method (bottleneck; its provenance has no `trainable` field) is
    /// refused by the current one, and the message names both.
    func testRefusesASpaceMadeWithTheBottleneckMethod() throws {
        let db = try FuteDatabase(path: directory)
        try db.write { writer in
            try writer.createSpace(Space(name: "old", dimension: 3, metric: .cosine,
                                         provenance: Provenance(method: "fute", encoder: "enc", encoderChecksum: "abc", seed: 0,
                                                                extra: ["rank": "128", "activation": "tanh", "epochs": "3", "learningRate": "0.001", "batchSize": "32"])))
        }
        XCTAssertThrowsError(try TaskEmbeddingStore.store(embedding([1, 1, 0]), name: "b", space: "old", in: db)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("rank 128") && text.contains("trainable last-layer-attention"), text)
        }
    }
}
