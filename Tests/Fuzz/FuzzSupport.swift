// Shared helpers for the libFuzzer targets in this folder (compiled into every target by Tools/fuzz.sh).
// Each target defines `LLVMFuzzerTestOneInput`; a Swift trap (overflow, out-of-bounds, force unwrap)
// or an ASan report is a finding. `fuzzCheck` turns a broken post-condition into a trap on purpose.
import Foundation

/// Traps with `message` when `condition` is false: libFuzzer records the input as a crash.
@inline(__always)
func fuzzCheck(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        FileHandle.standardError.write(Data("fuzz finding: \(message())\n".utf8))
        abort()
    }
}

/// Copies the fuzzer's bytes into an array.
func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Writes `bytes` to a per-process scratch file (for readers that take a path) and returns its path.
func fuzzScratchFile(_ bytes: [UInt8], suffix: String) -> String {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(dir)/fute-fuzz-\(getpid())\(suffix)"
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    return path
}
