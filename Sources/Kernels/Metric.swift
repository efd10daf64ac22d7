/// How two vectors are compared.
///
/// Inside the engine every metric is turned into a *distance* where lower means nearer:
/// - ``l2``: squared Euclidean distance, `Σ (aᵢ − bᵢ)²`.
/// - ``ip``: negated inner product, `−Σ aᵢbᵢ`.
/// - ``cosine``: `1 − a·b / (|a||b|)`, in `[0, 2]`. When either vector has zero length the
///   cosine similarity is defined as 0, so the distance is 1 (a zero vector is neither near nor
///   far from anything, and a zero vector pair is not "identical").
public enum Metric: String, Sendable, CaseIterable, Codable {
    /// Cosine distance `1 − cos(a, b)`; see the type's documentation for zero vectors.
    case cosine
    /// Squared Euclidean distance.
    case l2
    /// Negated inner product (so that a larger dot product is nearer).
    case ip

    /// Converts an engine distance into the user-facing score: cosine similarity for
    /// ``cosine``, the dot product for ``ip``, squared L2 for ``l2``.
    @inlinable
    public func score(fromDistance distance: Float) -> Float {
        switch self {
        case .cosine: return 1 - distance
        case .ip: return -distance
        case .l2: return distance
        }
    }

    /// Whether a larger user-facing ``score(fromDistance:)`` means nearer (true for cosine and ip).
    @inlinable
    public var higherScoreIsNearer: Bool { self != .l2 }
}
