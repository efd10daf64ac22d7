import Foundation
import TestSupport
import XCTest
@testable import FuteDB

/// `TaskMap` (classical MDS by the space's comparison) and `TaskMapSVG`.
final class TaskMapTests: XCTestCase {
    /// Pairwise distances of 2-D coordinates.
    func distances(_ points: [(x: Double, y: Double)]) -> [[Double]] {
        points.map { a in points.map { b in ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() } }
    }

    func assertRecovers(_ input: [[Double]], file: StaticString = #filePath, line: UInt = #line) {
        let euclidean = { (a: [Double], b: [Double]) in zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() }
        let projected = ClassicalMDS.project(count: input.count) { euclidean(input[$0], input[$1]) }
        let got = distances(projected)
        for i in input.indices {
            for j in input.indices {
                XCTAssertEqual(got[i][j], euclidean(input[i], input[j]), accuracy: 1e-4, "pair \(i), \(j)", file: file, line: line)
            }
        }
    }

    func testMDSRecoversTheDistancesOfASquareUpToRotation() {
        // A unit square: two equal eigenvalues, any orthonormal pair of axes in their plane is right.
        assertRecovers([[0, 0], [1, 0], [1, 1], [0, 1]])
        // Hand check: the square's side is 1 and its diagonal √2 on the map.
        let projected = ClassicalMDS.project(count: 4) { i, j in (i + j) % 2 == 1 ? 1 : 2.0.squareRoot() }
        XCTAssertEqual(distances(projected)[0][2], 2.0.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(distances(projected)[0][1], 1, accuracy: 1e-9)
    }

    func testMDSPutsPointsOnALineOnTheFirstAxis() {
        let line: [[Double]] = [[0], [1], [3], [7], [8]]
        assertRecovers(line)
        let projected = ClassicalMDS.project(count: line.count) { abs(line[$0][0] - line[$1][0]) }
        for point in projected { XCTAssertEqual(point.y, 0, accuracy: 1e-6) }
        // Centred at the mean (3.8); the sign puts the largest coordinate positive.
        XCTAssertEqual(projected.map(\.x).reduce(0, +), 0, accuracy: 1e-9)
        XCTAssertEqual(projected[0].x, -3.8, accuracy: 1e-6)
        XCTAssertEqual(projected[4].x, 4.2, accuracy: 1e-6)
    }

    func testMDSRecoversPlanarPointsEmbeddedInFiveDimensionsAndIsDeterministic() {
        var generator = SplitMixValues(seed: 3)
        // 30 points on a plane spanned by two directions of R⁵.
        let u: [Double] = [1, 2, 0, -1, 0.5], v: [Double] = [0, 1, 1, 1, -2]
        let points = (0..<30).map { _ -> [Double] in
            let a = Double(generator.next()) * 3, b = Double(generator.next())
            return zip(u, v).map { a * $0 + b * $1 }
        }
        assertRecovers(points)
        let euclidean = { (i: Int, j: Int) in zip(points[i], points[j]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() }
        let once = ClassicalMDS.project(count: 30, distance: euclidean), twice = ClassicalMDS.project(count: 30, distance: euclidean)
        XCTAssertEqual(once.map(\.x), twice.map(\.x))
        XCTAssertEqual(once.map(\.y), twice.map(\.y))
    }

    func testMDSOfOneOrTwoPoints() {
        XCTAssertTrue(ClassicalMDS.project(count: 0) { _, _ in 1 }.isEmpty)
        XCTAssertEqual(ClassicalMDS.project(count: 1) { _, _ in 1 }.map(\.x), [0])
        let two = ClassicalMDS.project(count: 2) { _, _ in 5 }
        XCTAssertEqual(distances(two)[0][1], 5, accuracy: 1e-9)
        let same = ClassicalMDS.project(count: 3) { _, _ in 0 }
        XCTAssertTrue(same.allSatisfy { $0.x == 0 && $0.y == 0 })
    }

    /// Cosine spaces: the map's distances are √(2(1 − cos)), the chord between unit vectors.
    /// Unit vectors on a circle (any lengths) span two dimensions, so they are recovered exactly.
    func testCosineMapReproducesChordDistances() throws {
        let angles: [Double] = [0, 0.4, 1.1, 2.0, 3.5]
        let entries = angles.enumerated().map { index, angle in
            TaskEntry(name: "t\(index)", kind: .dataset, vector: [Float(cos(angle)), Float(sin(angle)), 0].map { $0 * Float(index + 1) })
        }
        let map = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 3, entries: entries))
        XCTAssertEqual(map.distance, .cosine)
        XCTAssertEqual(map.points.map(\.name), ["t0", "t1", "t2", "t3", "t4"])
        let got = distances(map.points.map { (x: $0.x, y: $0.y) })
        for i in angles.indices {
            for j in angles.indices {
                let cosine = TaskScoring.cosine(entries[i].vector, entries[j].vector)
                XCTAssertEqual(got[i][j], (2 * (1 - cosine)).squareRoot(), accuracy: 1e-4)
            }
        }
    }

