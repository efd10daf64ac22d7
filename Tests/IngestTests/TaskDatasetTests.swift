import Foundation
import XCTest
@testable import Ingest

final class TaskDatasetTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("taskdataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func file(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertError(_ text: String, requireTargets: Bool = true, contains expected: String, line: Int?, field: String?, file: StaticString = #filePath, sourceLine: UInt = #line) throws {
        let path = try self.file("bad.jsonl", text)
        XCTAssertThrowsError(try TaskDataset.read(path: path, requireTargets: requireTargets), file: file, line: sourceLine) { error in
            guard let e = error as? DatasetError else { return XCTFail("wrong error \(error)", file: file, line: sourceLine) }
            XCTAssertEqual(e.line, line, file: file, line: sourceLine)
            XCTAssertEqual(e.field, field, file: file, line: sourceLine)
            XCTAssertTrue(e.description.hasPrefix(path), file: file, line: sourceLine)
            XCTAssertTrue(e.description.contains(expected), "\(e)", file: file, line: sourceLine)
        }
    }

    func testReadsLabelsPairsProbsAndValues() throws {
        let labelled = try TaskDataset.read(path: try file("a.jsonl", "{\"text\":\"x\",\"label\":\"pos\"}\n\n{\"text\":\"y\",\"text_pair\":\"z\",\"label\":1}\n"), requireTargets: true)
        XCTAssertEqual(labelled.examples.map(\.target), [.label("pos"), .label("1")])
        XCTAssertEqual(labelled.examples[1].input, TextInput("y", pair: "z"))
        XCTAssertEqual(labelled.examples.map(\.line), [1, 3])
        XCTAssertEqual(labelled.name, "a")
        let soft = try TaskDataset.read(path: try file("p.jsonl", "{\"text\":\"x\",\"probs\":[1,3]}\n"), requireTargets: true)
        XCTAssertEqual(soft.examples[0].target, .probabilities([0.25, 0.75]))
        let values = try TaskDataset.read(path: try file("v.jsonl", "{\"text\":\"x\",\"value\":2.5}\n"), requireTargets: true)
        XCTAssertEqual(values.examples[0].target, .value(2.5))
    }

    func testBadLinesNameFileLineAndField() throws {
        try assertError("{\"label\":\"1\"}\n", contains: "missing", line: 1, field: "text")
        try assertError("{\"text\":\"a\",\"label\":\"1\"}\n{\"text\":\"b\"}\n", contains: "missing", line: 2, field: "label")
        try assertError("{\"text\":\"a\",\"label\":true}\n", contains: "unknown label type", line: 1, field: "label")
        try assertError("{\"text\":\"a\",\"label\":{\"x\":1}}\n", contains: "unknown label type", line: 1, field: "label")
        try assertError("{\"text\":\"a\",\"label\":0.5}\n", contains: "use \"value\"", line: 1, field: "label")
        try assertError("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"value\":1}\n", contains: "one kind of target", line: 2, field: "value")
        try assertError("{\"text\":\"a\",\"probs\":[0.5,0.5]}\n{\"text\":\"b\",\"probs\":[1]}\n", contains: "line 1 has 2", line: 2, field: "probs")
        try assertError("{\"text\":\"a\",\"probs\":[-1, 2]}\n", contains: "non-negative", line: 1, field: "probs")
        try assertError("{\"text\":7,\"label\":\"1\"}\n", contains: "non-empty string", line: 1, field: "text")
        try assertError("{\"text\":\"a\" \"label\"}\n", contains: "invalid JSON", line: 1, field: nil)
        try assertError("\n  \n", contains: "empty file", line: nil, field: nil)
    }

    func testSampleIsSeededAndKeepsFileOrder() throws {
        let text = (0..<50).map { "{\"text\":\"t\($0)\",\"label\":\"\($0 < 25 ? "a" : "b")\"}" }.joined(separator: "\n")
        let dataset = try TaskDataset.read(path: try file("s.jsonl", text), requireTargets: true)
        let a = dataset.sample(atMost: 10, seed: 7), b = dataset.sample(atMost: 10, seed: 7), c = dataset.sample(atMost: 10, seed: 8)
        XCTAssertEqual(a.examples, b.examples)
        XCTAssertNotEqual(a.examples, c.examples)
        XCTAssertEqual(a.examples.map(\.line), a.examples.map(\.line).sorted())
        XCTAssertEqual(dataset.sample(atMost: 100, seed: 1).examples.count, 50)
    }

    func testUnsupervisedSamplerIsStratifiedSeededAndExcludes() throws {
        let a = try file("alpha.jsonl", (0..<30).map { "{\"text\":\"a\($0)\",\"label\":\"x\"}" }.joined(separator: "\n"))
        let b = try file("beta.jsonl", (0..<4).map { "{\"text\":\"b\($0)\"}" }.joined(separator: "\n"))
        let c = try file("gamma.jsonl", (0..<30).map { "{\"text\":\"c\($0)\",\"text_pair\":\"p\"}" }.joined(separator: "\n"))
        let u = try UnsupervisedSampler.sample(from: [a, b, c], count: 20, exclude: ["gamma"], seed: 1)
        XCTAssertEqual(u.count, 20)
        XCTAssertEqual(u.filter { $0.source == "beta" }.count, 4)       // beta runs out; alpha fills the rest
        XCTAssertEqual(u.filter { $0.source == "alpha" }.count, 16)
        XCTAssertFalse(u.contains { $0.source == "gamma" })
        XCTAssertEqual(Set(u.map(\.input)).count, 20)
        XCTAssertEqual(try UnsupervisedSampler.sample(from: [a, b, c], count: 20, exclude: ["gamma"], seed: 1), u)
        let balanced = try UnsupervisedSampler.sample(from: [a, b, c], count: 6, seed: 1)
        XCTAssertEqual(Dictionary(grouping: balanced, by: \.source).mapValues(\.count), ["alpha": 2, "beta": 2, "gamma": 2])
        let lines = try UnsupervisedSampler.jsonLines(Array(balanced.prefix(1)))
        XCTAssertTrue(lines.hasSuffix("}\n") && lines.contains("\"source\":"))
    }
}
