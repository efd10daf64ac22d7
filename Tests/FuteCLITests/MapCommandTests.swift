import Foundation
import TestSupport
import XCTest

/// `fute-db map`, run as a process like `CLIEndToEndTests`.
final class MapCommandTests: XCTestCase {
    var fute: FuteProcess!
    var scratch: ScratchDirectory!
    var db: String { scratch.path("store.db") }
    let tasks = FuteProcess.packageRoot.appendingPathComponent("Tools/samples/tasks.jsonl").path

    override func setUpWithError() throws {
        fute = try FuteProcess.locate()
        scratch = try ScratchDirectory()
    }

    /// The shipped samples (240 datasets, 24 models, 8 families): one titled mark per subject,
    /// models as squares, one legend row per family, no "(none)".
    func testMapsTheSamplesIntoAWellFormedSVG() throws {
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "tasks", tasks]).status, 0)
        let out = scratch.path("samples.svg")
        let result = try fute.run(["map", "--db", db, "--space", "tasks", "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("wrote \(out): 264 marks (240 datasets, 24 models)"), result.stdout)
        XCTAssertTrue(result.stderr.isEmpty, result.stderr)

        let svg = try SVGDocument(data: Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(svg.root, "svg")
        XCTAssertEqual(svg.marks.count, 264)
        XCTAssertEqual(svg.marks.filter { $0.element == "rect" }.count, 24)
        let names = try String(contentsOfFile: tasks, encoding: .utf8).split(separator: "\n").map { line -> String in
            let object = try XCTUnwrap(try decodeJSON(String(line)) as? [String: Any])
            return try XCTUnwrap(object["name"] as? String)
        }
        let titled = Set(svg.marks.compactMap { $0.title?.components(separatedBy: " (").first })
        XCTAssertEqual(titled, Set(names))
        for family in 0..<8 { XCTAssertTrue(svg.texts.contains("topic-\(family) (33)"), "legend row for topic-\(family)") }
        XCTAssertFalse(svg.texts.contains { $0.hasPrefix("(none)") })
        XCTAssertFalse(svg.texts.contains(names[0]), "264 marks are not labelled")
    }

    /// Default --out is map.svg in the working directory; an unknown --color-by key warns and still writes.
    func testDefaultOutAndUnknownColorKeyWarns() throws {
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "tasks", tasks]).status, 0)
        let result = try fute.run(["map", "--db", db, "--space", "tasks", "--color-by", "colour"], in: scratch.url)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("wrote map.svg: 264 marks"), result.stdout)
        XCTAssertTrue(result.stderr.contains("warning: --color-by colour: no subject in space 'tasks' has this metadata key"), result.stderr)
        XCTAssertTrue(result.stderr.contains("keys present: examples, family"), result.stderr)
        let svg = try SVGDocument(data: Data(contentsOf: scratch.url.appendingPathComponent("map.svg")))
        XCTAssertEqual(svg.marks.count, 264)
        XCTAssertTrue(svg.texts.contains("(none) (264)"))
    }

    func testErrorsNameTheFlag() throws {
        let missing = try fute.run(["map", "--db", db])
        XCTAssertEqual(missing.status, 64)
        XCTAssertTrue(missing.stderr.contains("--space is required"), missing.stderr)

        let file = try scratch.write("v.jsonl", vectorLines([[1, 2], [3, 4]]))
        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "small", file]).status, 0)
        let unknown = try fute.run(["map", "--db", db, "--space", "nope", "--out", scratch.path("x.svg")])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown space 'nope'; spaces: small"), unknown.stderr)

        XCTAssertEqual(try fute.run(["delete", "--db", db, "--space", "small", "v0", "v1"]).status, 0)
        let empty = try fute.run(["map", "--db", db, "--space", "small", "--out", scratch.path("x.svg")])
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("--space small: the space is empty"), empty.stderr)

        XCTAssertEqual(try fute.run(["ingest", "--db", db, "--space", "small", file]).status, 0)
        let unwritable = try fute.run(["map", "--db", db, "--space", "small", "--out", scratch.path("no/such/dir/x.svg")])
        XCTAssertEqual(unwritable.status, 1)
        XCTAssertTrue(unwritable.stderr.contains("--out "), unwritable.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("x.svg")))

        let help = try fute.run(["map", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE: fute-db map"), help.stdout)
        XCTAssertTrue(try fute.run(["--help"]).stdout.contains("  map "))
    }
}
