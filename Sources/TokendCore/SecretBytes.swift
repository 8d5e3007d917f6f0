import Glibc

/// The one owner of secret memory: token values, passphrases, identities and the protocol buffers that carry
/// them. The bytes live in `SecureMemory` (mlock'ed, excluded from core dumps) and are wiped with
/// `explicit_bzero` whenever they are dropped, moved or released. It deliberately has no conversion to
/// `String`, `Data` or `Array`, and its description never shows the content.
///
/// Ownership is handed from thread to thread (decoder → store → encoder) but never shared for concurrent
/// mutation, hence `@unchecked Sendable`.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible {
    private var base: UnsafeMutableRawPointer?
    private var capacity: Int = 0
    public private(set) var count: Int = 0

    public init(capacity: Int = 0) {
        if capacity > 0 { grow(to: capacity) }
    }

    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        append(bytes)
    }

    /// Copies the bytes of a literal or other non-secret array; for tests and fixed strings only.
    public convenience init(_ bytes: [UInt8]) {
        self.init(capacity: bytes.count)
        bytes.withUnsafeBytes { append($0) }
    }

    deinit {
        if let base { SecureMemory.release(base, capacity: capacity) }
    }

    public var isEmpty: Bool { count == 0 }
    public var description: String { "SecretBytes(\(count) bytes)" }

    public func reserveCapacity(_ wanted: Int) {
        if wanted > capacity { grow(to: wanted) }
    }

    private func grow(to wanted: Int) {
        let target = max(wanted, capacity * 2)
        let (fresh, freshCapacity) = SecureMemory.allocate(target)
        if let base {
            fresh.copyMemory(from: base, byteCount: count)
            SecureMemory.release(base, capacity: capacity)
        }
        base = fresh
        capacity = freshCapacity
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserveCapacity(count + bytes.count)
        (base! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    public func append(_ byte: UInt8) {
        reserveCapacity(count + 1)
        base!.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    public func append(_ other: SecretBytes) {
        other.withUnsafeBytes { append($0) }
    }

    public func append(contentsOf string: StaticString) {
        append(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    /// Appends the UTF-8 of a non-secret string (a name, a code).
    public func append(text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Makes room for `n` more bytes and lets `body` fill a prefix of them (a read(2), say); `body` returns
    /// how many it wrote.
    public func appendInPlace<E: Error>(upTo n: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> Int) throws(E) -> Int {
        reserveCapacity(count + n)
        let written = try body(UnsafeMutableRawBufferPointer(start: base! + count, count: n))
        if written > 0 { count += written }
        return written
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    public subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count)
        return base!.load(fromByteOffset: index, as: UInt8.self)
    }

    /// Drops the first `n` bytes, moving the rest down and wiping the vacated tail.
    public func removeFirst(_ n: Int) {
        precondition(n <= count)
        guard n > 0, let base else { return }
        let rest = count - n
        if rest > 0 { base.copyMemory(from: base + n, byteCount: rest) }
        explicit_bzero(base + rest, n)
        count = rest
    }

    /// Wipes the content; keeps the capacity.
    public func removeAll() {
        if let base, count > 0 { explicit_bzero(base, count) }
        count = 0
    }

    /// Keeps the first `n` bytes, wiping the rest.
    public func truncate(to n: Int) {
        guard n < count, let base else { return }
        explicit_bzero(base + n, count - n)
        count = n
    }

    public func copy() -> SecretBytes {
        let other = SecretBytes(capacity: count)
        withUnsafeBytes { other.append($0) }
        return other
    }

    /// Constant-time comparison of contents (length is not hidden).
    public func constantTimeEquals(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in
                var diff: UInt8 = 0
                for i in 0..<a.count { diff |= a[i] ^ b[i] }
                return diff == 0
            }
        }
    }

    /// Finds `byte` at or after `start`.
    public func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        guard let base, start < count else { return nil }
        let found = memchr(base + start, Int32(byte), count - start)
        return found.map { $0 - UnsafeMutableRawPointer(base) }
    }
}
