/// One input to the encoder: a text, or a text pair encoded jointly (`[CLS] a [SEP] b [SEP]`).
public struct TextInput: Sendable, Hashable, Codable {
    /// The text (first segment).
    public var text: String
    /// The second segment of a pair, if any.
    public var pair: String?
    /// Creates an input.
    public init(_ text: String, pair: String? = nil) {
        self.text = text
        self.pair = pair
    }
}
