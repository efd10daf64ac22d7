// libFuzzer target: .fvecs and .ivecs readers. On success: one positive dimension, finite floats.
import Readers  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVecs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    if let rows = try? VecsReader.parseFvecs(bytes, file: "fuzz.fvecs") {
        let width = rows.first?.count ?? 0
        fuzzCheck(width > 0, "empty fvecs accepted")
        for row in rows {
            fuzzCheck(row.count == width, "dimension change accepted")
            fuzzCheck(row.allSatisfy(\.isFinite), "non-finite value accepted")
        }
    }
    if let rows = try? VecsReader.parseIvecs(bytes, file: "fuzz.ivecs") {
        let width = rows.first?.count ?? 0
        for row in rows { fuzzCheck(row.count == width && width > 0, "bad ivecs shape accepted") }
    }
    return 0
}
