// libFuzzer target: .npy reader. On success: rows of one non-zero width, finite values.
import Readers  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let matrix = try? NPYReader.parse(fuzzBytes(data, size), file: "fuzz.npy") else { return 0 }
    let width = matrix.rows.first?.count ?? 0
    for row in matrix.rows {
        fuzzCheck(row.count == width, "ragged rows accepted")
        fuzzCheck(row.allSatisfy(\.isFinite), "non-finite value accepted")
    }
    return 0
}
