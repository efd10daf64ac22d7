import Foundation

/// A value whose bytes can be lent to LMDB as a key or a value, without copying.
///
/// LMDB compares keys as unsigned bytes (memcmp order). Integers must therefore be stored
/// big-endian and fixed-width for keys to sort numerically: use ``FixedWidthKey``.
public protocol BytesConvertible {
    /// Lends the bytes to `body`. The buffer is valid only inside `body`.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension UnsafeRawBufferPointer: BytesConvertible {
    /// Lends itself.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}

extension Array: BytesConvertible where Element == UInt8 {
    /// Lends the array's storage.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension ArraySlice: BytesConvertible where Element == UInt8 {
    /// Lends the slice's storage.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension Data: BytesConvertible {
    /// Lends the data's storage.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }
}

extension String: BytesConvertible {
    /// Lends the UTF-8 encoding (no terminating NUL).
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = self  // withUTF8 is mutating: it may make the string contiguous first
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// A key of up to 32 bytes built from big-endian fixed-width integers, stored inline (no allocation).
///
/// Big-endian fixed-width integers sort numerically under LMDB's byte order, and a tuple key
/// sorts by its first component, then its second, and so on:
///
/// ```swift
/// let key = FixedWidthKey(UInt32(spaceID), UInt64(subjectID))  // 12 bytes
/// try txn.put(value, forKey: key, in: embeddings)
/// ```
public struct FixedWidthKey: BytesConvertible, Hashable, Sendable, CustomStringConvertible {
    /// The maximum number of bytes a key can hold.
    public static let capacity = 32

    @usableFromInline var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var length: UInt8 = 0

    /// The number of bytes in the key.
    @inlinable public var count: Int { Int(length) }

    /// An empty key; append components with ``appending(_:)-(UInt32)``.
    @inlinable public init() {}

    /// A 4-byte key.
    @inlinable public init(_ a: UInt32) { append(a) }
    /// An 8-byte key.
    @inlinable public init(_ a: UInt64) { append(a) }
    /// An 8-byte key: `a` then `b`.
    @inlinable public init(_ a: UInt32, _ b: UInt32) { append(a); append(b) }
    /// A 12-byte key: `a` then `b`.
    @inlinable public init(_ a: UInt32, _ b: UInt64) { append(a); append(b) }
    /// A 16-byte key: `a` then `b`.
    @inlinable public init(_ a: UInt64, _ b: UInt64) { append(a); append(b) }
    /// A 16-byte key: `a`, `b`, then `c`.
    @inlinable public init(_ a: UInt32, _ b: UInt32, _ c: UInt64) { append(a); append(b); append(c) }

    /// Appends `value` as 4 big-endian bytes.
    @inlinable public mutating func append(_ value: UInt32) { appendRaw(value.bigEndian) }
    /// Appends `value` as 8 big-endian bytes.
    @inlinable public mutating func append(_ value: UInt64) { appendRaw(value.bigEndian) }
    /// Appends one byte.
    @inlinable public mutating func append(_ value: UInt8) { appendRaw(value) }

    /// Returns this key with `value` appended as 4 big-endian bytes.
    @inlinable public func appending(_ value: UInt32) -> FixedWidthKey { var k = self; k.append(value); return k }
    /// Returns this key with `value` appended as 8 big-endian bytes.
    @inlinable public func appending(_ value: UInt64) -> FixedWidthKey { var k = self; k.append(value); return k }

    @inlinable mutating func appendRaw<T: FixedWidthInteger>(_ raw: T) {
        let size = MemoryLayout<T>.size
        precondition(count + size <= Self.capacity, "FixedWidthKey holds at most \(Self.capacity) bytes")
        let offset = count
        withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: raw, toByteOffset: offset, as: T.self) }
        length += UInt8(size)
    }

    /// Lends the key's bytes.
    @inlinable
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var copy = storage
        let n = count
        return try withUnsafeBytes(of: &copy) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(n))) }
    }

    /// The key's bytes, copied into an array.
    public var bytes: [UInt8] { withBytes { Array($0) } }

    /// Hex rendering of the bytes, for diagnostics.
    public var description: String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// Keys are equal when their bytes are (unused storage beyond ``count`` is ignored).
    public static func == (lhs: FixedWidthKey, rhs: FixedWidthKey) -> Bool { lhs.bytes == rhs.bytes }
    /// Hashes the key's bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// Big-endian encoding helpers for keys stored as byte arrays.
public enum BigEndian {
    /// The 4 big-endian bytes of `value`.
    public static func bytes(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    /// The 8 big-endian bytes of `value`.
    public static func bytes(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    /// The 12 bytes of `(a, b)`: a key sorting by `a`, then `b`.
    public static func bytes(_ a: UInt32, _ b: UInt64) -> [UInt8] { bytes(a) + bytes(b) }
    /// The 16 bytes of `(a, b)`: a key sorting by `a`, then `b`.
    public static func bytes(_ a: UInt64, _ b: UInt64) -> [UInt8] { bytes(a) + bytes(b) }
}

extension UnsafeRawBufferPointer {
    /// Reads a big-endian `UInt32` at `offset` (no alignment required).
    /// - Precondition: `offset + 4 <= count`.
    @inlinable
    public func bigEndianUInt32(at offset: Int = 0) -> UInt32 {
        precondition(offset >= 0 && offset + 4 <= count, "bigEndianUInt32(at: \(offset)) is outside a \(count)-byte buffer")
        return UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Reads a big-endian `UInt64` at `offset` (no alignment required).
    /// - Precondition: `offset + 8 <= count`.
    @inlinable
    public func bigEndianUInt64(at offset: Int = 0) -> UInt64 {
        precondition(offset >= 0 && offset + 8 <= count, "bigEndianUInt64(at: \(offset)) is outside a \(count)-byte buffer")
        return UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Whether the buffer begins with `prefix`.
    @inlinable
    public func starts(withBytes prefix: UnsafeRawBufferPointer) -> Bool {
        guard prefix.count <= count else { return false }
        if prefix.isEmpty { return true }
        guard let a = baseAddress, let b = prefix.baseAddress else { return false }
        return memcmp(a, b, prefix.count) == 0
    }
}
