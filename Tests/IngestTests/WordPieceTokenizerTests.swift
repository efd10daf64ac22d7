import Foundation
import XCTest
@testable import Encoder
@testable import Readers

final class WordPieceTokenizerTests: XCTestCase {
    /// A tiny vocabulary; ids are the positions.
    static let tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "world", "!", ",",
                         "cafe", "中", "国", "a", "b", "c", "$", "'", "s", "x", "##x"]
    func makeTokenizer(maxLength: Int = 256) throws -> WordPieceTokenizer {
        try WordPieceTokenizer(vocabulary: Dictionary(uniqueKeysWithValues: Self.tokens.enumerated().map { ($1, Int32($0)) }), maxLength: maxLength)
    }

    func testGreedyLongestMatchFirstWithContinuations() throws {
        let t = try makeTokenizer()
        XCTAssertEqual(t.tokens("unaffable"), ["un", "##aff", "##able"])
        // "unaffablez" cannot be pieced: the whole word is [UNK].
        XCTAssertEqual(t.tokens("unaffablez hello"), ["[UNK]", "hello"])
    }

    func testLowercasesStripsAccentsAndSplitsPunctuation() throws {
        let t = try makeTokenizer()
        XCTAssertEqual(t.tokens("HeLLo,  WORLD!"), ["hello", ",", "world", "!"])
        XCTAssertEqual(t.tokens("Café"), ["cafe"])
        XCTAssertEqual(t.tokens("Cafe\u{301}"), ["cafe"])          // combining acute accent
        XCTAssertEqual(t.tokens("a$b's"), ["a", "$", "b", "'", "s"]) // ASCII symbols count as punctuation
    }

    func testCleansControlCharactersAndSpacesOutCJK() throws {
        let t = try makeTokenizer()
        XCTAssertEqual(t.tokens("a\u{0}b\u{FFFD}c\u{200B}"), ["[UNK]"])   // "abc" after cleaning (U+200B is Cf), not in vocab
        XCTAssertEqual(t.tokens("a\tb\nc"), ["a", "b", "c"])
        XCTAssertEqual(t.tokens("a中国b"), ["a", "中", "国", "b"])
    }

    func testWordsLongerThan100CharactersAreUnknown() throws {
        let t = try makeTokenizer()
        XCTAssertEqual(t.tokens(String(repeating: "x", count: 100)), ["x"] + Array(repeating: "##x", count: 99))
        XCTAssertEqual(t.tokens(String(repeating: "x", count: 101)), ["[UNK]"])
    }

    func testSpecialTokensTypeIdsAndSingleTruncation() throws {
        let t = try makeTokenizer(maxLength: 5)
        let single = t.encode("a b c a b")
        XCTAssertEqual(single.inputIDs, [2, 14, 15, 16, 3])
        XCTAssertEqual(single.tokenTypeIDs, [0, 0, 0, 0, 0])
        let pair = try makeTokenizer().encode("a", pair: "b c")
        XCTAssertEqual(pair.inputIDs, [2, 14, 3, 15, 16, 3])
        XCTAssertEqual(pair.tokenTypeIDs, [0, 0, 0, 1, 1, 1])
    }

    func testPairTruncationIsLongestFirst() {
        // Budget 10: the longer side is cut to what the shorter leaves; both cut when both are long.
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(3, 20, budget: 10).0, 3)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(3, 20, budget: 10).1, 7)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(20, 3, budget: 10).0, 7)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(20, 30, budget: 11).0, 5)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(20, 30, budget: 11).1, 6)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(30, 20, budget: 11).0, 6)
        XCTAssertEqual(WordPieceTokenizer.longestFirstLengths(4, 5, budget: 10).1, 5)
    }

    func testRealVocabularyTruncatesTo256Tokens() throws {
        let encoder = try TextEncoder(directory: try TestResources.encoderDirectory())
        let long = Array(repeating: "word", count: 400).joined(separator: " ")
        XCTAssertEqual(encoder.tokenize(TextInput(long)).count, 256)
        let pair = encoder.tokenize(TextInput(long, pair: "short one"))
        XCTAssertEqual(pair.count, 256)
        XCTAssertEqual(pair.tokenTypeIDs.filter { $0 == 1 }.count, 3)   // "short one" + [SEP] kept whole
    }
}
