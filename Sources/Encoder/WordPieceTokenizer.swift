import Foundation

/// An error loading a tokenizer vocabulary.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    /// What happened and what to do.
    public let message: String
    /// Creates an error with a message saying what happened and what to do.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The output of tokenizing one input (a text or a text pair).
public struct TokenizedInput: Sendable, Equatable {
    /// Token ids including `[CLS]` and `[SEP]`.
    public var inputIDs: [Int32]
    /// 0 for the first segment (with `[CLS]` and its `[SEP]`), 1 for the second.
    public var tokenTypeIDs: [Int32]
    /// Number of tokens.
    public var count: Int { inputIDs.count }
}

/// BERT's uncased WordPiece tokenizer, faithful to Hugging Face's `BertTokenizer`
/// (BasicTokenizer + WordpieceTokenizer, `do_lower_case=True`, `tokenize_chinese_chars=True`).
///
/// Steps: text cleaning (drop NUL, U+FFFD and control characters; map whitespace to a space),
/// spaces around CJK ideographs, lower-casing and accent stripping (NFD, drop non-spacing marks),
/// whitespace splitting, punctuation splitting (Unicode P* categories and the ASCII symbol ranges),
/// greedy longest-match-first word pieces with `##` continuations, `[UNK]` for words that cannot be
/// pieced or are longer than 100 characters; `[CLS] a [SEP] (b [SEP])`, truncated to `maxLength`
/// (pairs: longest first, as the Rust `tokenizers` library does).
public struct WordPieceTokenizer: Sendable {
    /// Token → id.
    public let vocabulary: [String: Int32]
    /// Maximum tokens per input including special tokens (256 for all-MiniLM-L6-v2).
    public let maxLength: Int
    /// Words longer than this many characters become `[UNK]`.
    public let maxInputCharsPerWord = 100
    let clsID: Int32, sepID: Int32, unkID: Int32
    /// Id of `[PAD]`.
    public let padID: Int32

    /// Loads `vocab.txt` (one token per line, id = line number).
    public init(vocabularyFile path: String, maxLength: Int = 256) throws {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TokenizerError("\(path): cannot read the vocabulary (\(error.localizedDescription)); check the encoder folder")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : line
            if vocabulary[token] == nil { vocabulary[token] = Int32(i) }
        }
        try self.init(vocabulary: vocabulary, maxLength: maxLength, source: path)
    }

    /// Creates a tokenizer from a vocabulary that must hold `[CLS]`, `[SEP]`, `[UNK]` and `[PAD]`.
    public init(vocabulary: [String: Int32], maxLength: Int = 256, source: String = "vocabulary") throws {
        guard let cls = vocabulary["[CLS]"], let sep = vocabulary["[SEP]"], let unk = vocabulary["[UNK]"], let pad = vocabulary["[PAD]"] else {
            throw TokenizerError("\(source): lacks one of [CLS], [SEP], [UNK], [PAD]; is this a BERT vocab.txt?")
        }
        precondition(maxLength >= 4, "maxLength must leave room for special tokens and at least one token per segment")
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        (clsID, sepID, unkID, padID) = (cls, sep, unk, pad)
    }

    /// Tokenizes a text, or a text pair when `pair` is given, with special tokens and truncation.
    public func encode(_ text: String, pair: String? = nil) -> TokenizedInput {
        var a = wordPieceIDs(text)
        guard let pair else {
            if a.count > maxLength - 2 { a.removeLast(a.count - (maxLength - 2)) }
            return TokenizedInput(inputIDs: [clsID] + a + [sepID], tokenTypeIDs: Array(repeating: 0, count: a.count + 2))
        }
        var b = wordPieceIDs(pair)
        let (na, nb) = Self.longestFirstLengths(a.count, b.count, budget: maxLength - 3)
        a.removeLast(a.count - na)
        b.removeLast(b.count - nb)
        return TokenizedInput(inputIDs: [clsID] + a + [sepID] + b + [sepID],
                              tokenTypeIDs: Array(repeating: 0, count: a.count + 2) + Array(repeating: 1, count: b.count + 1))
    }

    /// Lengths after `longest_first` truncation, as in `tokenizers` (Rust): the longer input is cut
    /// down first; when both must be cut they get `budget/2` each, the odd token going to the longer.
    static func longestFirstLengths(_ n1: Int, _ n2: Int, budget: Int) -> (Int, Int) {
        if n1 + n2 <= budget { return (n1, n2) }
        var (short, long) = n1 > n2 ? (n2, n1) : (n1, n2)
        let swapped = n1 > n2
        if short > budget { long = short } else { long = max(short, budget - short) }
        if short + long > budget {
            short = budget / 2
            long = short + budget % 2
        }
        return swapped ? (long, short) : (short, long)
    }

    /// The word-piece tokens (strings) of a text, without special tokens: useful for inspection.
    public func tokens(_ text: String) -> [String] {
        var out: [String] = []
        for word in basicTokens(text) { out += wordPieces(word).map { $0.token } }
        return out
    }

    /// Word-piece ids of a text, without special tokens or truncation.
    public func wordPieceIDs(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for word in basicTokens(text) { out += wordPieces(word).map { $0.id } }
        return out
    }

    // MARK: Basic tokenizer

    /// Cleaned, lower-cased, accent-stripped words split on whitespace and punctuation.
    func basicTokens(_ text: String) -> [[Unicode.Scalar]] {
        // Clean and space out CJK characters.
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) { cleaned.append(" "); continue }
            if Self.isCJK(v) {
                cleaned.append(" "); cleaned.append(s); cleaned.append(" ")
            } else {
                cleaned.append(s)
            }
        }
        // Lower-case, then NFD and drop non-spacing marks (BertTokenizer: lower() then _run_strip_accents).
        let lowered = String(cleaned).lowercased().decomposedStringWithCanonicalMapping
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in lowered.unicodeScalars {
            if s.properties.generalCategory == .nonspacingMark { continue }
            if Self.isWhitespace(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if Self.isPunctuation(s) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default:
            let c = s.properties.generalCategory
            return c == .control || c == .format
        }
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT treats as separate tokens (not Hangul or kana).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    // MARK: WordPiece

    /// Greedy longest-match-first pieces of one word; the whole word becomes `[UNK]` when any
    /// position cannot be matched or the word is longer than `maxInputCharsPerWord`.
    func wordPieces(_ word: [Unicode.Scalar]) -> [(token: String, id: Int32)] {
        if word.count > maxInputCharsPerWord { return [("[UNK]", unkID)] }
        var pieces: [(String, Int32)] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: (String, Int32)?
            while start < end {
                var piece = String(String.UnicodeScalarView(word[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = vocabulary[piece] { found = (piece, id); break }
                end -= 1
            }
            guard let found else { return [("[UNK]", unkID)] }
            pieces.append(found)
            start = end
        }
        return pieces
    }
}
