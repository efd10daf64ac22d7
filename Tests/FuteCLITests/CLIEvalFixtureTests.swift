import Foundation
import TestSupport
import XCTest

/// `fute-db eval` through the binary against the scikit-learn fixtures (Tests/Fixtures/eval-sklearn.json).
final class CLIEvalFixtureTests: XCTestCase {
    struct Case: Decodable { var names: [String]; var similarity: [Double]; var relevance: [Double]; var k: Int; var ndcg: Double; var regret: Double; var rho: Int }
    struct Fixture: Decodable { var cases: [Case] }

    func testEvalMatchesScikitLearnTo1e9() throws {
        let fute = try FuteProcess.locate()
        let scratch = try ScratchDirectory()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/eval-sklearn.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        // Geometry with known cosines: target = e0; source i = cos θ·e0 + sin θ·e(i+1) with cos θ = similarity.
        let dimension = 1 + (fixture.cases.map(\.names.count).max() ?? 0)
        for k in Set(fixture.cases.map(\.k)).sorted() {
            let cases = fixture.cases.enumerated().filter { $0.element.k == k }
            var vectors = "", observations = ""
            for (index, testCase) in cases {
                var target = [Float](repeating: 0, count: dimension)
                target[0] = 1
                vectors += "{\"name\": \"c\(index)-target\", \"vector\": \(target)}\n"
                for (position, name) in testCase.names.enumerated() {
                    var vector = [Float](repeating: 0, count: dimension)
                    let similarity = testCase.similarity[position]
                    vector[0] = Float(similarity)
                    vector[position + 1] = Float((1 - similarity * similarity).squareRoot())
                    vectors += "{\"name\": \"c\(index)-\(name)\", \"vector\": \(vector)}\n"
                    observations += "{\"source\": \"c\(index)-\(name)\", \"target\": \"c\(index)-target\", \"score\": \(testCase.relevance[position])}\n"
                }
            }
            let db = scratch.path("k\(k).db")
            XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "geo", try scratch.write("v\(k).jsonl", vectors)]).status, 0)
            XCTAssertEqual(try fute.run(["observe", "--db", db, try scratch.write("o\(k).jsonl", observations)]).status, 0)
            let result = try fute.run(["eval", "--db", db, "--space", "geo", "-k", String(k), "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try XCTUnwrap(try decodeJSON(result.stdout) as? [String: Any])
            let perTarget = try XCTUnwrap(report["per_target"] as? [[String: Any]])
            XCTAssertEqual(perTarget.count, cases.count)
            var ndcgSum = 0.0
            for (index, testCase) in cases {
                let row = try XCTUnwrap(perTarget.first { $0["target"] as? String == "c\(index)-target" })
                XCTAssertEqual(try XCTUnwrap(row["ndcg@k"] as? Double), testCase.ndcg, accuracy: 1e-9, "case \(index)")
                XCTAssertEqual(try XCTUnwrap(row["regret@k"] as? Double), testCase.regret, accuracy: 1e-9, "case \(index)")
                XCTAssertEqual(try XCTUnwrap(row["rho"] as? Double), Double(testCase.rho), "case \(index)")
                ndcgSum += testCase.ndcg
            }
            XCTAssertEqual(try XCTUnwrap(report["ndcg@k"] as? Double), ndcgSum / Double(cases.count), accuracy: 1e-9)
        }
    }
}
