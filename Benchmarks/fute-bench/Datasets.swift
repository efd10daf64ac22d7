import Foundation
import Kernels
import Readers

/// A row-major matrix of float vectors.
struct Matrix {
    var rows: Int
    var dimension: Int
    var values: [Float]

    func row(_ i: Int) -> ArraySlice<Float> { values[(i * dimension)..<((i + 1) * dimension)] }
    func prefix(_ n: Int) -> Matrix {
        let m = min(n, rows)
        return Matrix(rows: m, dimension: dimension, values: Array(values[0..<(m * dimension)]))
    }
}

/// Reads `.fvecs` or `.npy` (float32/float64 2-D) through Ingest's readers.
func loadMatrix(_ path: String) throws -> Matrix {
    let rows: [[Float]]
    if path.hasSuffix(".npy") {
        rows = try NPYReader.read(path).rows
    } else if path.hasSuffix(".fvecs") {
        rows = try VecsReader.readFvecs(path)
    } else {
        throw BenchError("cannot read \(path): use .fvecs or .npy", usage: true)
    }
    guard let d = rows.first?.count, d > 0 else { throw BenchError("\(path) holds no vectors") }
    var values: [Float] = []
    values.reserveCapacity(rows.count * d)
    for r in rows {
        guard r.count == d else { throw BenchError("\(path): rows of different lengths (\(d) and \(r.count))") }
        values.append(contentsOf: r)
    }
    return Matrix(rows: rows.count, dimension: d, values: values)
}

/// Reads ground truth ids from `.ivecs`.
func loadTruth(_ path: String) throws -> [[Int]] {
    try VecsReader.readIvecs(path).map { $0.map(Int.init) }
}

/// Writes `.fvecs`.
func writeFvecs(_ m: Matrix, to path: String) throws {
    var data = Data(capacity: m.rows * (4 + 4 * m.dimension))
    for i in 0..<m.rows {
        var d = Int32(m.dimension).littleEndian
        withUnsafeBytes(of: &d) { data.append(contentsOf: $0) }
        m.row(i).withUnsafeBytes { data.append(contentsOf: $0) }
    }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Writes `.ivecs`.
func writeIvecs(_ rows: [[Int]], to path: String) throws {
    var data = Data()
    for r in rows {
        var d = Int32(r.count).littleEndian
        withUnsafeBytes(of: &d) { data.append(contentsOf: $0) }
        for v in r { var x = Int32(v).littleEndian; withUnsafeBytes(of: &x) { data.append(contentsOf: $0) } }
    }
    try data.write(to: URL(fileURLWithPath: path))
}

/// SplitMix64, for reproducible synthetic data.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func gaussian() -> Float {
        let u1 = Double(next() >> 11 | 1) / Double(1 << 53), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * Foundation.log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
}

/// Clustered Gaussian data: `clusters` centres, points = centre + noise. Seeded.
func syntheticMatrix(rows: Int, dimension: Int, clusters: Int = 100, seed: UInt64, normalize: Bool) -> Matrix {
    var g = SeededGenerator(state: seed)
    let centres = (0..<(clusters * dimension)).map { _ in g.gaussian() }
    var values = [Float](repeating: 0, count: rows * dimension)
    for i in 0..<rows {
        let c = Int(g.next() % UInt64(clusters))
        for j in 0..<dimension { values[i * dimension + j] = centres[c * dimension + j] + 0.5 * g.gaussian() }
    }
    var m = Matrix(rows: rows, dimension: dimension, values: values)
    if normalize { m.values = ExactSearch.normalizedRows(m.values, dimension: dimension) }
    return m
}

/// Exact top-k through BLAS (ground truth when no --truth file is given).
func exactTruth(base: Matrix, queries: Matrix, metric: Metric, k: Int) -> [[Int]] {
    ExactSearch.batchSearch(queries: queries.values, base: base.values, dimension: base.dimension, metric: metric, k: k)
        .map { $0.map(\.id) }
}
