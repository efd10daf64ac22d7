import Foundation
import XCTest
@testable import Embedders
@testable import Readers

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

    func testReadsMultipleChoiceLinesAsPairsPerChoice() throws {
        let text = "{\"text\":\"q1\",\"choices\":[\"a\",\"b\",\"c\"],\"label\":1}\n{\"text\":\"q2\",\"choices\":[\"d\",\"e\"],\"label\":0}\n"
        let dataset = try TaskDataset.read(path: try file("mc.jsonl", text), requireTargets: true)
        XCTAssertEqual(dataset.examples.map(\.target), [.choice(1), .choice(0)])
        XCTAssertEqual(dataset.examples[0].choices, ["a", "b", "c"])
        XCTAssertEqual(dataset.examples[0].input, TextInput("q1"))
        XCTAssertEqual(dataset.examples[0].inputs, [TextInput("q1", pair: "a"), TextInput("q1", pair: "b"), TextInput("q1", pair: "c")])
        XCTAssertEqual(dataset.examples[1].inputs, [TextInput("q2", pair: "d"), TextInput("q2", pair: "e")])
        XCTAssertEqual(TaskTarget.choice(1).kindName, "choice")
        // Without requireTargets the label is still required and read.
        XCTAssertEqual(try TaskDataset.read(path: try file("mc2.jsonl", text), requireTargets: false).examples[0].target, .choice(1))
        // Non-multiple-choice lines keep nil choices and a single input.
        let plain = try TaskDataset.read(path: try file("plain.jsonl", "{\"text\":\"x\",\"text_pair\":\"y\",\"label\":\"a\"}\n"), requireTargets: true)
        XCTAssertNil(plain.examples[0].choices)
        XCTAssertEqual(plain.examples[0].inputs, [TextInput("x", pair: "y")])
        XCTAssertEqual(TaskExample(input: TextInput("x"), target: nil, line: 1).inputs, [TextInput("x")])
    }

    func testBadMultipleChoiceLinesNameFileLineAndField() throws {
        let good = "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":0}\n"
        try assertError(good + "{\"text\":\"q\",\"choices\":\"a\",\"label\":0}\n", contains: "array of non-empty strings", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",3],\"label\":0}\n", contains: "entry 1 (0-based) is not a string", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\"],\"label\":0}\n", contains: "at least 2", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[],\"label\":0}\n", contains: "has 0 choices", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"\"],\"label\":0}\n", contains: "entry 1 (0-based) is empty", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":2}\n", contains: "must be in 0...1", line: 2, field: "label")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":-1}\n", contains: "-1 is out of range", line: 2, field: "label")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":\"a\"}\n", contains: "must be an integer", line: 2, field: "label")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":0.5}\n", contains: "must be an integer", line: 2, field: "label")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"]}\n", requireTargets: false, contains: "missing", line: 2, field: "label")
        try assertError(good + "{\"text\":\"q\",\"text_pair\":\"p\",\"choices\":[\"a\",\"b\"],\"label\":0}\n", contains: "cannot go with \"text_pair\"", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"probs\":[0.5,0.5]}\n", contains: "cannot go with \"probs\"", line: 2, field: "choices")
        try assertError(good + "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":0,\"value\":1}\n", contains: "cannot go with \"value\"", line: 2, field: "choices")
    }

    func testMixedMultipleChoiceAndOtherLinesAreRefused() throws {
        let mc = "{\"text\":\"q\",\"choices\":[\"a\",\"b\"],\"label\":0}\n"
        let labelled = "{\"text\":\"x\",\"label\":\"pos\"}\n"
        try assertError(labelled + mc, contains: "line 1 has no \"choices\"", line: 2, field: "choices")
        try assertError(mc + labelled, contains: "line 1 is multiple choice", line: 2, field: "choices")
        try assertError(mc + "{\"text\":\"x\"}\n", requireTargets: false, contains: "all multiple choice or none", line: 2, field: "choices")
    }

    func testUnknownKeysAreRefused() throws {
        try assertError("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"y\",\"id\":7}\n",
                        contains: "unknown key; a dataset line has \"text\", \"text_pair\", \"label\"|\"probs\"|\"value\", \"choices\"", line: 2, field: "id")
        try assertError("{\"txt\":\"a\",\"label\":\"x\"}\n", contains: "unknown key", line: 1, field: "txt")
        try assertError("{\"text\":\"a\",\"_note\":\"x\"}\n", requireTargets: false, contains: "unknown key", line: 1, field: "_note")
        // "source" is what fute-db unsupervised writes into U; U must read back.
        let u = try TaskDataset.read(path: try file("U.jsonl", "{\"source\":\"sst2\",\"text\":\"a\"}\n"), requireTargets: false)
        XCTAssertEqual(u.examples[0].input, TextInput("a"))
    }

    func testMultipleChoiceExamplesExpandIntoCorrectAndIncorrectPairs() throws {
        let text = "{\"text\":\"q1\",\"choices\":[\"a\",\"b\",\"c\"],\"label\":2}\n{\"text\":\"q2\",\"choices\":[\"d\",\"e\"],\"label\":0}\n"
        let dataset = try TaskDataset.read(path: try file("mc.jsonl", text), requireTargets: true)
        let pairs = TaskEmbedder.expandingChoices(dataset)
        XCTAssertEqual(pairs.examples.map(\.input), dataset.examples.flatMap(\.inputs))
        XCTAssertEqual(pairs.examples.map(\.target), [.label("incorrect"), .label("incorrect"), .label("correct"), .label("correct"), .label("incorrect")])
        XCTAssertEqual(pairs.examples.map(\.line), [1, 1, 1, 2, 2])
        XCTAssertTrue(pairs.examples.allSatisfy { $0.choices == nil })
        guard case .distributions(let y, let classes) = try TaskEmbedder.surrogateTargets(pairs.examples.map(\.target), path: dataset.path) else {
            return XCTFail("expected class distributions")
        }
        XCTAssertEqual(classes, 2)   // sorted: correct, incorrect
        XCTAssertEqual(y, [0, 1, 0, 1, 1, 0, 1, 0, 0, 1])
        XCTAssertThrowsError(try TaskEmbedder.surrogateTargets(dataset.examples.map(\.target), path: dataset.path))
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
