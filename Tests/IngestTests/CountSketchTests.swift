import Foundation
import XCTest
@testable import Embedders
@testable import Encoder
@testable import Readers

final class CountSketchTests: XCTestCase {
    /// Each coordinate lands in one bucket with sign ±1; the sketch is linear and keeps cosines of long
    /// vectors (591,360 floats, MiniLM's attention delta) within a few hundredths.
    func testSketchIsLinearAndKeepsCosines() {
        for i in [0, 1, 4095, 4096, 591_359] {
            var e = [Float](repeating: 0, count: i + 1)
            e[i] = 1
            let s = CountSketch.apply(e, width: 4096)
            XCTAssertEqual(s.filter { $0 != 0 }.count, 1, "coordinate \(i)")
            XCTAssertEqual(s.map(abs).reduce(0, +), 1, "coordinate \(i)")
        }
        // Buckets spread evenly: 40,960 coordinates over 4,096 buckets, none empty, none above 3× the mean.
        var load = [Int](repeating: 0, count: 4096)
        for i in 0..<40_960 { load[CountSketch.bucket(i, width: 4096).index] += 1 }
        XCTAssertGreaterThan(load.min() ?? 0, 0)
        XCTAssertLessThan(load.max() ?? 0, 30)

        var rng = SplitMix64(seed: 5)
        let n = 591_360
        let a = (0..<n).map { _ in rng.nextFloat(in: -1, 1) }
        let noise = (0..<n).map { _ in rng.nextFloat(in: -1, 1) }
        let b = zip(a, noise).map { $0 + $1 }   // cosine with a ≈ 1/√2
        func dot(_ x: [Float], _ y: [Float]) -> Double { zip(x, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        func cosine(_ x: [Float], _ y: [Float]) -> Double { dot(x, y) / (dot(x, x) * dot(y, y)).squareRoot() }
        let sa = CountSketch.apply(a, width: 4096), sb = CountSketch.apply(b, width: 4096), sn = CountSketch.apply(noise, width: 4096)
        XCTAssertEqual(cosine(a, b), 0.707, accuracy: 0.01)
        XCTAssertEqual(cosine(sa, sb), cosine(a, b), accuracy: 0.05)
        XCTAssertEqual(cosine(sa, sn), cosine(a, noise), accuracy: 0.05)
        XCTAssertLessThan(zip(sb, zip(sa, sn).map { $0 + $1 }).map { abs($0 - $1) }.max() ?? 1, 1e-3)
        XCTAssertEqual(sa, CountSketch.apply(a, width: 4096))
    }

    func testNamesRoundTrip() {
        XCTAssertEqual(CountSketch.name(width: 4096), "count-sketch-fute-sk1-4096")
        XCTAssertEqual(CountSketch.width(named: "count-sketch-fute-sk1-4096"), 4096)
        for bad in ["count-sketch-fute-sk1-0", "count-sketch-fute-sk1-04096", "count-sketch-fute-sk2-4096", "count-sketch-fute-sk1-", "x"] {
            XCTAssertNil(CountSketch.width(named: bad), bad)
        }
    }

    /// The attention surrogate's embedding is the sketch of its whole tuned delta.
    func testAttentionEmbeddingIsTheSketchOfTheDelta() throws {
        let layer = AttentionSurrogateTests.randomLayer(seed: 5)
        var config = try AttentionSurrogateTests.configuration()
        config.hiddenSize = 8; config.headCount = 2; config.intermediateSize = 12
        let states = AttentionSurrogateTests.states(lengths: [2, 4, 3, 6, 5, 2, 3], seed: 6)
        var y = [Float](repeating: 0, count: 7 * 3)
        for (i, l) in [0, 1, 2, 0, 1, 2, 0].enumerated() { y[i * 3 + l] = 1 }
        var settings = SurrogateSettings(seed: 1)
        settings.batchSize = 3
        settings.sketchWidth = 0
        let whole = AttentionSurrogate.embedding(states: states, layer: layer, configuration: config, targets: .distributions(y, classes: 3), settings: settings)
        XCTAssertEqual(whole.count, AttentionSurrogate.embeddingDimension(hiddenSize: 8))
        settings.sketchWidth = 64
        let sketched = AttentionSurrogate.embedding(states: states, layer: layer, configuration: config, targets: .distributions(y, classes: 3), settings: settings)
        XCTAssertEqual(sketched, CountSketch.apply(whole, width: 64))
    }

    /// A space's recorded settings read back as the settings that made them; unreadable ones are `nil`.
    func testRecordedSettingsRoundTrip() {
        var legacy = SurrogateSettings(seed: 3)
        legacy.sketchWidth = 0
        var bottleneck = SurrogateSettings(seed: 3, part: .bottleneck)
        bottleneck.rank = 16
        for settings in [SurrogateSettings(seed: 3), legacy, bottleneck] {
            let fields = settings.recordedFields
            let read = SurrogateSettings(recorded: fields, seed: 3)
            XCTAssertEqual(read?.recordedFields, fields)
        }
        XCTAssertEqual(SurrogateSettings(seed: 0).recordedFields["sketch"], "count-sketch-fute-sk1-4096")
        XCTAssertNil(legacy.recordedFields["sketch"])
        XCTAssertEqual(SurrogateSettings(recorded: legacy.recordedFields, seed: 0)?.sketchWidth, 0)
        var unknown = SurrogateSettings(seed: 0).recordedFields
        unknown["sketch"] = "count-sketch-other-4096"
        XCTAssertNil(SurrogateSettings(recorded: unknown, seed: 0))
        unknown = SurrogateSettings(seed: 0).recordedFields
        unknown["extra-setting"] = "1"
        XCTAssertNil(SurrogateSettings(recorded: unknown, seed: 0))
        XCTAssertNil(SurrogateSettings(recorded: [:], seed: 0))
    }
}
