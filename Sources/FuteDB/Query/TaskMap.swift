import Foundation

/// A 2-D picture of one space: every subject placed so that the distances between the marks
/// approximate the distances the space compares its subjects by (classical MDS).
///
/// The distance follows the space's comparison, as the query layer scores it:
/// - `cosine` (and `ip`, whose dot product is not a distance) spaces: the Euclidean distance between
///   the unit vectors, √(2 · (1 − cos)). It orders every pair exactly as the cosine distance 1 − cos
///   does, and being Euclidean it is reproduced by classical MDS without negative eigenvalues.
/// - spaces compared by ``Comparison/centeredCosine`` (FUTE): the same on the vectors
///   as ``TaskSpaceSnapshot/comparable(_:)`` prepares them (unit length minus the datasets' mean
///   unit vector), so the map shows the neighbours `query` reports.
/// - `l2` spaces: the Euclidean distance.
///
/// Subjects of kind `example` are left out of a task space (they live in its `S#examples` space);
/// a space that holds only examples, such as `S#examples` itself, is mapped with all of them.
/// Spaces with more than ``maximumSubjects`` subjects to draw are refused: the projection needs the
/// full n × n distance matrix.
public struct TaskMap: Sendable {
    /// One subject's mark.
    public struct Point: Sendable, Equatable {
        /// Subject name.
        public var name: String
        /// What the subject is.
        public var kind: SubjectKind
        /// Top-level scalar metadata as text (as ``TaskEntry/metadata``).
        public var metadata: [String: String]
        /// First MDS coordinate (the direction of largest spread).
        public var x: Double
        /// Second MDS coordinate.
        public var y: Double

        /// Creates a point.
        public init(name: String, kind: SubjectKind, metadata: [String: String] = [:], x: Double, y: Double) {
            self.name = name
            self.kind = kind
            self.metadata = metadata
            self.x = x
            self.y = y
        }
    }

    /// The distance a map reproduces.
    public enum Distance: String, Sendable, Equatable {
        /// √(2 · (1 − cos)) between the raw vectors.
        case cosine
        /// √(2 · (1 − cos)) between the vectors centered as the query layer centers them.
        case centeredCosine = "centered-cosine"
        /// Euclidean distance.
        case l2

        /// How the map's caption names it.
        public var caption: String {
            switch self {
            case .cosine: return "cosine distance"
            case .centeredCosine: return "centered cosine distance"
            case .l2: return "L2 distance"
            }
        }
    }

    /// The most subjects a map draws (the projection holds an n × n matrix of Doubles: 200 MB at this size).
    public static let maximumSubjects = 5_000

    /// Space name.
    public var space: String
    /// The distance the coordinates reproduce.
    public var distance: Distance
    /// One point per drawn subject, in name order.
    public var points: [Point]

    /// Creates a map from points already placed.
    public init(space: String, distance: Distance, points: [Point]) {
        self.space = space
        self.distance = distance
        self.points = points
    }

    /// Projects the subjects of `snapshot` by the space's comparison (see ``TaskMap``).
    /// - Throws: ``FuteError`` `invalidArgument` (field `space`) when more than ``maximumSubjects``
    ///   subjects would be drawn.
    public init(snapshot: TaskSpaceSnapshot) throws(FuteError) {
        let onlyExamples = snapshot.entries.allSatisfy { $0.kind == .example }
        let entries = snapshot.entries
            .filter { onlyExamples || $0.kind != .example }
            .sorted { $0.name < $1.name }
        guard entries.count <= Self.maximumSubjects else {
            throw FuteError(.invalidArgument,
                            "space '\(snapshot.space)' has \(entries.count) subjects to draw but a map draws at most \(Self.maximumSubjects) (classical MDS needs their full distance matrix); map a smaller space, or delete subjects into a new space to map part of it",
                            field: "space")
        }
        let distance: Distance = snapshot.metric == .l2 ? .l2 : (snapshot.center == nil ? .cosine : .centeredCosine)
        let coordinates: [(x: Double, y: Double)]
        switch distance {
        case .l2:
            coordinates = ClassicalMDS.project(count: entries.count) { i, j in
                TaskScoring.score(.l2, entries[i].vector, entries[j].vector).squareRoot()
            }
        case .cosine, .centeredCosine:
            // Prepared once: the compared vectors at unit length, so a pair costs one dot product.
            let units = entries.map { entry -> [Double] in
                let vector = snapshot.comparable(entry.vector)
                let norm = TaskScoring.norm(vector)
                return vector.map { norm > 0 ? Double($0) / norm : 0 }
            }
            coordinates = ClassicalMDS.project(count: entries.count) { i, j in
                (2 * max(0, 1 - dot(units[i], units[j]))).squareRoot()
            }
        }
        self.init(space: snapshot.space, distance: distance, points: zip(entries, coordinates).map { entry, point in
            Point(name: entry.name, kind: entry.kind, metadata: entry.metadata, x: point.x, y: point.y)
        })
    }

