import Glibc

/// A typed errno, in the manner of swift-system: raw C failures become values with a readable description.
public struct Errno: Error, Sendable, Equatable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current errno.
    public static var current: Errno { Errno(errno) }

    public var description: String { String(cString: strerror(rawValue)) }

    public static let again = Errno(EAGAIN)
    public static let interrupted = Errno(EINTR)
    public static let notFound = Errno(ENOENT)
    public static let connectionRefused = Errno(ECONNREFUSED)
    public static let exists = Errno(EEXIST)
    public static let wouldBlock = Errno(EWOULDBLOCK)
    public static let brokenPipe = Errno(EPIPE)
}

/// Retries a system call interrupted by a signal and turns -1 into a thrown `Errno`.
@inline(__always)
func retrying<T: BinaryInteger>(_ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result >= 0 { return result }
        let e = Errno.current
        if e != .interrupted { throw e }
    }
}
