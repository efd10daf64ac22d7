// libFuzzer target: JSONL vector records and observed-transfer records (Readers).
// Post-conditions on success: every vector is non-empty, finite and of one dimension; names unique.
import Readers  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONL(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let lines = try? JSONLinesReader.parse(bytes, file: "fuzz.jsonl") else { return 0 }
    if let file = try? VectorReader.decode(lines, file: "fuzz.jsonl") {
        var names = Set<String>()
        for record in file.records {
            fuzzCheck(!record.vector.isEmpty, "empty vector accepted on line \(record.line)")
            fuzzCheck(record.vector.count == file.dimension, "dimension \(record.vector.count) != \(file.dimension) accepted")
            fuzzCheck(record.vector.allSatisfy(\.isFinite), "non-finite value accepted on line \(record.line)")
            fuzzCheck(names.insert(record.name).inserted, "duplicate name \(record.name) accepted")
        }
    }
    if let observations = try? ObservationReader.decode(lines, file: "fuzz.jsonl") {
        for o in observations { fuzzCheck(o.score.isFinite, "non-finite score accepted on line \(o.line)") }
    }
    return 0
}
