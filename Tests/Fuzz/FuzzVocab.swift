// libFuzzer target: vocab.txt loading and WordPiece tokenization of arbitrary text.
// The first line of the input (if any) is the vocabulary file, the rest is text to tokenize.
import Encoder  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVocab(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let vocabBytes = Array(bytes[..<split])
    let text = String(decoding: bytes[min(split + 1, bytes.count)...], as: UTF8.self)
    let path = fuzzScratchFile(Array("[PAD]\n[UNK]\n[CLS]\n[SEP]\n".utf8) + vocabBytes, suffix: ".vocab.txt")
    guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: path, maxLength: 16) else { return 0 }
    let single = tokenizer.encode(text)
    fuzzCheck(single.count <= 16 && single.count >= 2, "single encoding has \(single.count) tokens")
    fuzzCheck(single.inputIDs.count == single.tokenTypeIDs.count, "ids and type ids differ in length")
    let pair = tokenizer.encode(text, pair: String(text.reversed()))
    fuzzCheck(pair.count <= 16 && pair.count >= 3, "pair encoding has \(pair.count) tokens")
    let vocabularySize = Int32(tokenizer.vocabulary.count + 4 + vocabBytes.count)
    fuzzCheck(pair.inputIDs.allSatisfy { $0 >= 0 && $0 < vocabularySize }, "token id outside the vocabulary")
    return 0
}
