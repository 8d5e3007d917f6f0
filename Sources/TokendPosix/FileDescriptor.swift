import Glibc
import TokendCore

/// An owned file descriptor: closed exactly once, when `close()` is called or the owner goes away.
public final class FileDescriptor: @unchecked Sendable {
    public private(set) var rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    deinit { close() }

    public func close() {
        if rawValue >= 0 { Glibc.close(rawValue) }
        rawValue = -1
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(Errno) -> FileDescriptor {
        FileDescriptor(try retrying { Glibc.open(path, flags | O_CLOEXEC, mode) })
    }

    /// Reads up to `count` bytes into `buffer`; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
    }

    /// Writes everything (blocking descriptors only).
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var done = 0
        while done < bytes.count {
            done += try write(UnsafeRawBufferPointer(rebasing: bytes[done...]))
        }
    }

    public func setNonBlocking() throws(Errno) {
        let flags = try retrying { fcntl(rawValue, F_GETFL) }
        _ = try retrying { fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }

    public func sync() throws(Errno) { _ = try retrying { fsync(rawValue) } }

    /// An exclusive advisory lock; false when another process holds it and `wait` is false.
    public func lock(wait: Bool) throws(Errno) -> Bool {
        while true {
            if flock(rawValue, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 { return true }
            let e = Errno.current
            if e == .wouldBlock { return false }
            if e != .interrupted { throw e }
        }
    }

    /// Reads until end of file into secret memory, at most `limit` bytes; false when there was more (the
    /// caller reports it: a secret is never silently truncated).
    public func readAll(into out: SecretBytes, limit: Int) throws(Errno) -> Bool {
        while true {
            let chunk = try out.appendInPlace(upTo: 16384) { (b) throws(Errno) -> Int in try self.read(into: b) }
            if chunk == 0 { return true }
            if out.count > limit { return false }
        }
    }
}
