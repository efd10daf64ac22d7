// libFuzzer target: dataset / predictions JSONL reader used by `ingest --dataset` (Readers/Tasks).
import Readers  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTaskDataset(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = fuzzScratchFile(fuzzBytes(data, size), suffix: ".dataset.jsonl")
    _ = try? TaskDataset.read(path: path, requireTargets: true)
    _ = try? TaskDataset.read(path: path, requireTargets: false)
    return 0
}
