/// One observed transfer result: training on `source` before `target` gave `score`.
public struct ObservationRecord: Sendable, Equatable {
    /// Source (intermediate) task name.
    public var source: String
    /// Target task name.
    public var target: String
    /// Metric name (default `"score"`).
    public var metric: String
    /// Observed value (finite).
    public var score: Double
    /// 1-based line in the file.
    public var line: Int

    /// Creates a record.
    public init(source: String, target: String, metric: String = "score", score: Double, line: Int) {
        self.source = source
        self.target = target
        self.metric = metric
        self.score = score
        self.line = line
    }
}

/// Reads observed-transfer files for `fute-db observe` and `eval --truth`.
///
/// One object per line: `{"source": str, "target": str, "score": number, "metric"?: str}`.
/// Unknown keys are refused (naming the key). The same (source, target, metric) twice in one
/// file is refused, naming both lines. Same file rules as `JSONLinesReader`.
public enum ObservationReader {
    /// Reads and validates the whole file.
    public static func read(_ path: String) throws(ReaderError) -> [ObservationRecord] {
        try decode(JSONLinesReader.read(path), file: path)
    }

    /// Decodes parsed lines.
    public static func decode(_ lines: [JSONLine], file: String) throws(ReaderError) -> [ObservationRecord] {
        var seen: [String: Int] = [:]
        var records: [ObservationRecord] = []
        for line in lines {
            let fields = try JSONLineFields(line, file: file, allowed: ["source", "target", "score", "metric"])
            let source = try fields.string("source")
            let target = try fields.string("target")
            let score = try fields.number("score")
            let metric = try fields.optionalString("metric") ?? "score"
            try NameRules.check(source, field: "source", file: file, line: line.line)
            try NameRules.check(target, field: "target", file: file, line: line.line)
            try NameRules.check(metric, field: "metric", limit: NameRules.maxMetricBytes, file: file, line: line.line)
            let key = "\(source)\u{0}\(target)\u{0}\(metric)"
            if let previous = seen[key] {
                throw fields.error(.duplicateName, "source",
                                   "observation \(source) → \(target) (\(metric)) already appeared on line \(previous); keep one per file")
            }
            seen[key] = line.line
            records.append(ObservationRecord(source: source, target: target, metric: metric, score: score, line: line.line))
        }
        return records
    }
}