    /// The distinct values of metadata `key` among the points, most frequent first (ties by
    /// value), with their counts; points lacking the key are not counted.
    public func values(of key: String) -> [(value: String, count: Int)] {
        var counts: [String: Int] = [:]
        for point in points { if let value = point.metadata[key] { counts[value, default: 0] += 1 } }
        return counts.map { (value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
    }

    /// Every metadata key some point has, sorted.
    public var metadataKeys: [String] { Array(Set(points.flatMap(\.metadata.keys))).sorted() }
}

/// Classical (Torgerson) multidimensional scaling into two dimensions, in pure Swift.
///
/// From the distances d(i, j) it forms B = −½ · J D⁽²⁾ J (J = I − 11ᵀ/n, D⁽²⁾ the squared
/// distances) and places point i at (√λ₁ · v₁[i], √λ₂ · v₂[i]) for the two largest eigenpairs of B,
/// found by subspace (block power) iteration on two vectors with a Rayleigh–Ritz step, from a fixed
/// start: the same distances always give the same picture. For Euclidean distances (all the ones
/// ``TaskMap`` uses) B is positive semi-definite and points that span at most two dimensions are
/// recovered exactly, up to rotation and reflection. Each axis's sign is fixed so that its largest
/// coordinate (the first, on ties) is positive.
public enum ClassicalMDS {
    /// Iterations at most; each costs one pass over B. Reached only when the second and third
    /// eigenvalues nearly tie, where any direction in their span draws an equally faithful map.
    public static let maximumIterations = 300
    /// Convergence: every Ritz residual ‖Bv − λv‖ below this fraction of the largest |λ| (far below
    /// a pixel; points spanning two dimensions converge exactly in two iterations).
    public static let tolerance = 1e-6

    /// 2-D coordinates of `count` points whose pairwise distance is `distance(i, j)` (called for
    /// i < j only; it must be symmetric, non-negative and finite).
    public static func project(count n: Int, distance: (Int, Int) -> Double) -> [(x: Double, y: Double)] {
        guard n > 1 else { return Array(repeating: (x: 0, y: 0), count: n) }
        // B = −½ J D² J, built in place from the squared distances.
        var b = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in (i + 1)..<n {
                let d = distance(i, j)
                b[i * n + j] = d * d
                b[j * n + i] = d * d
            }
        }
        var rowMeans = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var total = 0.0
            for j in 0..<n { total += b[i * n + j] }
            rowMeans[i] = total / Double(n)
        }
        let grandMean = rowMeans.reduce(0, +) / Double(n)
        for i in 0..<n {
            for j in 0..<n { b[i * n + j] = -0.5 * (b[i * n + j] - rowMeans[i] - rowMeans[j] + grandMean) }
        }
        let (values, vectors) = topTwoEigenpairs(symmetric: b, n: n)
        let scales = values.map { max(0, $0).squareRoot() }
        return (0..<n).map { i in (x: scales[0] * vectors[0][i], y: scales[1] * vectors[1][i]) }
    }

