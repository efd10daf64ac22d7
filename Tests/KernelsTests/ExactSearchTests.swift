import TestSupport
import XCTest
@testable import Kernels

final class ExactSearchTests: XCTestCase {
    /// Independent brute force: compute all distances in Double, sort by (distance, id).
    func bruteForce(_ q: [Float], _ base: [Float], _ d: Int, _ m: Metric, _ k: Int, _ keep: (Int) -> Bool = { _ in true }) -> [Int] {
        let n = base.count / d
        let all = (0..<n).filter(keep).map { i in (i, Reference.distance(m, q, Array(base[(i * d)..<((i + 1) * d)]))) }
        return all.sorted { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k).map(\.0)
    }

    func testSearchMatchesBruteForceForEveryMetric() {
        var rng = TestRNG(seed: 1)
        for d in [3, 16, 33, 128] {
            let n = 500
            let base = rng.floats(n * d)
            for m in Metric.allCases {
                for _ in 0..<5 {
                    let q = rng.floats(d)
                    let got = ExactSearch.search(query: q, base: base, dimension: d, metric: m, k: 10)
                    XCTAssertEqual(got.map(\.id), bruteForce(q, base, d, m, 10), "d=\(d) \(m)")
                    XCTAssertEqual(got.map(\.distance), got.map(\.distance).sorted())
                }
            }
        }
    }

    func testFilterExcludesRows() {
        var rng = TestRNG(seed: 2)
        let d = 8, n = 300
        let base = rng.floats(n * d)
        let q = rng.floats(d)
        let got = ExactSearch.search(query: q, base: base, dimension: d, metric: .l2, k: 5, isIncluded: { $0 % 3 == 0 })
        XCTAssertTrue(got.allSatisfy { $0.id % 3 == 0 })
        XCTAssertEqual(got.map(\.id), bruteForce(q, base, d, .l2, 5) { $0 % 3 == 0 })
    }

    func testKLargerThanBaseReturnsAllRows() {
        let base: [Float] = [0, 0, 1, 1, 2, 2]
        let got = ExactSearch.search(query: [0, 0], base: base, dimension: 2, metric: .l2, k: 10)
        XCTAssertEqual(got, [Neighbor(id: 0, distance: 0), Neighbor(id: 1, distance: 2), Neighbor(id: 2, distance: 8)])
        XCTAssertEqual(ExactSearch.search(query: [0, 0], base: [], dimension: 2, metric: .l2, k: 3), [])
    }

    func testTiesBreakByLowerID() {
        let base: [Float] = [1, 0, 0, 1, -1, 0, 0, -1]
        let got = ExactSearch.search(query: [0, 0], base: base, dimension: 2, metric: .l2, k: 4)
        XCTAssertEqual(got.map(\.id), [0, 1, 2, 3])
    }

    func testBatchSearchEqualsSingleSearch() {
        var rng = TestRNG(seed: 3)
        for d in [5, 64, 100] {
            let n = 700, nq = 20
            let base = rng.floats(n * d)
            let queries = rng.floats(nq * d)
            for m in Metric.allCases {
                let batch = ExactSearch.batchSearch(queries: queries, base: base, dimension: d, metric: m, k: 10)
                XCTAssertEqual(batch.count, nq)
                for i in 0..<nq {
                    let q = Array(queries[(i * d)..<((i + 1) * d)])
                    let single = ExactSearch.search(query: q, base: base, dimension: d, metric: m, k: 10)
                    XCTAssertEqual(batch[i].count, 10)
                    for (x, y) in zip(batch[i], single) {
                        XCTAssertEqual(x.distance, y.distance, accuracy: 1e-3 * max(1, abs(y.distance)), "\(m) d=\(d)")
                        if x.id != y.id {
                            // Only a near-tie may swap order.
                            XCTAssertEqual(Distance.distance(m, q, Array(base[(x.id * d)..<((x.id + 1) * d)])), y.distance,
                                           accuracy: 1e-3 * max(1, abs(y.distance)))
                        }
                    }
                }
            }
        }
    }

    func testBatchCosineWithZeroVectorGivesDistanceOne() {
        let base: [Float] = [0, 0, 1, 0]
        let got = ExactSearch.batchSearch(queries: [1, 0], base: base, dimension: 2, metric: .cosine, k: 2)
        XCTAssertEqual(got[0].map(\.id), [1, 0])
        XCTAssertEqual(got[0][1].distance, 1, accuracy: 1e-6)
    }

    func testMeanOfLargestDotsMatchesSortingEveryProduct() {
        var rng = TestRNG(seed: 29)
        let d = 7
        let queries = (0..<(13 * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        let base = (0..<(40 * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        for count in [1, 3, 10, 40, 55] {
            let got = ExactSearch.meanOfLargestDots(queries: queries, base: base, dimension: d, count: count)
            XCTAssertEqual(got.count, 13)
            for r in 0..<13 {
                let q = queries[(r * d)..<((r + 1) * d)]
                let dots = (0..<40).map { i in zip(q, base[(i * d)..<((i + 1) * d)]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
                let best = dots.sorted(by: >).prefix(min(count, 40))
                XCTAssertEqual(got[r], best.reduce(0, +) / Double(best.count), accuracy: 1e-5, "count \(count), row \(r)")
            }
        }
        // Hand-computed: q = (1, 0) against (3, 0), (−1, 0), (2, 5): dots 3, −1, 2; the best two average 2.5.
        XCTAssertEqual(ExactSearch.meanOfLargestDots(queries: [1, 0], base: [3, 0, -1, 0, 2, 5], dimension: 2, count: 2), [2.5])
        XCTAssertEqual(ExactSearch.meanOfLargestDots(queries: [], base: [1, 0], dimension: 2, count: 2), [])
        XCTAssertEqual(ExactSearch.meanOfLargestDots(queries: [1, 0], base: [], dimension: 2, count: 2), [])
    }

    func testMatmulMatchesHandComputed() {
        // [1 2; 3 4] × [5 6; 7 8] = [19 22; 43 50]
        XCTAssertEqual(BLAS.matmul([1, 2, 3, 4], [5, 6, 7, 8], m: 2, n: 2, k: 2), [19, 22, 43, 50])
        // Aᵀ × B with A stored 2×2 → [1 3; 2 4] × [5 6; 7 8] = [26 30; 38 44]
        XCTAssertEqual(BLAS.matmul([1, 2, 3, 4], [5, 6, 7, 8], m: 2, n: 2, k: 2, transposeA: true), [26, 30, 38, 44])
    }
}
