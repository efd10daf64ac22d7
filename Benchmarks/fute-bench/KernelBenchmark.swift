import CReference
import Foundation
import Kernels

/// ns per distance call for each metric at several dimensions, Swift SIMD beside C.
func runKernels(dimensions: [Int], json: Bool) {
    var g = SeededGenerator(state: 1)
    var results: [[String: Any]] = []
    if !json { print("kernel          d      swift ns   C -O3 ns   C reassoc ns") }
    for d in dimensions {
        // 64 vector pairs, cycled: stays in L1/L2 like hot graph nodes.
        let pairs = 64
        let a = (0..<(pairs * d)).map { _ in g.gaussian() }
        let b = (0..<(pairs * d)).map { _ in g.gaussian() }
        let calls = max(200_000, 50_000_000 / d)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                let x = pa.baseAddress!, y = pb.baseAddress!  // safe: non-empty
                func time(_ f: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float) -> Double {
                    var sink: Float = 0
                    let times = measure(warmUp: 1, runs: 5) {
                        for i in 0..<calls {
                            let o = (i & (pairs - 1)) * d
                            sink += f(x + o, y + o, d)
                        }
                    }
                    if sink == 42.4242 { print("") }  // keeps the calls alive
                    return times.min()! * 1e9 / Double(calls)
                }
                let rows: [(String, Double, Double, Double)] = [
                    ("l2squared", time { Distance.l2Squared($0, $1, count: $2) },
                     time { fute_ref_l2sq($0, $1, Int32($2)) }, time { fute_ref_l2sq_fast($0, $1, Int32($2)) }),
                    ("dot", time { Distance.dot($0, $1, count: $2) },
                     time { fute_ref_dot($0, $1, Int32($2)) }, time { fute_ref_dot_fast($0, $1, Int32($2)) }),
                    ("cosine", time { Distance.cosineDistance($0, $1, count: $2) },
                     time { fute_ref_cosine_distance($0, $1, Int32($2)) }, time { fute_ref_cosine_distance_fast($0, $1, Int32($2)) }),
                ]
                for (name, s, c, cf) in rows {
                    results.append(["kernel": name, "dimension": d, "swift_ns": s, "c_ns": c, "c_reassoc_ns": cf])
                    if !json { print(name.padding(toLength: 16, withPad: " ", startingAt: 0) + String(format: "%-6d %-10.2f %-10.2f %-10.2f", d, s, c, cf)) }
                }
            }
        }
    }
    let fma = KernelVariant.active != .portable
    if json { print(jsonString(["benchmark": "kernels", "fma": fma, "kernels": KernelVariant.active.rawValue, "results": results])) }
}

/// Exact search QPS: BLAS batch (1 thread) and SIMD single-query scans.
func runExact(base: Matrix, queries: Matrix, metric: Metric, k: Int, json: Bool) {
    BLAS.setThreads(1)
    let batchTimes = measure(warmUp: 1, runs: 3) {
        _ = ExactSearch.batchSearch(queries: queries.values, base: base.values, dimension: base.dimension, metric: metric, k: k)
    }
    let single = queries.prefix(min(queries.rows, 100))
    let singleTimes = measure(warmUp: 1, runs: 3) {
        for i in 0..<single.rows {
            _ = ExactSearch.search(query: Array(single.row(i)), base: base.values, dimension: base.dimension, metric: metric, k: k)
        }
    }
    let batchQPS = Double(queries.rows) / batchTimes.min()!
    let singleQPS = Double(single.rows) / singleTimes.min()!
    if json {
        print(jsonString(["benchmark": "exact", "rows": base.rows, "dimension": base.dimension, "metric": metric.rawValue,
                          "batch_blas_qps": batchQPS, "single_simd_qps": singleQPS, "queries": queries.rows]))
    } else {
        print("exact search over \(base.rows)×\(base.dimension) (\(metric.rawValue), k=\(k), 1 thread)")
        print(String(format: "  BLAS batch (%d queries): %.0f QPS", queries.rows, batchQPS))
        print(String(format: "  SIMD single query:       %.0f QPS", singleQPS))
    }
}