    /// Centered-cosine spaces are mapped by the query layer's centered cosine, not the raw one.
    func testCenteredSpaceIsMappedByCenteredCosine() throws {
        let entries = [
            TaskEntry(name: "a", kind: .dataset, vector: [1, 0, 0, 3]),
            TaskEntry(name: "b", kind: .dataset, vector: [0, 1, 0, 3]),
            TaskEntry(name: "c", kind: .dataset, vector: [0, 0, 1, 3]),
        ]
        let snapshot = TaskSpaceSnapshot(space: "fute", metric: .cosine, comparison: .centeredCosine, dimension: 4, entries: entries)
        XCTAssertNotNil(snapshot.center)
        let map = try TaskMap(snapshot: snapshot)
        XCTAssertEqual(map.distance, .centeredCosine)
        let got = distances(map.points.map { (x: $0.x, y: $0.y) })
        // Three points always lie in a plane: exact. Centered, the three are equidistant at cos −½.
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let centered = snapshot.cosine(to: entries[i].vector)(entries[j].vector)
            XCTAssertEqual(centered, -0.5, accuracy: 1e-6)
            XCTAssertEqual(got[i][j], (2 * (1 - centered)).squareRoot(), accuracy: 1e-4)
            XCTAssertNotEqual(got[i][j], (2 * (1 - TaskScoring.cosine(entries[i].vector, entries[j].vector))).squareRoot(), accuracy: 0.1)
        }
    }

    func testL2MapReproducesEuclideanDistances() throws {
        let vectors: [[Float]] = [[0, 0, 1], [3, 0, 1], [3, 4, 1], [0, 4, 1]]
        let entries = vectors.enumerated().map { TaskEntry(name: "p\($0.offset)", kind: .dataset, vector: $0.element) }
        let map = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s", metric: .l2, dimension: 3, entries: entries))
        XCTAssertEqual(map.distance, .l2)
        let got = distances(map.points.map { (x: $0.x, y: $0.y) })
        XCTAssertEqual(got[0][2], 5, accuracy: 1e-4)
        XCTAssertEqual(got[0][1], 3, accuracy: 1e-4)
        XCTAssertEqual(got[1][2], 4, accuracy: 1e-4)
    }

    func testExamplesAreLeftOutOfATaskSpaceButAnExampleSpaceIsMapped() throws {
        let task = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 2, entries: [
            TaskEntry(name: "d", kind: .dataset, vector: [1, 0]),
            TaskEntry(name: "m", kind: .model, vector: [0, 1]),
            TaskEntry(name: "d#0", kind: .example, vector: [1, 1]),
        ]))
        XCTAssertEqual(task.points.map(\.name), ["d", "m"])
        let examples = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s#examples", metric: .cosine, dimension: 2, entries: [
            TaskEntry(name: "d#0", kind: .example, metadata: ["of": "d"], vector: [1, 0]),
            TaskEntry(name: "d#1", kind: .example, metadata: ["of": "d"], vector: [0, 1]),
        ]))
        XCTAssertEqual(examples.points.map(\.name), ["d#0", "d#1"])
        let svg = try SVGDocument(data: Data(TaskMapSVG(colorBy: "of").render(examples).utf8))
        XCTAssertEqual(svg.marks.count, 2)
        XCTAssertTrue(svg.texts.contains("example"), "the shape legend names the example kind")
    }

    func testMoreThanTheLimitIsRefusedNamingIt() {
        let entries = (0...TaskMap.maximumSubjects).map { TaskEntry(name: "t\($0)", kind: .dataset, vector: [Float($0)]) }
        let snapshot = TaskSpaceSnapshot(space: "big", metric: .l2, dimension: 1, entries: entries)
        assertFuteError(.invalidArgument, field: "space", try TaskMap(snapshot: snapshot))
        XCTAssertThrowsError(try TaskMap(snapshot: snapshot)) { error in
            XCTAssertTrue("\(error)".contains("at most 5000"), "\(error)")
            XCTAssertTrue("\(error)".contains("5001"), "\(error)")
        }
    }

    /// Names with XML's markup characters, a control character; two families, a model, a subject
    /// without the key: well-formed, one titled mark per subject, grey "(none)" in the legend.
    func testSVGIsWellFormedWithOneTitledMarkPerSubject() throws {
        let names = ["a<b>&\"c'", "plain", "tab\u{1}ctl", "model & co", "no-family"]
        let entries = [
            TaskEntry(name: names[0], kind: .dataset, metadata: ["family": "x<y"], vector: [1, 0, 0]),
            TaskEntry(name: names[1], kind: .dataset, metadata: ["family": "x<y"], vector: [0.9, 0.1, 0]),
            TaskEntry(name: names[2], kind: .dataset, metadata: ["family": "z"], vector: [0, 1, 0]),
            TaskEntry(name: names[3], kind: .model, metadata: ["family": "z"], vector: [0, 0.9, 0.2]),
            TaskEntry(name: names[4], kind: .dataset, vector: [0, 0, 1]),
        ]
        let map = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s&t", metric: .cosine, dimension: 3, entries: entries))
        let text = TaskMapSVG().render(map)
        let svg = try SVGDocument(data: Data(text.utf8))
        XCTAssertEqual(svg.root, "svg")
        XCTAssertEqual(svg.marks.count, names.count)
        let expectedNames = names.map { $0.replacingOccurrences(of: "\u{1}", with: "\u{FFFD}") }
        for name in expectedNames {
            XCTAssertEqual(svg.marks.filter { $0.title?.hasPrefix(name + " (") == true }.count, 1, "one mark titled \(name)")
            XCTAssertTrue(svg.texts.contains(name), "labelled: \(name)")
        }
        XCTAssertEqual(svg.marks.filter { $0.element == "rect" }.map(\.title), ["model & co (model, family: z)"])
        XCTAssertTrue(svg.texts.contains("(none) (1)"), "\(svg.texts)")
        XCTAssertTrue(svg.texts.contains("x<y (2)"), "\(svg.texts)")
        XCTAssertTrue(text.contains(TaskMapSVG.noneColor))
        XCTAssertTrue(svg.marks.allSatisfy { $0.x.isFinite && $0.y.isFinite })
    }

    func testLabelsOnlyWhenFewMarks() throws {
        func map(_ count: Int) throws -> SVGDocument {
            let entries = (0..<count).map { TaskEntry(name: "t\($0)", kind: .dataset, vector: [Float(cos(Double($0))), Float(sin(Double($0)))]) }
            let map = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 2, entries: entries))
            return try SVGDocument(data: Data(TaskMapSVG().render(map).utf8))
        }
        XCTAssertTrue(try map(40).texts.contains("t39"))
        let many = try map(41)
        XCTAssertEqual(many.marks.count, 41)
        XCTAssertFalse(many.texts.contains("t39"))
    }

    /// Two families around orthogonal directions of R¹⁶: on the map their marks' bounding boxes are disjoint.
    func testTwoSeparatedFamiliesDoNotOverlap() throws {
        var generator = SplitMixValues(seed: 11)
        var entries: [TaskEntry] = []
        for (family, axis) in [("left", 0), ("right", 1)] {
            for index in 0..<25 {
                var vector = (0..<16).map { _ in generator.next() * 0.15 }
                vector[axis] += 1
                entries.append(TaskEntry(name: "\(family)-\(index)", kind: index < 3 ? .model : .dataset, metadata: ["family": family], vector: vector))
            }
        }
        let map = try TaskMap(snapshot: TaskSpaceSnapshot(space: "s", metric: .cosine, dimension: 16, entries: entries))
        let svg = try SVGDocument(data: Data(TaskMapSVG().render(map).utf8))
        XCTAssertEqual(svg.marks.count, 50)
        func box(_ family: String) -> (minX: Double, maxX: Double, minY: Double, maxY: Double) {
            let marks = svg.marks.filter { $0.title?.hasSuffix("family: \(family))") == true }
            XCTAssertEqual(marks.count, 25)
            return (marks.map(\.x).min() ?? 0, marks.map(\.x).max() ?? 0, marks.map(\.y).min() ?? 0, marks.map(\.y).max() ?? 0)
        }
        let left = box("left"), right = box("right")
        let overlap = left.minX <= right.maxX && right.minX <= left.maxX && left.minY <= right.maxY && right.minY <= left.maxY
        XCTAssertFalse(overlap, "left \(left), right \(right)")
    }

    /// Through a store: `DatabaseReader.taskMap` reads the space's provenance (centered-cosine) and subjects' metadata.
    func testTaskMapFromAStore() throws {
        let db = try FuteDatabase(path: makeStorePath(self))
        try db.write { db in
            try db.ensureSpace(Space(name: "fute", dimension: 3, metric: .cosine,
                                     provenance: Provenance(method: "fute", encoder: "e", comparison: .centeredCosine)))
            for (name, vector) in [("a", [1, 0, 0.5]), ("b", [0, 1, 0.5]), ("c", [0.5, 0.5, 1])] as [(String, [Float])] {
                try db.upsertSubject(Subject(name: name, kind: .dataset, metadata: ["family": "f"]))
                try db.putEmbedding(space: "fute", subject: name, vector: vector)
            }
        }
        let map = try db.read { try $0.taskMap(space: "fute") }
        XCTAssertEqual(map.distance, .centeredCosine)
        XCTAssertEqual(map.points.map(\.name), ["a", "b", "c"])
        XCTAssertEqual(map.values(of: "family").map(\.count), [3])
        assertFuteError(.notFound, field: "space", try db.read { try $0.taskMap(space: "nope") })
    }
}
