import Foundation

/// Renders a ``TaskMap`` as a standalone SVG document.
///
/// Marks are coloured by one metadata key (subjects lacking it are grey and the legend calls them
/// "(none)"); datasets are circles, models squares with a dark outline, examples small circles.
/// Every mark carries a `<title>` child (shown on hover) that starts with the subject name, and when
/// the map has at most ``labelLimit`` marks each is also labelled with its name. Both axes share
/// one scale, so distances on the picture are comparable in every direction; the axes themselves
/// carry no meaning beyond that (MDS coordinates).
public struct TaskMapSVG: Sendable {
    /// The metadata key that chooses each mark's colour (default `family`).
    public var colorBy: String
    /// Marks are labelled with their names when there are at most this many (default 40).
    public var labelLimit: Int
    /// Document width in pixels (default 960); the legend takes the rightmost 240.
    public var width: Double
    /// Document height in pixels (default 680).
    public var height: Double

    /// Colours given to metadata values, most frequent value first (Tableau 20); more values than
    /// colours reuse them in order.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
                                 "#17becf", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
                                 "#f7b6d2", "#dbdb8d", "#9edae5", "#393b79"]
    /// The colour of subjects that lack the ``colorBy`` key.
    public static let noneColor = "#c7c7c7"
    /// The legend's name for subjects that lack the ``colorBy`` key.
    public static let noneLabel = "(none)"
    /// The legend lists at most this many values, then says how many more there are.
    public static let legendValueLimit = 24

    /// Creates a renderer.
    public init(colorBy: String = "family", labelLimit: Int = 40, width: Double = 960, height: Double = 680) {
        self.colorBy = colorBy
        self.labelLimit = labelLimit
        self.width = width
        self.height = height
    }

    /// The SVG document (UTF-8 text) of `map`.
    public func render(_ map: TaskMap) -> String {
        let values = map.values(of: colorBy)
        var colors: [String: String] = [:]
        for (index, entry) in values.enumerated() { colors[entry.value] = Self.palette[index % Self.palette.count] }
        func color(_ point: TaskMap.Point) -> String { point.metadata[colorBy].flatMap { colors[$0] } ?? Self.noneColor }

        let legendWidth = 240.0, margin = 24.0, top = 52.0
        let plot = (x: margin, y: top, width: max(1, width - legendWidth - 2 * margin), height: max(1, height - top - margin))
        let xs = map.points.map(\.x), ys = map.points.map(\.y)
        let (minX, maxX) = (xs.min() ?? 0, xs.max() ?? 0), (minY, maxY) = (ys.min() ?? 0, ys.max() ?? 0)
        let spread = max(maxX - minX, maxY - minY)
        let scale = min(plot.width / max(maxX - minX, .leastNormalMagnitude), plot.height / max(maxY - minY, .leastNormalMagnitude))
        let usable = spread > 0 && scale.isFinite ? scale : 0
        // Centre the cloud in the plot; SVG's y grows downwards, so MDS y is flipped.
        func position(_ point: TaskMap.Point) -> (x: Double, y: Double) {
            (plot.x + plot.width / 2 + (point.x - (minX + maxX) / 2) * usable,
             plot.y + plot.height / 2 - (point.y - (minY + maxY) / 2) * usable)
        }

        let kinds = Dictionary(grouping: map.points, by: \.kind).mapValues(\.count)
        let counts = kinds.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)\($0.value == 1 ? "" : "s")" }.joined(separator: ", ")
        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.number(width))" height="\(Self.number(height))" \
            viewBox="0 0 \(Self.number(width)) \(Self.number(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <title>fute-db map of space \(Self.escaped(map.space))</title>
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(Self.number(margin))" y="24" font-size="16" font-weight="bold">space \(Self.escaped(map.space))</text>
            <text x="\(Self.number(margin))" y="42" fill="#555555">\(Self.escaped(counts)); classical MDS of the \(map.distance.caption) \
            (axes: MDS coordinates, one scale)</text>
            <rect x="\(Self.number(plot.x))" y="\(Self.number(plot.y))" width="\(Self.number(plot.width))" height="\(Self.number(plot.height))" \
            fill="none" stroke="#e0e0e0"/>

            """
        // Datasets first, models on top: models are few and must stay visible.
        let order: [SubjectKind: Int] = [.dataset: 1, .example: 0, .model: 2]
        let drawn = map.points.sorted { (order[$0.kind] ?? 1, $0.name) < (order[$1.kind] ?? 1, $1.name) }
        svg += "<g class=\"marks\" fill-opacity=\"0.85\">\n"
        for point in drawn {
            let (x, y) = position(point)
            let title = "<title>\(Self.escaped(point.name)) (\(point.kind.rawValue), \(Self.escaped(colorBy)): \(Self.escaped(point.metadata[colorBy] ?? Self.noneLabel)))</title>"
            svg += Self.mark(kind: point.kind, x: x, y: y, fill: color(point), extra: "class=\"mark\"", title: title) + "\n"
        }
        svg += "</g>\n"
        if map.points.count <= labelLimit {
            svg += "<g class=\"labels\" font-size=\"10\" fill=\"#333333\">\n"
            for point in drawn {
                let (x, y) = position(point)
                svg += "<text x=\"\(Self.number(x + 7))\" y=\"\(Self.number(y + 3.5))\">\(Self.escaped(point.name))</text>\n"
            }
            svg += "</g>\n"
        }

        // Legend: colours by value, then shapes by kind.
        let legendX = width - legendWidth + 8
        var y = top + 14
        svg += "<g class=\"legend\">\n"
        svg += "<text x=\"\(Self.number(legendX))\" y=\"\(Self.number(y))\" font-weight=\"bold\">colour: \(Self.escaped(colorBy))</text>\n"
        var rows = values.prefix(Self.legendValueLimit).map { (label: "\($0.value) (\($0.count))", color: colors[$0.value] ?? Self.noneColor) }
        let missing = map.points.filter { $0.metadata[colorBy] == nil }.count
        if missing > 0 { rows.append((label: "\(Self.noneLabel) (\(missing))", color: Self.noneColor)) }
        for row in rows {
            y += 18
            svg += "<circle cx=\"\(Self.number(legendX + 6))\" cy=\"\(Self.number(y - 4))\" r=\"5\" fill=\"\(row.color)\"/>"
            svg += "<text x=\"\(Self.number(legendX + 18))\" y=\"\(Self.number(y))\">\(Self.escaped(row.label))</text>\n"
        }
        if values.count > Self.legendValueLimit {
            y += 18
            svg += "<text x=\"\(Self.number(legendX))\" y=\"\(Self.number(y))\" fill=\"#555555\">… and \(values.count - Self.legendValueLimit) more values</text>\n"
        }
        y += 30
        svg += "<text x=\"\(Self.number(legendX))\" y=\"\(Self.number(y))\" font-weight=\"bold\">shape: kind</text>\n"
        for kind in [SubjectKind.dataset, .model, .example] where kinds[kind] != nil {
            y += 18
            svg += Self.mark(kind: kind, x: legendX + 6, y: y - 4, fill: "#ffffff", extra: "", title: nil)
            svg += "<text x=\"\(Self.number(legendX + 18))\" y=\"\(Self.number(y))\">\(kind.rawValue)</text>\n"
        }
        svg += "</g>\n</svg>\n"
        return svg
    }

    /// One mark: a circle for datasets, a square for models, a small circle for examples.
    private static func mark(kind: SubjectKind, x: Double, y: Double, fill: String, extra: String, title: String?) -> String {
        let attributes = extra.isEmpty ? "" : " " + extra
        let body = title.map { ">\($0)" } ?? ""
        switch kind {
        case .model:
            let open = "<rect\(attributes) x=\"\(number(x - 5))\" y=\"\(number(y - 5))\" width=\"10\" height=\"10\" fill=\"\(fill)\" stroke=\"#222222\" stroke-width=\"1.2\""
            return title == nil ? open + "/>" : open + body + "</rect>"
        case .dataset, .example:
            let radius = kind == .example ? 3 : 5
            let open = "<circle\(attributes) cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"\(radius)\" fill=\"\(fill)\" stroke=\"#666666\" stroke-width=\"0.6\""
            return title == nil ? open + "/>" : open + body + "</circle>"
        }
    }

    /// Coordinates with two decimals (enough for pixels, keeps the file small).
    private static func number(_ value: Double) -> String { String(format: "%.2f", value) }

    /// `text` safe inside XML character data and attribute values: the five markup characters
    /// escaped, and characters XML 1.0 forbids (control characters) replaced by U+FFFD.
    static func escaped(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                let value = scalar.value
                let allowed = value >= 0x20 && !(0xFFFE...0xFFFF).contains(value)
                out.unicodeScalars.append(allowed ? scalar : "\u{FFFD}")
            }
        }
        return out
    }
}
