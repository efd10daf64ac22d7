import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The marks of an SVG written by `TaskMapSVG`, read back with Foundation's `XMLParser`: a document
/// that does not parse as well-formed XML throws.
public struct SVGDocument {
    /// One element of class `mark`: a circle (dataset, example) or a square (model).
    public struct Mark: Equatable {
        /// `circle` or `rect`.
        public var element: String
        /// Centre of the mark in SVG coordinates.
        public var x: Double, y: Double
        /// The text of the mark's `<title>` child (nil when it has none).
        public var title: String?
    }

    /// Every mark, in document order.
    public var marks: [Mark] = []
    /// The character data of every `<text>` element, in document order.
    public var texts: [String] = []
    /// The root element's name.
    public var root: String?

    /// Parses `data`; throws when it is not well-formed XML.
    public init(data: Data) throws {
        let delegate = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse() else {
            throw NSError(domain: "SVGDocument", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error") at line \(parser.lineNumber)"])
        }
        self = delegate.document
    }

    private init() {}

    private final class Collector: NSObject, XMLParserDelegate {
        var document = SVGDocument()
        var stack: [String] = []
        var currentMark: Int?
        var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if document.root == nil { document.root = name }
            stack.append(name)
            text = ""
            if attributes["class"] == "mark" {
                let number = { (key: String) in Double(attributes[key] ?? "") ?? .nan }
                let (x, y) = name == "rect" ? (number("x") + number("width") / 2, number("y") + number("height") / 2)
                                            : (number("cx"), number("cy"))
                document.marks.append(Mark(element: name, x: x, y: y, title: nil))
                currentMark = document.marks.count - 1
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
            if name == "title", let mark = currentMark, stack.last == "circle" || stack.last == "rect" {
                document.marks[mark].title = text
            }
            if name == "text" { document.texts.append(text) }
            if name == "circle" || name == "rect" { currentMark = nil }
            text = ""
        }
    }
}