    /// The two largest eigenvalues (descending) of the symmetric n × n matrix `a` (row-major) and
    /// unit eigenvectors, by subspace iteration from a fixed start.
    static func topTwoEigenpairs(symmetric a: [Double], n: Int) -> (values: [Double], vectors: [[Double]]) {
        // Fixed, non-constant start vectors (a constant vector is in B's null space).
        let first: [Double] = (0..<n).map { i in cos(0.7 * Double(i + 1)) + 0.5 }
        let second: [Double] = (0..<n).map { i in sin(1.3 * Double(i + 1)) }
        let start = [first, second]
        var basis = orthonormalized(start, fallback: start)
        var values = [0.0, 0.0]
        for _ in 0..<maximumIterations {
            let images = multiply(a, basis, n: n)
            // Rayleigh–Ritz on span(basis): H = Vᵀ A V is 2 × 2; rotate by its eigenvectors.
            let h00 = dot(basis[0], images[0]), h11 = dot(basis[1], images[1])
            let h01 = 0.5 * (dot(basis[0], images[1]) + dot(basis[1], images[0]))
            let angle = 0.5 * atan2(2 * h01, h00 - h11)
            let c: Double = cos(angle), s: Double = sin(angle)
            let rotations: [(Double, Double)] = [(c, s), (-s, c)]
            let ritz = rotations.map { combine(basis[0], $0.0, basis[1], $0.1) }
            let ritzImages = rotations.map { combine(images[0], $0.0, images[1], $0.1) }
            values = zip(ritz, ritzImages).map { dot($0, $1) }
            let scale = max(abs(values[0]), abs(values[1]), .leastNormalMagnitude)
            let residuals = (0..<2).map { k in norm(combine(ritzImages[k], 1, ritz[k], -values[k])) }
            basis = ritz
            if residuals.allSatisfy({ $0 <= tolerance * scale }) { break }
            basis = orthonormalized(ritzImages, fallback: ritz)
        }
        var order = [0, 1]
        if values[1] > values[0] { order = [1, 0] }
        let vectors = order.map { k -> [Double] in
            let v = basis[k]
            // Deterministic sign: the largest |component| (first on ties) is positive.
            var largest = 0
            for i in 1..<v.count where abs(v[i]) > abs(v[largest]) + 1e-12 { largest = i }
            return v[largest] < 0 ? v.map { -$0 } : v
        }
        return (order.map { values[$0] }, vectors)
    }

    /// Gram–Schmidt on two vectors; a column that vanishes (rank below two) is replaced by the
    /// matching `fallback` column made orthogonal to the first.
    private static func orthonormalized(_ columns: [[Double]], fallback: [[Double]]) -> [[Double]] {
        var result: [[Double]] = []
        for k in 0..<2 {
            var best: [Double] = []
            for candidate in [columns[k], fallback[k], fallback[1 - k]] {
                var v = candidate
                for previous in result { v = combine(v, 1, previous, -dot(previous, v)) }
                let length = norm(v)
                if length > 1e-12 * max(norm(candidate), .leastNormalMagnitude) && length > 0 {
                    best = v.map { $0 / length }
                    break
                }
            }
            result.append(best.isEmpty ? [Double](repeating: 0, count: columns[k].count) : best)
        }
        return result
    }

    /// A times both vectors in one pass over A (the pass over n² Doubles dominates an iteration).
    private static func multiply(_ a: [Double], _ v: [[Double]], n: Int) -> [[Double]] {
        var first = [Double](repeating: 0, count: n), second = [Double](repeating: 0, count: n)
        let (x, y) = (v[0], v[1])
        for i in 0..<n {
            var totalX = 0.0, totalY = 0.0
            let row = i * n
            for j in 0..<n {
                totalX += a[row + j] * x[j]
                totalY += a[row + j] * y[j]
            }
            first[i] = totalX
            second[i] = totalY
        }
        return [first, second]
    }

    private static func combine(_ a: [Double], _ x: Double, _ b: [Double], _ y: Double) -> [Double] {
        zip(a, b).map { x * $0 + y * $1 }
    }

    private static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
}

extension DatabaseReader {
    /// The 2-D map of `space` (see ``TaskMap``), from one snapshot.
    /// - Throws: ``FuteError`` `notFound` for an unknown space, `invalidArgument` for a space with
    ///   more than ``TaskMap/maximumSubjects`` subjects to draw.
    public func taskMap(space: String) throws -> TaskMap {
        try TaskMap(snapshot: taskSnapshot(space: space))
    }
}

/// Σ aᵢ·bᵢ over the shorter length (the map's double-precision vectors).
private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var total = 0.0
    for i in 0..<min(a.count, b.count) { total += a[i] * b[i] }
    return total
}
