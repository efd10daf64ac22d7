// libFuzzer target: safetensors header/offset validation and tensor reads (Encoder).
// Every tensor the header validates must be readable without trapping or reading out of bounds.
import Encoder  // built as a module by Tools/fuzz.sh

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = fuzzScratchFile(fuzzBytes(data, size), suffix: ".safetensors")
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    for (name, info) in file.tensors {
        if let floats = try? file.floats(name) {
            fuzzCheck(floats.count == info.count, "tensor \(name) read \(floats.count) values, shape says \(info.count)")
        }
    }
    return 0
}
