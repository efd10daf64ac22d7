import Foundation
import XCTest
@testable import FuteDB

/// Measures whether the blended transfer score helps, on synthetic libraries with a fixed seed:
/// families of tasks (embedding = family centre + noise), observed score = family match +
/// hidden source quality + noise. Prints the numbers quoted in the README.
final class QueryTransferBenefitTests: XCTestCase {
    struct Generator {
        var state: UInt64
        mutating func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        mutating func normal() -> Double {
            let u = max(uniform(), 1e-12), v = uniform()
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    func library(seed: UInt64, qualityWeight: Double) -> TaskSpaceSnapshot {
        var random = Generator(state: seed)
        let families = 6, perFamily = 20, dimension = 16
        let centres = (0..<families).map { _ in (0..<dimension).map { _ in random.normal() } }
        var entries: [TaskEntry] = []
        var family: [String: Int] = [:]
        for f in 0..<families {
            for j in 0..<perFamily {
                let name = "f\(f)-\(j)"
                family[name] = f
                entries.append(TaskEntry(name: name, kind: .dataset, vector: centres[f].map { Float($0 + 0.9 * random.normal()) }))
            }
        }
        let names = entries.map(\.name)
        let pool = Array(names.shuffled(using: &random).prefix(40))
        var quality: [String: Double] = [:]
        for source in pool { quality[source] = random.normal() }
        var observations: [TransferRecord] = []
        for target in names where !pool.contains(target) && random.uniform() < 0.3 {
            for source in pool.shuffled(using: &random).prefix(15) {
                let score = 0.55 + 0.12 * (family[source] == family[target] ? 1 : 0) + qualityWeight * (quality[source] ?? 0) + 0.02 * random.normal()
                observations.append(TransferRecord(source: source, target: target, score: score))
            }
        }
        return TaskSpaceSnapshot(space: "synthetic", metric: .cosine, dimension: dimension, entries: entries, observations: observations)
    }

    func measure(qualityWeight: Double) -> (similarity: Double, blended: Double, random: Double) {
        var similarity = 0.0, blended = 0.0, random = 0.0
        let seeds: [UInt64] = [1, 2, 3, 4, 5]
        for seed in seeds {
            let snapshot = library(seed: seed, qualityWeight: qualityWeight)
            let report = TransferEvaluation.evaluate(snapshot: snapshot, truth: snapshot.observations, k: 3)
            similarity += report.similarity.ndcg ?? 0
            blended += report.blended.ndcg ?? 0
            random += report.similarity.randomNDCG ?? 0
        }
        let n = Double(seeds.count)
        return (similarity / n, blended / n, random / n)
    }

    func testBlendHelpsWhenSourcesDifferInQualityAndDoesNotHurtWhenTheyDoNot() {
        let withQuality = measure(qualityWeight: 0.05)
        let withoutQuality = measure(qualityWeight: 0)
        print(String(format: "transfer benefit (NDCG@3, 5 seeds): quality effect: similarity %.4f blended %.4f random %.4f; no quality effect: similarity %.4f blended %.4f random %.4f",
                     withQuality.similarity, withQuality.blended, withQuality.random,
                     withoutQuality.similarity, withoutQuality.blended, withoutQuality.random))
        XCTAssertGreaterThan(withQuality.similarity, withQuality.random)
        XCTAssertGreaterThan(withQuality.blended, withQuality.similarity + 0.01)
        XCTAssertGreaterThan(withoutQuality.blended, withoutQuality.similarity - 0.02)
    }
}

extension QueryTransferBenefitTests.Generator: RandomNumberGenerator {
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}
