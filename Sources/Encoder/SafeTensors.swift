import Foundation

/// An error reading a `.safetensors` file: names the file (and the tensor, when one is at fault).
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    /// The file that could not be read.
    public let path: String
    /// The tensor at fault, when the problem is one tensor.
    public let tensor: String?
    /// What happened and what to do.
    public let message: String

    /// Creates an error for `path` (and `tensor`) with a message saying what happened and what to do.
    public init(path: String, tensor: String? = nil, message: String) {
        self.path = path
        self.tensor = tensor
        self.message = message
    }

    public var description: String {
        if let tensor { return "\(path): tensor '\(tensor)': \(message)" }
        return "\(path): \(message)"
    }
}

/// A read-only view of a `.safetensors` file (Hugging Face format): an 8-byte little-endian header
/// length, a JSON header mapping tensor names to `{dtype, shape, data_offsets}`, then the raw
/// little-endian tensor bytes.
///
/// The file is memory-mapped; every tensor's byte range is checked to lie inside the data section
/// and to match its shape and dtype before anything is read.
public struct SafeTensorsFile: @unchecked Sendable {
    // @unchecked: `Data` backed by a read-only mapping is immutable after init, so sharing is safe.

    /// The element types this reader understands.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i32 = "I32"
        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f32, .i32: return 4
            case .f16, .bf16: return 2
            case .i64: return 8
            }
        }
    }

    /// One tensor's description from the header.
    public struct TensorInfo: Sendable, Equatable {
        /// Element type.
        public var dtype: DType
        /// Dimensions, outermost first.
        public var shape: [Int]
        /// Byte range inside the data section (after the header).
        public var range: Range<Int>
        /// Number of elements (product of `shape`).
        public var count: Int { shape.reduce(1, *) }
    }

    /// The file this was read from.
    public let path: String
    /// Every tensor in the header, by name.
    public let tensors: [String: TensorInfo]
    /// The `__metadata__` entries of the header, if any.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Maps the file at `path` and validates its header.
    public init(path: String) throws {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SafeTensorsError(path: path, message: "cannot open (\(error.localizedDescription)); check the path and permissions")
        }
        guard data.count >= 8 else {
            throw SafeTensorsError(path: path, message: "file is \(data.count) bytes, shorter than the 8-byte header length; re-fetch the weights")
        }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw SafeTensorsError(path: path, message: "header length \(headerLength) runs past the end of the file (\(data.count) bytes); the file is truncated or not safetensors")
        }
        let start = 8 + Int(headerLength)
        let headerJSON: Any
        do {
            headerJSON = try JSONSerialization.jsonObject(with: data.subdata(in: data.startIndex + 8 ..< data.startIndex + start))
        } catch {
            throw SafeTensorsError(path: path, message: "header is not valid JSON (\(error.localizedDescription)); the file is damaged")
        }
        guard let header = headerJSON as? [String: Any] else {
            throw SafeTensorsError(path: path, message: "header is not a JSON object; the file is damaged")
        }
        let dataLength = data.count - start
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { metadata[k] = "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw SafeTensorsError(path: path, tensor: name, message: "header entry lacks dtype, shape or data_offsets[2]; the file is damaged")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw SafeTensorsError(path: path, tensor: name, message: "unsupported dtype \(dtypeName) (supported: F32, F16, BF16, I64, I32)")
            }
            let shape = shapeAny.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetsAny.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeAny.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                throw SafeTensorsError(path: path, tensor: name, message: "shape or data_offsets are not non-negative integers; the file is damaged")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw SafeTensorsError(path: path, tensor: name, message: "data_offsets [\(begin), \(end)] lie outside the data section (\(dataLength) bytes); the file is truncated or damaged")
            }
            let info = TensorInfo(dtype: dtype, shape: shape, range: begin..<end)
            guard info.count * dtype.size == end - begin else {
                throw SafeTensorsError(path: path, tensor: name, message: "shape \(shape) of \(dtypeName) needs \(info.count * dtype.size) bytes but data_offsets span \(end - begin)")
            }
            tensors[name] = info
        }
        self.tensors = tensors
        self.metadata = metadata
        self.data = data
        self.dataStart = start
    }

    /// The tensor `name` as 32-bit floats (F16 and BF16 are widened), checked against `shape` when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let info = tensors[name] else {
            throw SafeTensorsError(path: path, tensor: name, message: "not in the file; is this the right model folder?")
        }
        if let expected, expected != info.shape {
            throw SafeTensorsError(path: path, tensor: name, message: "shape \(info.shape) differs from the expected \(expected) (config.json and weights disagree)")
        }
        let base = data.startIndex + dataStart + info.range.lowerBound
        let count = info.count
        let bytes = data[base ..< base + info.range.count]
        switch info.dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    // Safe because the range was validated to hold exactly `count` 4-byte elements.
                    #if _endian(little)
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                    #else
                    for i in 0..<count {
                        buffer[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                    #endif
                }
                initialized = count
            }
        case .f16, .bf16:
            let isBF16 = info.dtype == .bf16
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                bytes.withUnsafeBytes { raw in
                    for i in 0..<count {
                        let half = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        buffer[i] = isBF16 ? Float(bitPattern: UInt32(half) << 16) : Self.halfToFloat(half)
                    }
                }
                initialized = count
            }
        case .i64, .i32:
            throw SafeTensorsError(path: path, tensor: name, message: "dtype \(info.dtype.rawValue) is an integer type; expected a float tensor")
        }
    }

    /// IEEE 754 binary16 → binary32 (handles subnormals, infinities and NaN).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            let value = Float(mantissa) * Float(sign == 0 ? 1 : -1) / Float(1 << 24)
            return value
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        return Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
    }
}
