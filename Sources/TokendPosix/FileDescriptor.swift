import Glibc
import TokendCore

/// An owned file descriptor: closed exactly once, when `close()` is called or the owner goes away.
public final class FileDescriptor: @unchecked Sendable {
    public private(set) var rawValue: Int32
    /// False for the standard streams, which this process uses until it exits.
    let owned: Bool

    public init(_ rawValue: Int32) {
        self.rawValue = rawValue
        owned = true
    }

    init(borrowing rawValue: Int32) {
        self.rawValue = rawValue
        owned = false
    }

    deinit { if owned { close() } }

    public static let standardInput = FileDescriptor(borrowing: 0)
    public static let standardOutput = FileDescriptor(borrowing: 1)
    public static let standardError = FileDescriptor(borrowing: 2)

    /// The descriptor number `rawValue`, which this process does not own (a `--passphrase-fd N`): a
    /// duplicate, so that closing it leaves N alone.
    public static func duplicate(of rawValue: Int32) throws(Errno) -> FileDescriptor {
        FileDescriptor(try retrying { fcntl(rawValue, F_DUPFD_CLOEXEC, 3) })
    }

    /// Makes `other` refer to this file too (dup2), as stderr does after a log rotation.
    public func duplicate(onto other: FileDescriptor) throws(Errno) {
        _ = try retrying { dup2(rawValue, other.rawValue) }
    }

    public func close() {
        if rawValue >= 0 { Glibc.close(rawValue) }
        rawValue = -1
    }

    public var isTerminal: Bool { isatty(rawValue) == 1 }

    public func setCloseOnExec() throws(Errno) { _ = try retrying { fcntl(rawValue, F_SETFD, FD_CLOEXEC) } }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws(Errno) -> FileDescriptor {
        FileDescriptor(try retrying { Glibc.open(path, flags | O_CLOEXEC, mode) })
    }

    /// A lock file (created 0600 when missing, never through a symlink) for `lock(wait:)`.
    public static func openLockFile(_ path: String) throws(Errno) -> FileDescriptor {
        try open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o600)
    }

    /// A log file, created 0600 when missing.
    public static func openForAppending(_ path: String) throws(Errno) -> FileDescriptor {
        try open(path, O_WRONLY | O_CREAT | O_APPEND, mode: 0o600)
    }

    public static func openForReading(_ path: String) throws(Errno) -> FileDescriptor {
        try open(path, O_RDONLY)
    }

    /// Reads up to `count` bytes into `buffer`; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
    }

    /// Writes a text's UTF-8 bytes (blocking descriptors only).
    public func writeAll(_ text: String) throws(Errno) {
        var text = text
        let failure = text.withUTF8 { b -> Errno? in
            do throws(Errno) { try writeAll(UnsafeRawBufferPointer(b)) } catch { return error }
            return nil
        }
        if let failure { throw failure }
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
