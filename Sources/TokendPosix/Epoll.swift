import CLinux
import Glibc

/// A level-triggered epoll set whose registrations carry a 64-bit token.
public final class Epoll: @unchecked Sendable {
    public struct Events: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let readable = Events(rawValue: UInt32(TK_EPOLLIN))
        public static let writable = Events(rawValue: UInt32(TK_EPOLLOUT))
        public static let error = Events(rawValue: UInt32(TK_EPOLLERR))
        public static let hangup = Events(rawValue: UInt32(TK_EPOLLHUP))
        public static let peerClosed = Events(rawValue: UInt32(TK_EPOLLRDHUP))
    }

    let fd: FileDescriptor
    var tokens = [UInt64](repeating: 0, count: 256)
    var events = [UInt32](repeating: 0, count: 256)

    public init() throws(Errno) { fd = FileDescriptor(try retrying { tk_epoll_create() }) }

    public func add(_ target: FileDescriptor, _ interest: Events, token: UInt64) throws(Errno) {
        _ = try retrying { tk_epoll_ctl(fd.rawValue, Int32(TK_EPOLL_ADD), target.rawValue, interest.rawValue, token) }
    }

    public func modify(_ target: FileDescriptor, _ interest: Events, token: UInt64) throws(Errno) {
        _ = try retrying { tk_epoll_ctl(fd.rawValue, Int32(TK_EPOLL_MOD), target.rawValue, interest.rawValue, token) }
    }

    public func remove(_ target: FileDescriptor) {
        _ = tk_epoll_ctl(fd.rawValue, Int32(TK_EPOLL_DEL), target.rawValue, 0, 0)
    }

    /// Waits up to `timeoutMs` (-1: forever) and returns the ready (token, events) pairs.
    public func wait(timeoutMs: Int32) -> [(token: UInt64, events: Events)] {
        let n = tk_epoll_wait(fd.rawValue, &tokens, &events, Int32(tokens.count), timeoutMs)
        guard n > 0 else { return [] }
        return (0..<Int(n)).map { (tokens[$0], Events(rawValue: events[$0])) }
    }
}

/// An eventfd used to wake the event loop from another thread.
public final class Wakeup: @unchecked Sendable {
    public let fd: FileDescriptor

    public init() throws(Errno) { fd = FileDescriptor(try retrying { tk_eventfd() }) }

    public func signal() {
        var one: UInt64 = 1
        _ = Glibc.write(fd.rawValue, &one, 8)
    }

    public func drain() {
        var value: UInt64 = 0
        _ = Glibc.read(fd.rawValue, &value, 8)
    }
}
